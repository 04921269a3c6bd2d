/**
 * One failure, one fix: the jobs of a matrix (or parallel jobs) that fail at
 * the same step with the same first error line are one failure. Their logs
 * say the same thing; the most informative one stands for the group and the
 * others are only named. Pure: takes the per-job contexts, returns groups.
 */
import type { FailureSummary } from "../store/schema.js";
import type { FailureContext } from "./context/index.js";

/** Line numbers, durations, hex ids and temp paths differ between two runs of the same failure. */
export function normaliseErrorLine(line: string | undefined): string {
  return (line ?? "").replace(/0x[0-9a-f]+|\b[0-9a-f]{7,40}\b|\d+(\.\d+)?(ms|s)\b|\d+/gi, "#").replace(/\s+/g, " ").trim();
}

export interface JobFailure<J> {
  job: J;
  /** The job's own failing step (from the API), when known; else the log's. */
  failingStep: string | null;
  context: FailureContext;
}

export interface FailureGroup<J> {
  /** The job whose context stands for the group. */
  representative: JobFailure<J>;
  /** The other jobs that failed the same way. */
  others: JobFailure<J>[];
}

/** Same failing step and same normalised first error line; null when a job has no error line to compare. */
export function sameFailureKey(failure: Pick<JobFailure<unknown>, "failingStep" | "context">): string | null {
  const first = normaliseErrorLine(failure.context.errorLines[0]);
  if (first === "") return null;
  return `${failure.failingStep ?? failure.context.failingStep ?? ""}\u0000${failure.context.class}\u0000${first}`;
}

/** How much a context tells: error lines and file references first, then the length of the excerpt. */
export function informativeness(context: FailureContext): number {
  return context.errorLines.length * 1_000_000 + context.files.length * 10_000 + Math.min(context.context.length, 9_999);
}

/**
 * Groups the failed jobs by `sameFailureKey`, biggest group first (ties keep
 * the jobs' order). Jobs without an error line stay on their own.
 */
export function groupSameFailures<J>(failures: JobFailure<J>[]): FailureGroup<J>[] {
  const groups = new Map<string, JobFailure<J>[]>();
  failures.forEach((failure, index) => {
    const key = sameFailureKey(failure) ?? `\u0001${index}`;
    groups.set(key, [...(groups.get(key) ?? []), failure]);
  });
  return [...groups.values()]
    .map((members) => {
      // The first of the most informative keeps its place: ties go to the earlier job.
      const representative = members.reduce((best, f) => (informativeness(f.context) > informativeness(best.context) ? f : best));
      return { representative, others: members.filter((m) => m !== representative) };
    })
    .sort((a, b) => b.others.length - a.others.length);
}

/** What an attempt keeps of its failure: for `/fixloop explain`, the summary comment and stale-commit checks. */
export function failureSummaryOf(failure: { context: FailureContext; jobs: { name: string }[]; sameFailureJobs: { name: string }[] }): FailureSummary {
  return {
    failingStep: failure.context.failingStep,
    firstErrorLine: failure.context.errorLines[0] ?? null,
    job: failure.jobs[0]?.name ?? null,
    sameFailureJobs: failure.sameFailureJobs.map((j) => j.name),
  };
}
