/**
 * Generated edits of real files, for the perturbation property tests
 * (test/patch-perturb.test.ts: damage that must never produce a wrong file).
 * `npm run bench:patch` measures on real edits instead
 * (bench/patch-real-corpus.ts). Each case starts from a real source file, makes realistic edits (change,
 * insert, delete, replace lines; one to three hunks), renders the correct
 * unified diff, then damages it the way model answers are damaged. Cases
 * whose right answer is a refusal (ambiguous or missing context) are built
 * too, and "combined" cases stack two or three flaws, as real answers do.
 * Everything derives from a seeded PRNG, so a run is reproducible.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export const FLAWS = [
  "clean",
  "wrong-line-numbers",
  "missing-line-numbers",
  "wrong-counts",
  "no-ab-prefix",
  "missing-file-headers",
  "crlf",
  "whitespace-drift",
  "hunks-out-of-order",
  "stale-context",
  "fenced-in-markdown",
  "combined",
  "refuse-ambiguous",
  "refuse-context-missing",
] as const;
export type Flaw = (typeof FLAWS)[number];

export interface PatchCase {
  id: string;
  flaw: Flaw;
  variant: string;
  /** Repo-relative path of the file the diff edits. */
  path: string;
  original: string;
  /** The model's answer: a diff, bare or in prose. */
  answer: string;
  /** The file after a correct application; null when the right answer is to refuse. */
  expected: string | null;
}

export interface SourceFile {
  path: string;
  content: string;
}

export interface CorpusStats {
  /** Random edit sites tried while building edits for cases that should apply. */
  sitesTried: number;
  /** Of those, sites whose hunk (context + removed lines) occurs more than once in the file. */
  sitesWithRepeatedContext: number;
}

const CONTEXT = 3;

/** mulberry32: small, fast, good enough to pick files and edits reproducibly. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Picker {
  constructor(private readonly random: () => number) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  one<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }
  shuffle<T>(items: T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy;
  }
}

const SOURCE_EXTENSIONS = /\.(?:[cm]?js|[cm]?ts|md)$/;

/**
 * Real text files under `root` (node_modules here), walked in sorted order so
 * the pool is the same on every run over the same install. Minified bundles,
 * CRLF files and files without a final newline are left out: the corpus adds
 * line-ending flaws itself. The pool, and so the corpus, is fixed by the lock file.
 */
export function findSourceFiles(root: string, limit = Number.POSITIVE_INFINITY): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch {
      return;
    }
    for (const entry of entries) {
      if (files.length >= limit) return;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== ".bin" && entry.name !== ".cache") walk(full);
        continue;
      }
      if (!entry.isFile() || !SOURCE_EXTENSIONS.test(entry.name) || entry.name.endsWith(".min.js")) continue;
      const size = statSync(full).size;
      if (size < 2_000 || size > 120_000) continue;
      const content = readFileSync(full, "utf8");
      if (!content.endsWith("\n") || content.includes("\r") || content.includes("\u0000") || content.includes("\uFFFD")) continue;
      const lines = content.split("\n");
      if (lines.length < 40 || lines.some((line) => line.length > 300) || content.length / lines.length > 90) continue;
      files.push({ path: relative(root, full).split("\\").join("/"), content });
    }
  };
  walk(root);
  return files;
}

/** One edit on the original: replace `remove` lines starting at `at` with `insert`. */
interface Edit {
  at: number;
  remove: number;
  insert: string[];
}

interface DiffLine {
  kind: " " | "-" | "+";
  text: string;
}

interface Hunk {
  oldStart: number;
  oldCount: number;
  newStart: number;
  newCount: number;
  lines: DiffLine[];
}

const looseKey = (text: string): string => text.replace(/\s+/g, "");

function indentOf(line: string): string {
  return line.match(/^\s*/)![0];
}

