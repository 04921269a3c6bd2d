/**
 * The streaming core of the failure-context builder. Lines go in one at a time;
 * the analyzer keeps, per step, a bounded set of error excerpts and a ring of
 * the last lines, and only for the few steps that can still matter (the current
 * one, the first failed one, the last one with errors). Memory is bounded by the
 * budget, not by the size of the log.
 *
 * Steps come from the log's own structure:
 *  - GitHub Actions: `##[group]Run …` opens a step, `##[error]Process completed
 *    with exit code N.` fails it; the first failed step is the cause (later steps
 *    run only under `if: always()`).
 *  - GitLab: `section_start:…:name` and `$ command` lines; `ERROR: Job failed`
 *    comes at the very end and blames the last command of the script.
 *  - Gitea (act_runner): `⭐ Run Main …` steps, `❌  Failure - …` and
 *    `exitcode 'N': failure` markers; raw `::error …::` commands kept in the log.
 *  - Anything else: one unnamed step.
 */
import { LineRedactor } from "../redact.js";
import type { BaselineLines } from "./baseline.js";
import { BlockStore, fitExcerpts, MAX_EXCERPT_LINE_CHARS, renderBlock, type Block, type BlockLine, type Excerpt } from "./blocks.js";
import { ErrorFamilies } from "./families.js";
import { cleanLine, cleanPlainLine, detach, LineRing, type SectionEvent } from "./lines.js";
import { RefCollector, stripWorkspacePaths } from "./paths.js";
import { detectInfra, errorScore, infraKindForConclusion, isContinuation, isPassingFirst, isRecoveredNotice, isPassingLine, mayMatter, type InfraHit } from "./patterns.js";
import { SCREENED_ERROR, SCREENED_SECRET, type ScanSink } from "./scan.js";
import {
  DEFAULT_BUDGET_TOKENS,
  DEFAULT_CHARS_PER_TOKEN,
  type ContextOptions,
  type FailureContext,
  type InfraKind,
} from "./types.js";

/** Lines before an error kept as its lead-in; the farthest go first when the budget is tight. */
const PRE_CONTEXT_LINES = 8;
/** Lines before the lead-in shown when the budget has room to spare (the ring holds them anyway). */
const EARLIER_LINES = 24;
const AFTER_TRIGGER_LINES = 6;
const AFTER_CONTINUATION_LINES = 2;
const RING_LINES = 40;
const FALLBACK_TAIL_LINES = RING_LINES;
/** A network error counts as the cause only when no later error line is further away than this. */
const SOFT_INFRA_WINDOW = 40;
const MAX_SEEN_TRIGGERS = 5000;
/** A `##[group]Run` header (script, shell, env) longer than this is really output. */
const HEADER_GROUP_MAX_LINES = 300;
const MAX_ERROR_LINES = 8;
/** An excerpt this long is closed at its next new error line. */
const BLOCK_SPLIT_LINES = 40;
const MAX_ERROR_LINE_CHARS = 300;
const MAX_DEFINITIVE_HITS = 20;
/** Characters kept for the lists of places of errors repeated at many places. */
const COMPACT_LIST_RESERVE = 600;
/** Places of one message shown in full before other evidence; the rest only with budget to spare. */
const PLACES_IN_FULL_FIRST = 5;
/** Excerpt order of the lines before a block's lead-in: after every block, before the tail. */
const EARLIER_ORDER = 1e12;
const NOVEL_ORDER = 2e12;
/** Below this share of lines in common, a passing log is taken for another job's. */
const MIN_SHARED_FRACTION = 0.2;
/** Lines of a step's script kept to show what ran. */
const SCRIPT_LINES = 12;
/**
 * Failed steps after the first whose errors are kept too. Travis CI runs every command of
 * `script` even after one failed, and GitHub Actions runs later steps after a
 * `continue-on-error` one: a later failure is evidence as well, shown after the first one's.
 */
const MAX_LATER_FAILED_STEPS = 3;
/** Excerpt order of the k-th later failed step's excerpts: after the first failed step's, before the scene. */
const LATER_STEP_ORDER = 1e9;
/**
 * When no step says it failed (no verdict, no exit code: a Travis build whose script swallows
 * the exit status, a cut log), the last step with errors is the failure; the last few other
 * steps with strong errors are kept too, and fill spare budget after its error excerpts.
 */
const MAX_OTHER_ERROR_STEPS = 3;
/** Their excerpts' score: below every error excerpt of the chosen step, above its tail and scene. */
const OTHER_STEP_SCORE = 0.5;
/**
 * Errors of steps before the failed one that did not fail the job themselves (a Travis
 * command that failed and was retried, an install step whose exit status a script swallowed)
 * often explain it: they take the budget the failed step leaves, after its tail and scene.
 */
const EARLIER_STEP_RANK = 3;

type StepKind = "main" | "post";
type DetectedFormat = "github" | "gitlab" | "gitea" | "travis";

class Step {
  readonly store: BlockStore;
  readonly ring = new LineRing(RING_LINES);
  /** Error lines seen in this step, with the excerpt line that stands for them. */
  readonly seenTriggers = new Map<string, { entry: BlockLine; block: Block }>();
  /** Error lines that differ only by the place they name. */
  readonly families = new ErrorFamilies();
  open: Block | null = null;
  remaining = 0;
  lastBlockEndSeq = -1;
  lastSeq = -1;
  exitLine: string | null = null;
  exitSeq = -1;
  failed = false;
  strongSignals = 0;
  lastTriggerSeq = -1;
  softInfra: InfraHit | null = null;
  softInfraSeq = -1;
  definitive: InfraHit | null = null;
  /** The first lines of the step's script (GitHub's `##[group]Run` header). */
  readonly script: { text: string; seq: number }[] = [];
  scriptDone = false;
  /** The step's first error line; an infra hit on it is the cause, whatever follows. */
  firstErrorSeq = -1;
  firstErrorInfra: InfraHit | null = null;

