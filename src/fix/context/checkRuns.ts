/**
 * Failure context from check runs of CI systems other than Actions (or when
 * logs are not available): the run's output (title, summary, text) and its
 * annotations give the same FailureContext shape as a job log.
 */
import { LogAnalyzer } from "./analyzer.js";
import { cleanLine } from "./lines.js";
import { mergeFailureContexts } from "./merge.js";
import { DEFAULT_BUDGET_TOKENS, DEFAULT_CHARS_PER_TOKEN, type ContextOptions, type FailureContext } from "./types.js";

export interface CheckRunAnnotation {
  path: string;
  start_line: number;
  end_line?: number;
  annotation_level: string | null;
  message: string | null;
  title?: string | null;
}

export interface CheckRunInput {
  name: string;
  conclusion: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  annotations: CheckRunAnnotation[];
}

const FAILED_CONCLUSIONS = new Set(["failure", "timed_out", "cancelled", "action_required", "startup_failure"]);
/** Annotation lines of an annotation message kept in the excerpt. */
const ANNOTATION_MESSAGE_LINES = 6;
/** GitHub puts job-level messages ("Process completed with exit code 1.") on the path `.github`. */
const JOB_LEVEL_PATH = /^\.github\/?$|^$/;

function feedText(analyzer: LogAnalyzer, text: string | null, minScore = 0): void {
  if (!text) return;
  for (const raw of text.split("\n")) analyzer.pushLine(cleanLine(raw), minScore);
}

const LEVEL_SCORE: Record<string, number> = { failure: 3, warning: 1, notice: 0 };

/** The context of one check run. */
export function contextFromCheckRun(run: CheckRunInput, options: ContextOptions = {}): FailureContext {
  const analyzer = new LogAnalyzer({ ...options, format: "github", conclusion: options.conclusion ?? run.conclusion });
  analyzer.startStep(run.name);
  const levelScore = (a: CheckRunAnnotation) => LEVEL_SCORE[a.annotation_level ?? ""] ?? 0;
  const annotations = [...run.annotations].sort((a, b) => levelScore(b) - levelScore(a));
  for (const annotation of annotations) {
    const score = levelScore(annotation);
    if (score === 0) continue;
    const messageLines = (annotation.message ?? "").split("\n").slice(0, ANNOTATION_MESSAGE_LINES);
    const title = annotation.title ? `${annotation.title}: ` : "";
    if (JOB_LEVEL_PATH.test(annotation.path)) {
      // Job-level messages read like the log's own `##[error]` lines (exit code, cancellation, timeout).
      const [first = "", ...rest] = messageLines;
      if (score >= 3) analyzer.pushLine(`##[error]${title}${cleanLine(first)}`);
      else analyzer.pushLine(`${title}${cleanLine(first)}`, score);
      for (const line of rest) analyzer.pushLine(cleanLine(line));
      continue;
    }
    analyzer.addRef(annotation.path, annotation.start_line > 0 ? annotation.start_line : null);
    analyzer.pushLine(`${annotation.path}:${annotation.start_line}: ${annotation.annotation_level}: ${title}${cleanLine(messageLines[0] ?? "")}`, score);
    for (const line of messageLines.slice(1)) analyzer.pushLine(`    ${cleanLine(line)}`);
  }
  feedText(analyzer, run.output.title, 2);
  feedText(analyzer, run.output.summary);
  feedText(analyzer, run.output.text);
  return analyzer.finish(0);
}

/**
 * The context of the failed check runs of a commit, merged within one budget.
 * When none failed, all runs are used (the caller asked for a reason).
 */
export function contextFromCheckRuns(runs: CheckRunInput[], options: ContextOptions = {}): FailureContext {
  const failed = runs.filter((run) => run.conclusion !== null && FAILED_CONCLUSIONS.has(run.conclusion));
  const chosen = failed.length > 0 ? failed : runs;
  const contexts = chosen.map((run) => contextFromCheckRun(run, options));
  return mergeFailureContexts(contexts, options.budgetTokens ?? DEFAULT_BUDGET_TOKENS, options.charsPerToken ?? DEFAULT_CHARS_PER_TOKEN);
}