/** A plausible changed version of a line, guaranteed different and not already present in the file. */
function changedLine(line: string, pick: Picker, existing: Set<string>): string {
  const attempts: (() => string)[] = [
    () => line.replace(/\d+/, (n) => String(Number(n) + pick.int(1, 9))),
    () => line.replace(/\b([A-Za-z_][A-Za-z0-9_]{2,})\b/, (word) => `${word}${pick.one(["Next", "Value", "2", "Safe", "Checked"])}`),
    () => line.replace(/(["'])([^"'\n]*)\1/, (_, q: string, body: string) => `${q}${body} (fixed)${q}`),
    () => `${line.trimEnd()} ${pick.one(["// fixed", "/* checked */", "// keep in sync"])}`,
  ];
  for (const attempt of pick.shuffle(attempts)) {
    const candidate = attempt();
    if (candidate !== line && !existing.has(looseKey(candidate))) return candidate;
  }
  return `${indentOf(line)}fixloopChanged${pick.int(1000, 9999)}(${JSON.stringify(line.trim().slice(0, 20))});`;
}

function newLines(indent: string, count: number, pick: Picker, markdown: boolean): string[] {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const tag = pick.int(100000, 999999);
    lines.push(
      markdown
        ? pick.one([`Note ${tag}: this option is read once at start-up.`, `- item ${tag} documents the new default`, ""])
        : pick.one([
            `${indent}const check${tag} = value ?? null;`,
            `${indent}if (input${tag} === undefined) return;`,
            `${indent}// guard ${tag}: the value may be missing here`,
            `${indent}result${tag}.push(item);`,
          ]),
    );
  }
  return lines;
}

/** An edit of a random kind at a random place, or null when the place is unsuitable. */
function randomEdit(lines: string[], pick: Picker, markdown: boolean, existing: Set<string>): Edit | null {
  const at = pick.int(0, lines.length - 1);
  const line = lines[at];
  switch (pick.one(["change", "change", "insert", "delete", "replace"] as const)) {
    case "change":
      if (line.trim() === "") return null;
      return { at, remove: 1, insert: [changedLine(line, pick, existing)] };
    case "insert":
      return { at, remove: 0, insert: newLines(indentOf(line), pick.int(1, 3), pick, markdown) };
    case "delete": {
      const remove = Math.min(pick.int(1, 3), lines.length - at);
      if (lines.slice(at, at + remove).every((l) => l.trim() === "")) return null;
      return { at, remove, insert: [] };
    }
    case "replace": {
      const remove = Math.min(pick.int(1, 2), lines.length - at);
      if (line.trim() === "") return null;
      return { at, remove, insert: [changedLine(line, pick, existing), ...newLines(indentOf(line), pick.int(0, 2), pick, markdown)] };
    }
  }
}

function applyEdits(lines: string[], edits: Edit[]): string[] {
  const out: string[] = [];
  let cursor = 0;
  for (const edit of [...edits].sort((a, b) => a.at - b.at)) {
    out.push(...lines.slice(cursor, edit.at), ...edit.insert);
    cursor = edit.at + edit.remove;
  }
  out.push(...lines.slice(cursor));
  return out;
}

/** Correct hunks (3 lines of context) for edits spaced far enough apart that each gets its own hunk. */
function renderHunks(lines: string[], edits: Edit[]): Hunk[] {
  const hunks: Hunk[] = [];
  let delta = 0;
  for (const edit of [...edits].sort((a, b) => a.at - b.at)) {
    const from = Math.max(0, edit.at - CONTEXT);
    const to = Math.min(lines.length, edit.at + edit.remove + CONTEXT);
    const body: DiffLine[] = [
      ...lines.slice(from, edit.at).map((text): DiffLine => ({ kind: " ", text })),
      ...lines.slice(edit.at, edit.at + edit.remove).map((text): DiffLine => ({ kind: "-", text })),
      ...edit.insert.map((text): DiffLine => ({ kind: "+", text })),
      ...lines.slice(edit.at + edit.remove, to).map((text): DiffLine => ({ kind: " ", text })),
    ];
    const oldCount = to - from;
    const newCount = oldCount - edit.remove + edit.insert.length;
    hunks.push({ oldStart: from + 1, oldCount, newStart: from + 1 + delta, newCount, lines: body });
    delta += edit.insert.length - edit.remove;
  }
  return hunks;
}

function oldSide(hunk: Hunk): DiffLine[] {
  return hunk.lines.filter((line) => line.kind !== "+");
}

/** Places where `wanted` matches `fileKeys` with at most `misses` mismatches on lines `mayMiss` allows. */
function countMatches(fileKeys: string[], wanted: string[], misses: number, mayMiss: (i: number) => boolean): number {
  let found = 0;
  for (let start = 0; start + wanted.length <= fileKeys.length; start++) {
    let missed = 0;
    let ok = true;
    for (let i = 0; i < wanted.length && ok; i++) {
      if (fileKeys[start + i] !== wanted[i]) ok = mayMiss(i) && ++missed <= misses;
    }
    if (ok) found++;
  }
  return found;
}

interface HeaderStyle {
  gitLine: boolean;
  prefixes: boolean;
  fileHeaders: boolean;
  hunkNumbers: "correct" | "none" | "bare";
}

const GIT_STYLE: HeaderStyle = { gitLine: true, prefixes: true, fileHeaders: true, hunkNumbers: "correct" };

function renderDiff(path: string, hunks: Hunk[], style: HeaderStyle = GIT_STYLE): string {
  const out: string[] = [];
  const [a, b] = style.prefixes ? [`a/${path}`, `b/${path}`] : [path, path];
  if (style.gitLine) out.push(`diff --git ${a} ${b}`);
  if (style.fileHeaders) out.push(`--- ${a}`, `+++ ${b}`);
  for (const hunk of hunks) {
    if (style.hunkNumbers === "none") out.push("@@ @@");
    else if (style.hunkNumbers === "bare") out.push("@@");
    else out.push(`@@ -${hunk.oldStart},${hunk.oldCount} +${hunk.newStart},${hunk.newCount} @@`);
    for (const line of hunk.lines) out.push(line.kind + line.text);
  }
  return out.join("\n") + "\n";
}

const PROSE_BEFORE = [
  "The test fails because the value is read before it is set. Here is a minimal fix:",
  "I found the problem. Apply this patch:",
  "The CI log points at this file. The following diff fixes it.",
];
const PROSE_AFTER = [
  "This keeps the existing behaviour for other callers.",
  "After this change the failing test should pass.\n\n- The guard handles the missing value.\n- No other files need to change.",
  "Let me know if the build still fails.",
];

interface Built {
  lines: string[];
  edits: Edit[];
  hunks: Hunk[];
}

/** Builds edits on a file whose hunks each have context occurring exactly once (they can be located by content). */
function buildEdits(
  source: SourceFile,
  pick: Picker,
  hunkCount: number,
  stats: CorpusStats,
  minOldLines: number,
): Built | null {
  const lines = source.content.slice(0, -1).split("\n");
  const markdown = source.path.endsWith(".md");
  const existing = new Set(lines.map(looseKey));
  const looseLines = lines.map(looseKey);
  const exactLines = lines;
  const edits: Edit[] = [];
  for (let tries = 0; tries < 40 && edits.length < hunkCount; tries++) {
    const edit = randomEdit(lines, pick, markdown, existing);
    if (!edit) continue;
    // Keep hunks apart (no shared or adjacent context) so each edit renders as its own hunk.
    const clash = edits.some((other) => edit.at < other.at + other.remove + 2 * CONTEXT + 2 && other.at < edit.at + edit.remove + 2 * CONTEXT + 2);
    if (clash) continue;
    const [hunk] = renderHunks(lines, [edit]);
    const before = oldSide(hunk);
    if (before.length < minOldLines) continue;
    stats.sitesTried++;
    if (countMatches(exactLines, before.map((l) => l.text), 0, () => false) > 1) stats.sitesWithRepeatedContext++;
    if (countMatches(looseLines, before.map((l) => looseKey(l.text)), 0, () => false) !== 1) continue;
    edits.push(edit);
  }
  if (edits.length < hunkCount) return null;
  return { lines, edits, hunks: renderHunks(lines, edits) };
}

function joinLines(lines: string[], eol = "\n"): string {
  return lines.join(eol) + eol;
}

/** Alters whitespace of a line the way models do when they retype context. */
function driftWhitespace(line: string, pick: Picker): string {
  const options: string[] = [];
  const indent = indentOf(line);
  const body = line.slice(indent.length);
  if (indent.includes("\t")) options.push(indent.replace(/\t/g, "  ") + body, indent.replace(/\t/g, "    ") + body);
  if (indent.length >= 2 && !indent.includes("\t")) {
    options.push(indent.slice(2) + body, "\t".repeat(Math.ceil(indent.length / 4)) + body);
  }
  if (/\s$/.test(line)) options.push(line.trimEnd());
  options.push(`  ${line}`, `${line}  `, line.replace(/, /g, ","), line.replace(/ = /g, "="));
  const changed = options.filter((option) => option !== line);
  return changed.length > 0 ? pick.one(changed) : `${line} `;
}

/** The flaws a model answer can have while still meaning one right result; "combined" stacks two or three of them. */
const APPLICABLE_FLAWS = [
  "wrong-line-numbers",
  "missing-line-numbers",
  "wrong-counts",
  "no-ab-prefix",
  "missing-file-headers",
  "crlf",
  "whitespace-drift",
  "hunks-out-of-order",
  "stale-context",
  "fenced-in-markdown",
] as const satisfies readonly Flaw[];
type ApplicableFlaw = (typeof APPLICABLE_FLAWS)[number];

/** How a case's diff is damaged and presented; each flaw changes some of it. */
interface Rendering {
  hunks: Hunk[];
  style: HeaderStyle;
  fileEol: "\n" | "\r\n";
  answerEol: "\n" | "\r\n";
  /** Content lines end in CR, as `git diff` shows a CRLF file. */
  crInContent: boolean;
  wrapping: "bare" | "fenced" | "named-in-prose";
  variants: string[];
}

interface EditContext {
  lines: string[];
  existing: Set<string>;
}

/** Applies one flaw to the rendering; null when this case cannot carry it (it is then built from another file). */
function addFlaw(flaw: ApplicableFlaw, r: Rendering, pick: Picker, ctx: EditContext): Rendering | null {
  const note = (variant: string, changed: Partial<Rendering>): Rendering => ({ ...r, ...changed, variants: [...r.variants, variant] });
  switch (flaw) {
    case "wrong-line-numbers":
      return note("shifted", {
        hunks: r.hunks.map((hunk) => {
          const offset = pick.one([-1, 1]) * pick.int(3, 40);
          return { ...hunk, oldStart: Math.max(1, hunk.oldStart + offset), newStart: Math.max(1, hunk.newStart + offset) };
        }),
      });
    case "missing-line-numbers": {
      const hunkNumbers = pick.chance(0.7) ? "none" : "bare";
      return note(hunkNumbers === "none" ? "@@ @@" : "@@", { style: { ...r.style, hunkNumbers } });
    }
    case "wrong-counts":
      return note("miscounted", {
        hunks: r.hunks.map((hunk) => ({
          ...hunk,
          oldCount: Math.max(0, hunk.oldCount + pick.one([-2, -1, 1, 2, 3])),
          newCount: pick.chance(0.5) ? hunk.newCount : Math.max(0, hunk.newCount + pick.one([-2, -1, 1, 2])),
        })),
      });
    case "no-ab-prefix": {
      const gitLine = r.style.gitLine && pick.chance(0.5);
      return note(gitLine ? "diff --git x x" : "--- x / +++ x", { style: { ...r.style, gitLine, prefixes: false } });
    }
    case "missing-file-headers":
      if (pick.chance(0.5) && r.style.gitLine) return note("diff --git only", { style: { ...r.style, fileHeaders: false } });
      return note("hunks only, file named in prose", { style: { ...r.style, gitLine: false, fileHeaders: false }, wrapping: "named-in-prose" });
    case "crlf": {
      const variant = pick.one(["crlf answer, lf file", "lf answer, crlf file", "git diff of crlf file"] as const);
      if (variant === "crlf answer, lf file") return note(variant, { answerEol: "\r\n" });
      if (variant === "lf answer, crlf file") return note(variant, { fileEol: "\r\n" });
      return note(variant, { fileEol: "\r\n", crInContent: true });
    }
    case "whitespace-drift": {
      if (pick.chance(0.3)) {
        // The model retyped whole hunks in its own indentation, added lines included.
        const retype = pick.one(["spaces doubled", "shifted 4", "tabs as 4 spaces"] as const);
        const reindent = (text: string): string | null => {
          const indent = indentOf(text).replace(/[^ \t]/g, "");
          const body = text.slice(indent.length);
          if (indent.includes(" ") && indent.includes("\t")) return null;
          if (retype === "tabs as 4 spaces") return indent.includes(" ") ? null : "    ".repeat(indent.length) + body;
          if (indent.includes("\t")) return null;
          return (retype === "spaces doubled" ? " ".repeat(indent.length * 2) : " ".repeat(indent.length + 4)) + body;
        };
        const hunks = r.hunks.map((hunk) => ({
          ...hunk,
          lines: hunk.lines.map((line) => (line.text.trim() === "" ? line : { ...line, text: reindent(line.text) })),
        }));
        const unusable = hunks.some((hunk) => hunk.lines.some((line) => line.text === null));
        const changed = hunks.some((hunk, h) => hunk.lines.some((line, i) => line.text !== r.hunks[h].lines[i].text));
        if (unusable || !changed) return null;
        return note(`hunk re-indented (${retype})`, { hunks: hunks as Hunk[] });
      }
      return note("context retyped", {
        hunks: r.hunks.map((hunk) => {
          const contextIndexes = hunk.lines.flatMap((line, i) => (line.kind === " " ? [i] : []));
          const chosen = new Set(pick.shuffle(contextIndexes).slice(0, pick.int(1, 3)));
          return { ...hunk, lines: hunk.lines.map((line, i) => (chosen.has(i) ? { ...line, text: driftWhitespace(line.text, pick) } : line)) };
        }),
      });
    }
    case "hunks-out-of-order": {
      const h = r.hunks;
      if (h.length < 2) return null;
      const reordered = h.length === 2 ? [h[1], h[0]] : pick.chance(0.5) ? [...h].reverse() : [h[2], h[0], h[1]];
      return note(`${h.length} hunks reordered`, { hunks: reordered });
    }
    case "stale-context": {
      const target = pick.int(0, r.hunks.length - 1);
      const hunk = r.hunks[target];
      const candidates = hunk.lines.flatMap((line, i) => (line.kind === " " && line.text.trim() !== "" ? [i] : []));
      if (candidates.length === 0) return null;
      const staleAt = pick.one(candidates);
      const stale = { ...hunk, lines: hunk.lines.map((line, i) => (i === staleAt ? { ...line, text: changedLine(line.text, pick, ctx.existing) } : line)) };
      // Only a stale hunk that still fits exactly one place (allowing that one line) is fair to expect applied.
      const before = oldSide(stale);
      const mayMiss = (i: number): boolean => before[i].kind === " ";
      if (countMatches(ctx.lines.map(looseKey), before.map((l) => looseKey(l.text)), 1, mayMiss) !== 1) return null;
      return note("one stale context line", { hunks: r.hunks.map((h, i) => (i === target ? stale : h)) });
    }
    case "fenced-in-markdown":
      return r.wrapping === "bare" ? note("prose+fence", { wrapping: "fenced" }) : null;
  }
}

/** Content transforms first (they read the hunks' text), then order, numbers, headers, presentation. */
const FLAW_ORDER: readonly ApplicableFlaw[] = [
  "stale-context",
  "whitespace-drift",
  "hunks-out-of-order",
  "wrong-line-numbers",
  "wrong-counts",
  "missing-line-numbers",
  "no-ab-prefix",
  "missing-file-headers",
  "fenced-in-markdown",
  "crlf",
];

function renderAnswer(path: string, r: Rendering, pick: Picker): string {
  const hunks = r.crInContent ? r.hunks.map((hunk) => ({ ...hunk, lines: hunk.lines.map((line) => ({ ...line, text: `${line.text}\r` })) })) : r.hunks;
  const diff = renderDiff(path, hunks, r.style);
  let answer: string;
  if (r.wrapping === "fenced") {
    const fence = pick.one(["```diff", "```patch", "```"]);
    answer = `${pick.one(PROSE_BEFORE)}\n\n${fence}\n${diff}\`\`\`\n\n${pick.one(PROSE_AFTER)}\n`;
  } else if (r.wrapping === "named-in-prose") {
    answer = `${pick.one(["Here is the fix for", "Change", "Update"])} \`${path}\`:\n\n\`\`\`diff\n${diff}\`\`\`\n`;
  } else {
    answer = diff;
  }
  return r.answerEol === "\r\n" ? answer.replace(/\n/g, "\r\n") : answer;
}

function applicableCase(flaws: ApplicableFlaw[], base: Omit<PatchCase, "variant" | "original" | "answer" | "expected">, source: SourceFile, pick: Picker, stats: CorpusStats): PatchCase | null {
  const hunkCount = flaws.includes("hunks-out-of-order") ? pick.one([2, 2, 3]) : pick.one([1, 1, 1, 2, 2, 3]);
  const built = buildEdits(source, pick, hunkCount, stats, flaws.includes("stale-context") ? 5 : 1);
  if (!built) return null;
  const ctx: EditContext = { lines: built.lines, existing: new Set(built.lines.map(looseKey)) };
  let rendering: Rendering | null = {
    hunks: built.hunks,
    style: GIT_STYLE,
    fileEol: "\n",
    answerEol: "\n",
    crInContent: false,
    wrapping: "bare",
    variants: [],
  };
  for (const flaw of FLAW_ORDER) {
    if (!flaws.includes(flaw)) continue;
    rendering = addFlaw(flaw, rendering, pick, ctx);
    if (!rendering) return null;
  }
  return {
    ...base,
    variant: rendering.variants.join(" + ") || "git",
    original: joinLines(built.lines, rendering.fileEol),
    expected: joinLines(applyEdits(built.lines, built.edits), rendering.fileEol),
    answer: renderAnswer(base.path, rendering, pick),
  };
}

function caseFor(flaw: Flaw, index: number, source: SourceFile, pick: Picker, stats: CorpusStats): PatchCase | null {
  const base = { id: `${flaw}-${index}`, flaw, path: source.path };
  switch (flaw) {
    case "clean":
      return applicableCase([], base, source, pick, stats);
    case "combined": {
      const flaws = pick.shuffle([...APPLICABLE_FLAWS]).slice(0, pick.int(2, 3));
      return applicableCase(flaws, base, source, pick, stats);
    }

    case "refuse-ambiguous": {
      const built = buildEdits(source, pick, 1, stats, 4);
      if (!built) return null;
      const { lines, hunks } = built;
      const hunk = hunks[0];
      const from = hunk.oldStart - 1;
      const length = hunk.oldCount;
      // Copy the hunk's whole region elsewhere: the diff's content now fits two places equally well.
      const far = [...Array(lines.length + 1).keys()].filter((at) => at < from - CONTEXT - 2 || at > from + length + CONTEXT + 2);
      if (far.length === 0) return null;
      const copyStart = pick.one(far);
      const region = lines.slice(from, from + length);
      const withCopy = [...lines.slice(0, copyStart), ...region, ...lines.slice(copyStart)];
      const realStart = copyStart <= from ? from + length : from;
      // Line numbers that point at neither copy, so nothing in the diff can tell them apart.
      const farFromBoth = (line: number): boolean => Math.abs(line - (realStart + 1)) >= 3 && Math.abs(line - (copyStart + 1)) >= 3;
      let stated = realStart + 1;
      for (let guard = 0; guard < 20 && !farFromBoth(stated); guard++) stated = Math.max(1, realStart + 1 + pick.one([-1, 1]) * pick.int(3, 30));
      if (!farFromBoth(stated)) return null;
      const shifted = { ...hunk, oldStart: stated, newStart: stated };
      return { ...base, variant: "context repeated in file", original: joinLines(withCopy), expected: null, answer: renderDiff(base.path, [shifted]) };
    }

    case "refuse-context-missing": {
      const built = buildEdits(source, pick, 1, stats, 7);
      if (!built) return null;
      const { lines, hunks } = built;
      const hunk = hunks[0];
      const existing = new Set(lines.map(looseKey));
      const removedAt = hunk.lines.flatMap((line, i) => (line.kind === "-" && line.text.trim() !== "" ? [i] : []));
      const contextAt = hunk.lines.flatMap((line, i) => (line.kind === " " ? [i] : []));
      let variant: string;
      let damagedAt: Set<number>;
      if (removedAt.length > 0 && pick.chance(0.5)) {
        variant = "removed line not in file";
        damagedAt = new Set([pick.one(removedAt), pick.one(contextAt)]);
      } else {
        // The outer context lines on both sides are not in the file: one line of real context is left each side.
        if (contextAt.length < 6) return null;
        variant = "most context not in file";
        damagedAt = new Set([...contextAt.slice(0, 2), ...contextAt.slice(-2)]);
      }
      const damaged = {
        ...hunk,
        lines: hunk.lines.map((line, i) => {
          if (!damagedAt.has(i)) return line;
          const text = line.text.trim() === "" ? `${indentOf(line.text)}// removed in a later version` : changedLine(line.text, pick, existing);
          return { ...line, text };
        }),
      };
      return { ...base, variant, original: source.content, expected: null, answer: renderDiff(base.path, [damaged]) };
    }

    default:
      return applicableCase([flaw], base, source, pick, stats);
  }
}

/** `perFlaw` cases of every flaw, from files of `sources` picked with `seed`. */
export function buildCorpus(sources: SourceFile[], perFlaw: number, seed: number): { cases: PatchCase[]; stats: CorpusStats } {
  if (sources.length === 0) throw new Error("no source files to build the corpus from");
  const pick = new Picker(createRandom(seed));
  const stats: CorpusStats = { sitesTried: 0, sitesWithRepeatedContext: 0 };
  const cases: PatchCase[] = [];
  for (const flaw of FLAWS) {
    let made = 0;
    for (let attempt = 0; made < perFlaw && attempt < perFlaw * 50; attempt++) {
      const built = caseFor(flaw, made + 1, pick.one(sources), pick, stats);
      if (built) {
        cases.push(built);
        made++;
      }
    }
    if (made < perFlaw) throw new Error(`could only build ${made} of ${perFlaw} cases for ${flaw}`);
  }
  return { cases, stats };
}