  constructor(
    public name: string | null,
    readonly kind: StepKind,
    readonly order: number,
    capacityChars: number,
  ) {
    this.store = new BlockStore(capacityChars);
  }

  closeBlock(): void {
    if (this.open) this.lastBlockEndSeq = this.open.endSeq;
    this.open = null;
    this.remaining = 0;
  }
}

/** GitLab sections after the script: their commands never make a job fail. */
const GITLAB_POST_SECTIONS = /^(?:after_script|cleanup_file_variables|archive_cache|archive_cache_on_failure|upload_artifacts_on_success|upload_artifacts_on_failure)$/;
const GIT_CHECKOUT_DIR = /(?:Initialized empty|Reinitialized existing) Git repository in (\S+?)\/\.git\/?$/;
const EXIT_CODE = /^Process completed with exit code \d+\.?$/;
const GITEA_STEP = /^⭐ Run (Main|Pre|Post) (.+)$/u;
const GITEA_STEP_FAILED = /^\s*❌\s+Failure - (?:Main|Pre|Post) /u;
const GITEA_STEP_OK = /^\s*✅\s+Success - /u;
const GITEA_EXIT = /^exitcode '\d+': failure$/;
const GITEA_JOB_FAILED = /^🏁\s+Job failed/u;
const GITLAB_JOB_FAILED = /^ERROR: Job failed\b/;
/** Travis CI: every command is echoed as `$ cmd` and followed by its verdict. */
const TRAVIS_VERDICT = /^The command "(?:[^"]|"(?!(?: failed and)? exited))*" (?:failed and )?exited with (\d+)/;
const TRAVIS_DONE = /^Done\. Your build exited with \d+\.$/;
/** `travis_retry` gave up: the command failed on every attempt (it prints no `exited with` then). */
const TRAVIS_RETRIES_EXHAUSTED = /^The command ".*" failed \d+ times\.$/;
/** The verdict's last line when the command spans several lines. */
const TRAVIS_VERDICT_END = /^[^"]*" (?:failed and )?exited with (\d+)(?: during \S*)?\.$/;
const OMITTED_MARKER = /^… \d+ lines? omitted …$/;
const CONSOLE_OUTPUT = /^\s*console\.(?:error|warn|log|info|debug)\s*$/;

export class LogAnalyzer implements ScanSink {
  private readonly budgetChars: number;
  private readonly conclusion: string | null;
  private format: DetectedFormat | null;
  private readonly formatFixed: boolean;
  private readonly redactor = new LineRedactor();
  private readonly roots: string[];
  private readonly explicitRefs: { path: string; line: number | null; column: number | null }[] = [];
  private readonly sectionEvents: SectionEvent[] = [];
  private readonly capacityChars: number;
  private seq = 0;
  private steps = 0;
  private current: Step;
  private firstFailed: Step | null = null;
  private readonly laterFailed: Step[] = [];
  private firstAnnotated: Step | null = null;
  private lastMain: Step | null = null;
  private lastWithBlocks: Step | null = null;
  /** The last few main steps with an error line of score 2 or more, oldest first. */
  private readonly stepsWithStrongErrors: Step[] = [];
  /** Runner-level hits (cancel, timeout, runner lost, disk full) with the order of their step. */
  private readonly definitiveHits: { hit: InfraHit; order: number }[] = [];
  private jobLevelInfra: InfraHit | null = null;
  private headerGroupLines = -1;
  private gitlabSection: string | null = null;
  private readonly baseline: BaselineLines | null;
  private sharedDropped = 0;
  /** New lines (baseline given) of every step, the first ones up to the budget; see noteNovel. */
  private readonly novel: { text: string; seq: number; step: number }[] = [];
  private novelChars = 0;
  private readonly novelCapacity: number;
  /** Travis: a timed command is running / the current raw line started one. */
  private travisTimed = false;
  private travisOpened = false;

  constructor(options: ContextOptions = {}) {
    const budgetTokens = options.budgetTokens ?? DEFAULT_BUDGET_TOKENS;
    const charsPerToken = options.charsPerToken ?? DEFAULT_CHARS_PER_TOKEN;
    this.budgetChars = Math.max(0, Math.floor(budgetTokens * charsPerToken));
    this.capacityChars = Math.min(1_000_000, Math.max(64_000, this.budgetChars * 8));
    this.novelCapacity = Math.min(this.capacityChars, this.budgetChars);
    this.conclusion = options.conclusion ?? null;
    const format = options.format ?? "auto";
    this.format = format === "auto" ? null : format;
    this.formatFixed = format !== "auto";
    this.roots = [...(options.workspaceRoots ?? [])];
    this.baseline = options.baseline && !options.baseline.empty ? options.baseline : null;
    this.current = this.newStep(null, "main");
  }

  /** A raw log line: timestamps, colours and GitLab section markers are handled here. */
  pushRaw(raw: string): void {
    if (raw.charCodeAt(0) === 116 /* t */ && raw.startsWith("travis_")) this.travisMarkers(raw);
    const events = this.sectionEvents;
    events.length = 0;
    const line = cleanLine(raw, events);
    if (events.length > 0) {
      for (const event of events) if (event.type === "start") this.onSectionStart(event.name);
      if (line.trim() === "") return;
    }
    this.pushLine(line);
    this.travisOpened = false;
  }

  /** ScanSink: a line for the full treatment. */
  line(raw: string): void {
    this.pushRaw(raw);
  }

  /**
   * ScanSink: a line for the full treatment, cleaned by the scanner (no Travis marker, no section
   * marker: pushRaw's outcome), with what its screen found (scan.ts SCREENED_*).
   */
  cleaned(text: string, screened: number): void {
    this.screenedLine(text, screened);
    this.travisOpened = false;
  }

  /** True when the diff against a passing log needs the fingerprints of plain lines. */
  get wantsFingerprints(): boolean {
    return this.baseline !== null;
  }

  /**
   * ScanSink: a line with no hint word of the error and infra rules, no error shape (scan.ts), as
   * raw bytes. When nothing is under way that reads every line (a step header, an open excerpt,
   * a key block, the first lines before the format is known) and its first character starts no
   * step marker, it only counts, goes to the ring (by reference unless it had to become text),
   * and meets the baseline by its fingerprint: the outcome pushRaw would have, with fewer
   * strings. `text` (the cleaned line) comes with a secret hint word: the redactor reads it, and
   * a line it changes takes the full way.
   */
  plain(bytes: Buffer, start: number, end: number, first: number, fingerprint: number, text: string | null): void {
    const step = this.current;
    const open = step.open;
    if (open !== null && text === null && this.baseline === null && this.headerGroupLines < 0 && (this.format !== null || this.seq >= 200) && !this.redactor.insideKeyBlock) {
      if (isPassingFirst(first)) {
        // A passing test's line inside an open excerpt: all content() does with it is count it
        // against the excerpt (passing lines are left out of it) and keep it in the ring.
        this.seq += 1;
        this.travisOpened = false;
        step.lastSeq = this.seq;
        if (!this.pastFailure(step)) {
          step.remaining -= 1;
          if (step.remaining <= 0) step.closeBlock();
        }
        step.ring.pushBytes(bytes, start, end, this.seq, false, true);
        return;
      }
      if (!this.markerStart(first) && first !== 80 /* P */ && first !== 67 /* C */) {
        // Any other line inside an open excerpt that starts no step marker: no rule can match it
        // (no hint word, no error shape, no redaction), so what the full way does with it is
        // what excerptLine does (see content, score 0), without the steps that find that out.
        this.seq += 1;
        this.travisOpened = false;
        const seq = this.seq;
        step.lastSeq = seq;
        const line = cleanPlainLine(bytes, start, end);
        if (!this.pastFailure(step)) this.excerptLine(step, open, line, seq);
        step.ring.push(line, seq);
        return;
      }
    }
    if (open !== null || this.headerGroupLines >= 0 || (this.format === null && this.seq < 200) || this.redactor.insideKeyBlock || this.markerStart(first)) {
      this.cleaned(cleanPlainLine(bytes, start, end), text !== null ? SCREENED_SECRET : 0);
      return;
    }
    const secretHint = text !== null;
    if (first === 80 /* P */ || first === 67 /* C */) {
      // `Post job cleanup.`, `Cleaning up orphan processes` and the like end a step; `PASS …` does not.
      text ??= cleanPlainLine(bytes, start, end);
      if (text.startsWith("Post job cleanup") || text.startsWith("Cleaning up ")) {
        this.cleaned(text, secretHint ? SCREENED_SECRET : 0);
        return;
      }
    }
    if (secretHint) {
      const redacted = this.redactor.push(text as string);
      if (redacted !== text) {
        if (redacted !== null) this.analyse(redacted, 0, mayMatter(text as string));
        this.travisOpened = false;
        return;
      }
    }
    this.seq += 1;
    this.travisOpened = false;
    const seq = this.seq;
    step.lastSeq = seq;
    if (this.baseline !== null && first >= 0) {
      if (text !== null ? this.baseline.has(text) : this.baseline.hasFingerprint(fingerprint)) {
        this.sharedDropped += 1;
        if (text !== null) step.ring.push(text, seq, true);
        else step.ring.pushBytes(bytes, start, end, seq, true, isPassingFirst(first));
        return;
      }
      if (step.kind === "main" && this.novelChars < this.novelCapacity) this.noteNovel(step, text ?? cleanPlainLine(bytes, start, end));
    }
    if (text !== null) step.ring.push(text, seq);
    else step.ring.pushBytes(bytes, start, end, seq, false, isPassingFirst(first));
  }

  /** A first character that may start a step or failure marker of the log's format (see structuralLine; `P` and `C` are told apart in plain). */
  private markerStart(first: number): boolean {
    if (first === 35 /* # */ || first === 58 /* : */) return true;
    switch (this.format) {
      case "github":
        return false;
      case "gitlab":
        return first === 36 /* $ */;
      case "travis":
        return first === 36 /* $ */ || first === 84 /* T */ || first === 68 /* D */ || first === 116 /* t */;
      default:
        return first === 0x2b50 /* ⭐ */ || first === 0x274c /* ❌ */ || first === 0x1f3c1 /* 🏁 */ || first === 0x2705 /* ✅ */ || first === 101 /* e */;
    }
  }

  /**
   * Travis CI wraps each command it runs in `travis_time:start:ID` … `travis_time:end:ID`
   * markers (at line start, before the `$ command` echo and before the verdict). While one
   * runs, a `$ …` line is the output of a tool that echoes commands (yarn, lefthook), not a
   * new step.
   */
  private travisMarkers(raw: string): void {
    if (this.format === null && raw.startsWith("travis_fold:")) this.setFormat("travis");
    const start = raw.lastIndexOf("travis_time:start:");
    const end = raw.lastIndexOf("travis_time:end:");
    if (start > end) {
      this.travisTimed = true;
      this.travisOpened = true;
    } else if (end >= 0) {
      this.travisTimed = false;
    }
  }

  /**
   * A cleaned line. `minScore` raises its error score (annotations, `##[error]`);
   * callers feeding structured data (check runs) use it to mark what they know is an error.
   */
  pushLine(input: string, minScore = 0): void {
    // Lines of the slow way and of callers are often cut from a larger text: a copy of their
    // own, once, lets the ring and the excerpts keep them as they are (see detach).
    const text = detach(input);
    const matters = mayMatter(text);
    const redacted = matters ? this.redactor.push(text) : this.redactor.pushScreened(text);
    if (redacted !== null) this.analyse(redacted, minScore, matters);
  }

  /**
   * pushLine for a line the byte scan has screened: its hint words are known, no expression
   * looks for them again. Without a strong word or an error shape no rule can match (`matters`
   * false); without a secret word or shape only the key-block state of the redactor counts.
   */
  private screenedLine(text: string, screened: number): void {
    const redacted = (screened & SCREENED_SECRET) !== 0 ? this.redactor.push(text) : this.redactor.pushClean(text);
    if (redacted !== null) this.analyse(redacted, 0, (screened & SCREENED_ERROR) !== 0);
  }

  /** A cleaned and redacted line; `matters`: it has a hint word or shape (mayMatter). */
  private analyse(line: string, minScore: number, matters: boolean): void {
    this.seq += 1;
    if (this.format === null && this.seq <= 200) this.detectFormat(line);

    let content = line;
    let score = minScore;
    const first = line.charCodeAt(0);
    if (first === 35 /* # */ && line.startsWith("##[")) {
      const command = this.githubCommand(line);
      if (command === null) return;
      content = command.content;
      score = Math.max(score, command.minScore);
    } else if (this.headerGroupLines >= 0) {
      this.headerGroupLines += 1;
      if (this.headerGroupLines <= HEADER_GROUP_MAX_LINES) {
        this.headerLine(line);
        return;
      }
      this.headerGroupLines = -1;
    } else if (first === 58 /* : */ && line.startsWith("::")) {
      if (!line.startsWith("::error")) return; // group markers, add-mask (a secret by definition), outputs
      this.markAnnotated();
      score = Math.max(score, 2);
    } else if (this.structuralLine(line)) {
      return;
    }
    this.content(content, score, matters);
  }

  /**
   * A line of a `##[group]Run` header: the step's script (kept, the first lines, to show
   * what ran), then `shell:` and `env:`. Only new lines count as changes of the job.
   */
  private headerLine(line: string): void {
    const step = this.current;
    if (line.startsWith("shell: ")) step.scriptDone = true;
    if (line.trim() === "") return;
    if (!step.scriptDone && step.script.length < SCRIPT_LINES) step.script.push({ text: detach(cutLine(line)), seq: this.seq });
    if (this.baseline !== null && !this.baseline.has(line)) this.noteNovel(step, line);
  }

  /**
   * A line the last passing run did not print, outside the failing step's excerpts: what
   * changed in the job (a step's new script, a new dependency version), shown last.
   */
  private noteNovel(step: Step, line: string): void {
    if (step.kind !== "main" || this.novelChars >= this.novelCapacity || line.trim() === "") return;
    const text = cutLine(line);
    this.novelChars += text.length + 1;
    this.novel.push({ text: detach(text), seq: this.seq, step: step.order });
  }

  /** Starts a step explicitly (check runs use one step per run). */
  startStep(name: string | null, kind: StepKind = "main"): void {
    // Gitea logs show step markers only with some runners; what comes before the first one is the job setup.
    if (this.format === "gitea" && this.current.order === 0 && this.current.name === null) this.current.name = "Set up job";
    this.closeCurrent();
    this.current = this.newStep(name, kind);
  }

  /** A file reference known from structured data (an annotation), listed before those found in text. */
  addRef(path: string, line: number | null, column: number | null = null): void {
    this.explicitRefs.push({ path, line, column });
  }

  get redactions(): number {
    return this.redactor.count;
  }

  private newStep(name: string | null, kind: StepKind): Step {
    const step = new Step(name, kind, this.steps, this.capacityChars);
    this.steps += 1;
    return step;
  }

  private closeCurrent(): void {
    const step = this.current;
    step.closeBlock();
    // Its last lines may be read at the end (the tail): decoded now, they pin no input chunk.
    step.ring.settle();
    if (step.kind === "main") {
      this.lastMain = step;
      if (step.store.blocks.length > 0) this.lastWithBlocks = step;
      if (this.firstFailed === null && step.store.blocks.some((block) => block.score >= 2)) {
        this.stepsWithStrongErrors.push(step);
        if (this.stepsWithStrongErrors.length > MAX_OTHER_ERROR_STEPS + 1) this.stepsWithStrongErrors.shift();
      }
    }
  }

  private detectFormat(line: string): void {
    if (/^##\[(?:group|endgroup|error|warning)\]|^Current runner version:/.test(line)) this.setFormat("github");
    else if (/^Running with gitlab-runner\b/.test(line)) this.setFormat("gitlab");
    else if (/^⭐ Run |🚀\s+Start image=|\bact_runner\b/u.test(line)) this.setFormat("gitea");
  }

  private setFormat(format: DetectedFormat): void {
    if (this.formatFixed) return;
    this.format = format;
    if (format === "github" && this.current.order === 0 && this.current.name === null) {
      this.current.name = "Set up job";
    }
  }

  private onSectionStart(name: string): void {
    if (this.format === null) this.setFormat("gitlab");
    this.gitlabSection = name;
    this.startStep(name, GITLAB_POST_SECTIONS.test(name) ? "post" : "main");
  }

  /** `##[…]` lines of GitHub Actions logs. Returns null when the line is consumed. */
  private githubCommand(line: string): { content: string; minScore: number } | null {
    if (line.startsWith("##[group]")) {
      const title = line.slice("##[group]".length);
      if (title.startsWith("Run ")) {
        this.startStep(title.trim(), "main");
        this.headerGroupLines = 0;
      }
      return null;
    }
    if (line.startsWith("##[endgroup]")) {
      this.headerGroupLines = -1;
      return null;
    }
    if (line.startsWith("##[error]")) {
      const message = line.slice("##[error]".length);
      if (EXIT_CODE.test(message.trim())) {
        this.markFailed(message.trim());
        return null;
      }
      this.markAnnotated();
      return { content: message, minScore: 2 };
    }
    if (/^##\[(?:warning|notice|debug)\]/.test(line)) return null;
    if (line.startsWith("##[command]")) return { content: line.slice("##[command]".length), minScore: 0 };
    return { content: line, minScore: 0 };
  }

  /** Step boundaries and failure markers of the non-GitHub formats and of GitHub's job end. */
  private structuralLine(line: string): boolean {
    if (line === "Post job cleanup.") {
      this.startStep("Post job cleanup", "post");
      return true;
    }
    if (line.startsWith("Cleaning up orphan processes")) {
      this.startStep("Complete job", "post");
      return true;
    }
    if (this.format === "gitlab") {
      if (line.startsWith("$ ")) {
        const post = this.gitlabSection !== null && GITLAB_POST_SECTIONS.test(this.gitlabSection);
        this.startStep(line, post ? "post" : "main");
        this.current.ring.push(line, this.seq);
        return true;
      }
      if (GITLAB_JOB_FAILED.test(line)) {
        this.markFailed(line, true);
        return false;
      }
      return false;
    }
    if (this.format === "github") return false;
    if (this.format === "travis") return this.travisLine(line);
    let at = 0;
    while (line.charCodeAt(at) === 32) at += 1;
    const lead = line.codePointAt(at) ?? 0;
    if (lead === 0x2b50 /* ⭐ */) {
      const step = GITEA_STEP.exec(line);
      if (!step) return false;
      this.startStep(`Run ${step[1]} ${step[2].trim()}`, step[1] === "Post" ? "post" : "main");
      return true;
    }
    if ((lead === 0x274c /* ❌ */ && GITEA_STEP_FAILED.test(line)) || (lead === 101 /* e */ && GITEA_EXIT.test(line))) {
      this.markFailed(line.trim());
      return true;
    }
    if (lead === 0x1f3c1 /* 🏁 */ && GITEA_JOB_FAILED.test(line)) {
      this.markFailed(line.trim(), true);
      return true;
    }
    if (lead === 0x2705 /* ✅ */ && GITEA_STEP_OK.test(line)) return true;
    if (lead === 67 /* C */ && line.startsWith("Cleaning up container for job")) {
      this.startStep("Complete job", "post");
      return true;
    }
    return false;
  }

  private travisLine(line: string): boolean {
    const first = line.charCodeAt(0);
    if (first === 36 /* $ */ && line.startsWith("$ ") && (this.travisOpened || !this.travisTimed)) {
      this.startStep(line, "main");
      this.current.ring.push(line, this.seq);
      return true;
    }
    if (first === 84 /* T */ && line.startsWith("The command ")) {
      if (TRAVIS_RETRIES_EXHAUSTED.test(line)) {
        this.markFailed(line.trim());
        return true;
      }
      const verdict = TRAVIS_VERDICT.exec(line);
      if (!verdict) return false;
      if (verdict[1] !== "0") this.markFailed(line.trim());
      return true;
    }
    if (first === 68 /* D */ && TRAVIS_DONE.test(line)) {
      this.startStep("Done", "post");
      return true;
    }
    if (first === 116 /* t */ && line.startsWith("travis_")) return true; // fold and timing markers
    if (line.endsWith(".") && line.includes("exited with ")) {
      const end = TRAVIS_VERDICT_END.exec(line);
      if (end) {
        if (end[1] !== "0") this.markFailed(line.trim());
        return true;
      }
    }
    return false;
  }

  private markAnnotated(): void {
    if (this.firstAnnotated === null && this.current.kind === "main") this.firstAnnotated = this.current;
  }

  /**
   * A failure marker. In a post step (GitLab's final `ERROR: Job failed`, Gitea's
   * job result) it blames the last main step.
   */
  private markFailed(line: string, jobLevel = false): void {
    const target = this.current.kind === "main" ? this.current : (this.lastMain ?? this.current);
    target.failed = true;
    if (this.firstFailed !== null && this.firstFailed !== target && target.kind === "main" && !this.laterFailed.includes(target) && this.laterFailed.length < MAX_LATER_FAILED_STEPS) {
      this.laterFailed.push(target);
    }
    if (target.exitLine === null) {
      target.exitLine = detach(line);
      target.exitSeq = target === this.current ? this.seq : target.lastSeq + 1;
    }
    if (this.firstFailed === null) this.firstFailed = target;
    const verdict = detectInfra(line);
    if (verdict?.definitive && target.definitive === null) target.definitive = { ...verdict, line: detach(verdict.line) };
    if (jobLevel) {
      const hit = detectInfra(line);
      if (hit?.definitive) this.jobLevelInfra = { ...hit, line: detach(hit.line) };
    }
  }

  private content(line: string, minScore: number, matters: boolean): void {
    const step = this.current;
    const seq = this.seq;
    step.lastSeq = seq;

    if (this.baseline !== null && line.length > 0) {
      if (this.baseline.has(line)) {
        this.sharedLine(step, line, seq);
        return;
      }
      this.noteNovel(step, line);
    }

    const found = matters ? detectInfra(line) : null;
    if (found) {
      const hit = { ...found, line: detach(found.line) };
      if (!hit.definitive) {
        step.softInfra = hit;
        step.softInfraSeq = seq;
      } else if (step.definitive === null) {
        step.definitive = hit;
        if (this.definitiveHits.length < MAX_DEFINITIVE_HITS) this.definitiveHits.push({ hit, order: step.order });
      }
    }
    if (line.includes("Git repository in ")) {
      const checkout = GIT_CHECKOUT_DIR.exec(line);
      if (checkout && !this.roots.includes(checkout[1])) this.roots.push(checkout[1]);
    }

    // After the first failed step, later steps matter for runner-level causes, and for
    // their own errors while there is room for another failed step.
    if (this.pastFailure(step)) {
      step.ring.push(line, seq);
      return;
    }

    let score = matters ? errorScore(line) : 0;
    if (minScore > score) score = minScore;
    // The same message at yet another place: shown when the budget allows, after distinct evidence.
    if (score > 1 && step.families.placesBefore(line) >= PLACES_IN_FULL_FIRST) {
      score = 1;
      // They go to an excerpt of their own, so that the first places can be kept without them.
      if (step.open !== null && step.open.score > 1) step.closeBlock();
    }
    if (score > 0 && step.firstErrorSeq < 0) {
      step.firstErrorSeq = seq;
      if (found && !isRecoveredNotice(line)) step.firstErrorInfra = { ...found, line: detach(found.line) };
    }
    if (score > 0) {
      step.lastTriggerSeq = seq;
      if (score >= 3) step.strongSignals += 1;
    }

    // Error output a test printed on purpose (jest's `console.error` blocks) is not the failure.
    if (score > 1 && step.open === null && CONSOLE_OUTPUT.test(step.ring.last() ?? "")) score = 1;
    // An error line's key among those seen, made once (each trim is a new string to hash).
    const key = score > 0 ? line.trim() : "";

    if (step.open && score > 0 && step.open.head.length >= BLOCK_SPLIT_LINES && !step.seenTriggers.has(key)) {
      // A new error after a long excerpt starts its own: each can be kept or dropped whole, none loses its middle.
      step.closeBlock();
    }
    const open = step.open;
    if (open && score === 0) {
      this.excerptLine(step, open, line, seq);
    } else if (open) {
      const seen = step.seenTriggers.get(key);
      if (seen && seen.block === open && score <= 2) {
        // A generic error line repeating inside one excerpt (retry loops): count it, do not copy it.
        seen.entry.repeats += 1;
        step.remaining -= 1;
        if (step.remaining <= 0) step.closeBlock();
        step.ring.push(line, seq);
        return;
      }
      const before = open.chars;
      const entry = open.add(line, seq, score);
      if (!seen) {
        step.remaining = AFTER_TRIGGER_LINES;
        this.rememberTrigger(step, line, key, entry, open);
      } else {
        // Seen before: it neither extends the excerpt nor counts as new.
        step.remaining -= 1;
      }
      step.store.account(open, open.chars - before);
      if (step.remaining <= 0) step.closeBlock();
    } else if (score > 0) {
      const seen = step.seenTriggers.get(key);
      if (seen) {
        // The same error again (a repeated warning, a summary): count it, do not copy it.
        seen.entry.repeats += 1;
      } else {
        // Lead-in: passing tests say nothing, and error-looking lines the green run printed too are known noise.
        const pre = step.ring.entriesButPassing(step.lastBlockEndSeq).filter((item) => !isPassingLine(item.text) && !(item.shared && mayMatter(item.text) && errorScore(item.text) > 0));
        const contextFrom = Math.max(0, pre.length - PRE_CONTEXT_LINES);
        const context = pre.slice(contextFrom);
        const block = step.store.open(context.length > 0 ? context[0].seq : seq);
        block.earlier = pre.slice(Math.max(0, contextFrom - EARLIER_LINES), contextFrom).map((item) => ({ text: item.text, seq: item.seq }));
        for (const item of block.earlier) block.chars += item.text.length + 1;
        for (const item of context) block.add(item.text, item.seq, 0);
        const entry = block.add(line, seq, score);
        this.rememberTrigger(step, line, key, entry, block);
        step.open = block;
        step.remaining = AFTER_TRIGGER_LINES;
        step.store.account(block, block.chars);
      }
    }
    step.ring.push(line, seq);
  }

  /**
   * A line without an error score inside the open excerpt: passing tests next to a failure say
   * nothing about it and are left out; any other line extends it (a continuation keeps it open
   * a little longer).
   */
  private excerptLine(step: Step, open: Block, line: string, seq: number): void {
    if (isPassingLine(line)) {
      step.remaining -= 1;
    } else {
      const before = open.chars;
      open.add(line, seq, 0);
      if (isContinuation(line)) {
        if (step.remaining < AFTER_CONTINUATION_LINES) step.remaining = AFTER_CONTINUATION_LINES;
      } else {
        step.remaining -= 1;
      }
      step.store.account(open, open.chars - before);
    }
    if (step.remaining <= 0) step.closeBlock();
  }

  /**
   * A line the last passing run printed too: never an error, never tail. It may
   * follow an excerpt as a frame, or precede the next one as lead-in (the ring).
   */
  private sharedLine(step: Step, line: string, seq: number): void {
    const open = step.open;
    if (open && isContinuation(line) && (this.firstFailed === null || this.firstFailed === step)) {
      const before = open.chars;
      open.add(line, seq, 0);
      step.store.account(open, open.chars - before);
    } else {
      this.sharedDropped += 1;
      if (open) {
        step.remaining -= 1;
        if (step.remaining <= 0) step.closeBlock();
      }
    }
    step.ring.push(line, seq, true);
  }

  /** `key`: the line trimmed. */
  private rememberTrigger(step: Step, line: string, key: string, entry: BlockLine, block: Block): void {
    step.families.note(line);
    if (step.seenTriggers.size < MAX_SEEN_TRIGGERS && !step.seenTriggers.has(key)) step.seenTriggers.set(detach(key), { entry, block });
  }

  /** A step after the first failed one that no longer gets excerpts of its own. */
  private pastFailure(step: Step): boolean {
    return this.firstFailed !== null && this.firstFailed !== step && (step.kind !== "main" || this.laterFailed.length >= MAX_LATER_FAILED_STEPS);
  }

  /** The step the failure belongs to. */
  private chooseStep(): Step {
    return this.firstFailed ?? this.firstAnnotated ?? this.lastWithBlocks ?? this.lastMain ?? this.current;
  }

  private classify(step: Step): { kind: InfraKind; evidence: string } | null {
    const forced = infraKindForConclusion(this.conclusion);
    if (forced) return { kind: forced, evidence: `conclusion was ${this.conclusion}` };
    if (step.definitive) return { kind: step.definitive.kind, evidence: step.definitive.line };
    // Infra first: an outage that is the step's first error explains the code-looking errors after it.
    if (step.firstErrorInfra) return { kind: step.firstErrorInfra.kind, evidence: step.firstErrorInfra.line };
    if (this.jobLevelInfra) return { kind: this.jobLevelInfra.kind, evidence: this.jobLevelInfra.line };
    if (!step.failed) {
      // No step failed on its own: a runner-level stop later in the job (cancel, timeout) explains it.
      const later = this.definitiveHits.find((d) => d.order > step.order);
      if (later) return { kind: later.hit.kind, evidence: later.hit.line };
    }
    if (step.softInfra && step.strongSignals === 0 && step.softInfraSeq >= step.lastTriggerSeq - SOFT_INFRA_WINDOW) {
      return { kind: step.softInfra.kind, evidence: step.softInfra.line };
    }
    return null;
  }

  finish(bytesRead = 0, input: { encoding?: string; binary?: boolean } = {}): FailureContext {
    this.closeCurrent();
    const step = this.chooseStep();
    const strip = (line: string) => stripWorkspacePaths(readable(line), this.roots);

    // Weak excerpts (lines that merely say "error") only count when nothing stronger was found.
    const topScore = step.store.blocks.reduce((top, block) => Math.max(top, block.score), 0);
    const relevant = step.store.blocks.filter((block) => block.score >= topScore - 1);
    // Budget is filled by value: the strongest excerpts first, then weaker ones, then the step's tail.
    const all = step.store.blocks;
    const excerpts: Excerpt[] = all.map((block) => renderBlock(block, strip));
    const hasBlocks = excerpts.length > 0;
    const tailAfter = all.length > 0 ? all[all.length - 1].endSeq : -1;
    const tail = step.ring
      .entries(Math.max(step.lastBlockEndSeq, tailAfter))
      // Error lines already stand in an excerpt with their repeat count.
      .filter((item) => item.seq !== step.exitSeq && !item.shared && !step.seenTriggers.has(item.text.trim()))
      .slice(-FALLBACK_TAIL_LINES);
    if (tail.length > 0) {
      const lines = collapseRepeats(tail.map((item) => strip(item.text)));
      excerpts.push({ lines, lineScores: lines.map(() => 0), score: hasBlocks ? 0 : 1, order: Number.MAX_SAFE_INTEGER - 1, startSeq: tail[0].seq, endSeq: tail[tail.length - 1].seq });
    }
    // Spare budget goes to what the step ran, to the scene before each excerpt (the first
    // excerpt's first), then to what changed since the last green run in the other steps.
    if (step.script.length > 0) {
      const lines = step.script.map((item) => strip(item.text));
      excerpts.push({ lines, lineScores: lines.map(() => 0), score: 0, rank: 1, order: EARLIER_ORDER - 1, startSeq: step.script[0].seq, endSeq: step.script[step.script.length - 1].seq });
    }
    let run: { text: string; seq: number }[] = [];
    const flush = () => {
      if (run.length === 0) return;
      const lines = run.map((item) => strip(item.text));
      excerpts.push({ lines, lineScores: lines.map(() => 0), score: 0, rank: 2, order: NOVEL_ORDER + run[0].seq, startSeq: run[0].seq, endSeq: run[run.length - 1].seq });
      run = [];
    };
    // A passing log that shares almost nothing is not of the same job (another workflow): its "new" lines say nothing.
    const sameJob = this.sharedDropped >= this.seq * MIN_SHARED_FRACTION;
    for (const item of sameJob ? this.novel : []) {
      if (item.step === step.order) continue;
      if (run.length > 0 && item.seq !== run[run.length - 1].seq + 1) flush();
      run.push(item);
    }
    flush();
    for (const block of all) {
      if (block.earlier.length === 0) continue;
      const lines = collapseRepeats(block.earlier.map((item) => cutLine(strip(item.text))));
      excerpts.push({ lines, lineScores: lines.map(() => 0), score: 0, rank: 1, keepEnd: true, order: EARLIER_ORDER + block.order, startSeq: block.earlier[0].seq, endSeq: block.earlier[block.earlier.length - 1].seq });
    }
    if (step.exitLine !== null) {
      excerpts.push({ lines: [strip(step.exitLine)], lineScores: [1], score: 1, order: Number.MAX_SAFE_INTEGER, startSeq: step.exitSeq, endSeq: step.exitSeq });
    }
    if (step === this.firstFailed) excerpts.push(...this.laterFailedExcerpts(strip), ...this.earlierErrorStepExcerpts(step, strip));
    else if (this.firstFailed === null && this.firstAnnotated === null) excerpts.push(...this.otherErrorStepExcerpts(step, strip));
    const infra = this.classify(step);
    if (infra && !excerpts.some((e) => e.lines.some((line) => line.includes(strip(infra.evidence.trim()))))) {
      // The outage is the cause: its line goes first, whatever else fits.
      excerpts.push({ lines: [cutLine(strip(infra.evidence.trim()))], lineScores: [4], score: 4, order: -1, startSeq: -1, endSeq: -1 });
    }
    let fitted = this.budgetChars > 0 ? fitExcerpts(excerpts, this.budgetChars) : { text: "", truncated: excerpts.length > 0, included: [] };
    // The same error at places the text does not show: fit again leaving room to list them.
    const compact = (text: string) => step.families.addCompactLists(text, this.budgetChars, (line) => cutLine(strip(line)));
    if (step.families.placesNotShown(fitted.text, (line) => cutLine(strip(line)))) {
      let listed = compact(fitted.text);
      if (listed.added === 0) {
        fitted = fitExcerpts(excerpts, this.budgetChars - Math.min(COMPACT_LIST_RESERVE, Math.floor(this.budgetChars / 8)));
        listed = compact(fitted.text);
      }
      fitted = { ...fitted, text: listed.text, truncated: true };
    }
    const omittedInside = fitted.included.some((excerpt) => excerpt.lines.some((line) => OMITTED_MARKER.test(line)));

    const included = new Set(fitted.included.map((e) => e.order));
    // References from the strongest excerpts first: those are the files the fix is about.
    const byScore = (a: Block, b: Block) => b.score - a.score || a.order - b.order;
    const blocksInOrder = [
      ...relevant.filter((block) => included.has(block.order)).sort(byScore),
      ...relevant.filter((block) => !included.has(block.order)).sort(byScore),
    ];

    const refs = new RefCollector(this.roots);
    for (const ref of this.explicitRefs) refs.add(ref.path, ref.line, ref.column);
    for (const block of blocksInOrder) for (const entry of block.lines()) refs.addLine(entry.text);
    for (const line of step.families.lines()) refs.addLine(line);
    for (const excerpt of fitted.included) if (excerpt.order >= Number.MAX_SAFE_INTEGER - 1) for (const line of excerpt.lines) refs.addLine(line);

    return {
      class: infra ? "infra" : "code",
      infraReason: infra ? `${infra.kind}: ${cut(strip(infra.evidence.trim()), MAX_ERROR_LINE_CHARS)}` : null,
      infraKind: infra?.kind ?? null,
      failingStep: step.name,
      context: fitted.text,
      errorLines: this.errorLines(step, strip, infra?.evidence ?? null),
      files: refs.result(),
      redactions: this.redactor.count,
      truncated: fitted.truncated || step.store.evictedTopScore >= Math.max(1, topScore - 1) || omittedInside,
      bytesRead,
      notice: input.binary
        ? "the log does not look like text (zero bytes or control characters near its start): unreadable lines are left out"
        : input.encoding && input.encoding !== "utf8"
          ? `read as ${input.encoding === "latin1" ? "Latin-1 (not valid UTF-8)" : input.encoding === "utf16le" ? "UTF-16 LE" : "UTF-16 BE"}`
          : null,
      baselineUsed: this.baseline !== null,
      sharedLinesDropped: this.sharedDropped,
    };
  }

  /** The error excerpts and verdicts of the failed steps after the first, each step after the one before. */
  private laterFailedExcerpts(strip: (line: string) => string): Excerpt[] {
    const out: Excerpt[] = [];
    this.laterFailed.forEach((later, k) => {
      const base = LATER_STEP_ORDER * (k + 1);
      for (const block of later.store.blocks) out.push({ ...renderBlock(block, strip), order: base + block.order });
      if (later.exitLine !== null) {
        out.push({ lines: [strip(later.exitLine)], lineScores: [1], score: 1, order: base + LATER_STEP_ORDER / 2, startSeq: later.exitSeq, endSeq: later.exitSeq });
      }
    });
    return out;
  }

  /** No step failed: the error excerpts of the other steps with strong errors, as spare-budget evidence. */
  private otherErrorStepExcerpts(chosen: Step, strip: (line: string) => string): Excerpt[] {
    const others = this.stepsWithStrongErrors.filter((other) => other !== chosen).slice(-MAX_OTHER_ERROR_STEPS);
    return others.flatMap((other, k) =>
      other.store.blocks.filter((block) => block.score >= 2).map((block) => ({ ...renderBlock(block, strip), score: OTHER_STEP_SCORE, order: LATER_STEP_ORDER * (k + 1) + block.order })),
    );
  }

  /** The failed step came after steps with strong errors that did not fail the job: their error excerpts, as the last spare-budget evidence. */
  private earlierErrorStepExcerpts(failed: Step, strip: (line: string) => string): Excerpt[] {
    const earlier = this.stepsWithStrongErrors.filter((other) => other !== failed && other.order < failed.order).slice(-MAX_OTHER_ERROR_STEPS);
    // Orders below every other excerpt's, oldest step first, none equal to another's.
    return earlier.flatMap((other, k) =>
      other.store.blocks
        .filter((block) => block.score >= 2)
        .map((block) => ({ ...renderBlock(block, strip), score: 0, rank: EARLIER_STEP_RANK, order: -LATER_STEP_ORDER * (earlier.length + 1 - k) + block.order })),
    );
  }

  private errorLines(step: Step, strip: (line: string) => string, infraEvidence: string | null): string[] {
    const candidates: { text: string; score: number; at: number }[] = [];
    let at = 0;
    for (const block of step.store.blocks) {
      for (const entry of block.lines()) {
        at += 1;
        if (entry.score > 0 && entry.text.trim() !== "") candidates.push({ text: entry.text, score: entry.score, at });
      }
    }
    // The strongest tier of error lines, topped up from the next tiers when it has only one or two.
    let floor = 3;
    while (floor > 1 && candidates.filter((c) => c.score >= floor).length < 3) floor -= 1;
    const best = candidates.filter((c) => c.score >= floor);
    const seen = new Set<string>();
    const picked = best
      .sort((a, b) => b.score - a.score || a.at - b.at)
      .filter((c) => {
        const key = c.text.trim();
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .slice(0, MAX_ERROR_LINES)
      .sort((a, b) => a.at - b.at)
      .map((c) => cut(strip(c.text.trim()), MAX_ERROR_LINE_CHARS));
    if (picked.length === 0 && infraEvidence) picked.push(cut(strip(infraEvidence.trim()), MAX_ERROR_LINE_CHARS));
    if (picked.length === 0 && step.exitLine) picked.push(cut(strip(step.exitLine), MAX_ERROR_LINE_CHARS));
    return picked;
  }
}

const UNREADABLE = /[\x00-\x08\x0b-\x1f\x7f\ufffd]/;
const UNREADABLE_ALL = new RegExp(UNREADABLE.source, "g");

/** A line as a prompt can show it: control characters out, a line of mostly binary bytes as a marker. */
function readable(line: string): string {
  if (!UNREADABLE.test(line)) return line;
  const junk = line.match(UNREADABLE_ALL)?.length ?? 0;
  if (junk > line.length / 4) return "[unreadable bytes]";
  return line.replace(UNREADABLE_ALL, "");
}

function cutLine(text: string): string {
  return cut(text, MAX_EXCERPT_LINE_CHARS);
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Repeated lines as one line with a count (at its first place), blank runs as
 * one blank line. For tails, where repeats are noise whatever lies between them.
 */
export function collapseRepeats(lines: string[]): string[] {
  const counts = new Map<string, number>();
  for (const line of lines) if (line.trim() !== "") counts.set(line, (counts.get(line) ?? 0) + 1);
  const out: string[] = [];
  const emitted = new Set<string>();
  for (const line of lines) {
    if (line.trim() === "") {
      if (out.length > 0 && out[out.length - 1].trim() !== "") out.push("");
      continue;
    }
    if (emitted.has(line)) continue;
    emitted.add(line);
    const count = counts.get(line) ?? 1;
    out.push(count > 1 ? `${line} [repeated ×${count}]` : line);
  }
  return out;
}

