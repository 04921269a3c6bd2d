/**
 * Pure mapping from GitHub objects (webhook payloads and REST responses share
 * these shapes) to store rows. Validation is deliberately shallow: we check
 * the fields we use and keep the rest verbatim in raw_json (see parseWith).
 */
import { z } from "zod";
import type { CiStatus, NewCiRun, NewPrOutcome, PrState } from "../store/schema.js";
import { toIso } from "../time.js";

export const GITHUB_PROVIDER = "github";
export const ACTIONS_PROVIDER = "github-actions";
export const CHECKS_PROVIDER = "github-checks";
/** Check suites of this app are covered by workflow_run already. */
export const ACTIONS_APP_SLUG = "github-actions";

const repository = z.object({ full_name: z.string().min(3) });
const user = z.object({ login: z.string() }).nullable().optional();
const prRef = z.object({ ref: z.string(), sha: z.string(), repo: z.object({ full_name: z.string() }).nullable().optional() });

export const pullRequestSchema = z.object({
  number: z.number().int().positive(),
  title: z.string().nullable().optional(),
  state: z.string(),
  draft: z.boolean().optional(),
  merged: z.boolean().nullable().optional(),
  merged_at: z.string().nullable().optional(),
  closed_at: z.string().nullable().optional(),
  created_at: z.string().nullable().optional(),
  updated_at: z.string().nullable().optional(),
  merge_commit_sha: z.string().nullable().optional(),
  user,
  head: prRef,
  base: prRef,
});

const prNumberRef = z.object({ number: z.number().int() });

export const workflowRunSchema = z.object({
  id: z.number().int(),
  name: z.string().nullable().optional(),
  head_sha: z.string(),
  head_branch: z.string().nullable().optional(),
  event: z.string().nullable().optional(),
  status: z.string().nullable(),
  conclusion: z.string().nullable().optional(),
  workflow_id: z.number().int().nullable().optional(),
  run_attempt: z.number().int().nullable().optional(),
  html_url: z.string().nullable().optional(),
  pull_requests: z.array(prNumberRef).nullable().optional(),
  created_at: z.string().nullable().optional(),
  updated_at: z.string().nullable().optional(),
  run_started_at: z.string().nullable().optional(),
  path: z.string().nullable().optional(),
  head_repository: z.object({ full_name: z.string() }).nullable().optional(),
  head_commit: z.object({ tree_id: z.string().optional() }).nullable().optional(),
});

export const checkSuiteSchema = z.object({
  id: z.number().int(),
  head_sha: z.string(),
  head_branch: z.string().nullable().optional(),
  status: z.string().nullable(),
  conclusion: z.string().nullable().optional(),
  app: z.object({ slug: z.string().nullable().optional(), name: z.string().nullable().optional() }).nullable().optional(),
  pull_requests: z.array(prNumberRef).nullable().optional(),
  created_at: z.string().nullable().optional(),
  updated_at: z.string().nullable().optional(),
  url: z.string().nullable().optional(),
});

export const repositoryPayloadSchema = z.object({ repository: repository });

export type PullRequestPayload = z.infer<typeof pullRequestSchema>;
export type WorkflowRunPayload = z.infer<typeof workflowRunSchema>;
export type CheckSuitePayload = z.infer<typeof checkSuiteSchema>;

/** zod's messages made readable for a delivery row or a CLI line. */
export function describeIssues(error: z.ZodError, what: string): string {
  const issues = error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  return `${what} is malformed: ${issues.join("; ")}`;
}

/**
 * Checks `value` against `schema` and hands back the value itself, every
 * field of it: the schemas check only what fixloop reads (they have no
 * transforms or defaults), and what is stored as raw JSON must be the
 * object as GitHub sent it. So the object schemas strip, which zod checks
 * without copying the fields it does not know (a workflow_run payload has
 * hundreds), and nothing it builds is kept.
 */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new MalformedPayloadError(describeIssues(result.error, what));
  return value as T;
}

export class MalformedPayloadError extends Error {
  override name = "MalformedPayloadError";
}

export function prState(pr: Pick<PullRequestPayload, "state" | "merged" | "merged_at">): PrState {
  if (pr.merged || pr.merged_at) return "merged";
  return pr.state === "closed" ? "closed" : "open";
}

const PR_STATE_RANK: Record<PrState, number> = { open: 0, closed: 1, merged: 2 };

export function prOrderKey(updatedAt: string | null, state: PrState): string {
  return `${updatedAt ?? ""}|${PR_STATE_RANK[state]}`;
}

export function toPrOutcomeRow(repoSlug: string, pr: PullRequestPayload, recordedAt: string): NewPrOutcome {
  const state = prState(pr);
  const updatedAt = toIso(pr.updated_at);
  const headRepo = pr.head.repo?.full_name ?? null;
  return {
    provider: GITHUB_PROVIDER,
    repoSlug,
    prNumber: pr.number,
    title: pr.title ?? "",
    state,
    draft: pr.draft ?? false,
    author: pr.user?.login ?? null,
    headRef: pr.head.ref,
    headSha: pr.head.sha,
    headRepoSlug: headRepo,
    // A deleted fork has no head repo; it was still not this repository.
    isFork: headRepo === null ? true : headRepo.toLowerCase() !== repoSlug.toLowerCase(),
    baseRef: pr.base.ref,
    baseSha: pr.base.sha,
    mergeCommitSha: state === "merged" ? (pr.merge_commit_sha ?? null) : null,
    createdAt: toIso(pr.created_at),
    mergedAt: toIso(pr.merged_at),
    closedAt: toIso(pr.closed_at),
    updatedAt,
    orderKey: prOrderKey(updatedAt, state),
    rawJson: pr,
    recordedAt,
  };
}

/** GitHub's many run states folded onto fixloop's four words; the raw ones are kept beside. */
export function ciStatus(status: string | null | undefined, conclusion: string | null | undefined): CiStatus {
  if (status !== "completed") return "in_progress";
  switch (conclusion) {
    case "success":
    case "neutral":
    case "skipped":
      return "success";
    case "failure":
    case "timed_out":
    case "startup_failure":
      return "failure";
    case "cancelled":
    case "stale":
      return "cancelled";
    default:
      // action_required and unknown conclusions: not finished from the user's point of view.
      return "in_progress";
  }
}

function phase(status: string | null | undefined): number {
  if (status === "completed") return 2;
  if (status === "in_progress") return 1;
  return 0;
}

export function workflowRunOrderKey(runAttempt: number, status: string | null | undefined, updatedAt: string | null): string {
  return `${String(runAttempt).padStart(6, "0")}|${phase(status)}|${updatedAt ?? ""}`;
}

export function checkSuiteOrderKey(status: string | null | undefined, updatedAt: string | null): string {
  // A rerequested suite legitimately goes back to queued, with a newer updated_at.
  return `${updatedAt ?? ""}|${phase(status)}`;
}

function prNumbers(list: { number: number }[] | null | undefined): number[] {
  return [...new Set((list ?? []).map((p) => p.number))].sort((a, b) => a - b);
}

export function toWorkflowRunRow(repoSlug: string, run: WorkflowRunPayload, recordedAt: string): NewCiRun {
  const updatedAt = toIso(run.updated_at);
  const attempt = run.run_attempt ?? 1;
  return {
    provider: ACTIONS_PROVIDER,
    repoSlug,
    runId: String(run.id),
    commitSha: run.head_sha,
    headBranch: run.head_branch ?? null,
    event: run.event ?? null,
    status: ciStatus(run.status, run.conclusion),
    rawStatus: run.status ?? null,
    conclusion: run.conclusion ?? null,
    workflowName: run.name ?? null,
    workflowId: run.workflow_id ?? null,
    appSlug: ACTIONS_APP_SLUG,
    runAttempt: attempt,
    htmlUrl: run.html_url ?? null,
    prNumbers: prNumbers(run.pull_requests),
    startedTs: toIso(run.run_started_at ?? run.created_at),
    completedTs: run.status === "completed" ? updatedAt : null,
    updatedAt,
    orderKey: workflowRunOrderKey(attempt, run.status, updatedAt),
    rawJson: run,
    recordedAt,
  };
}

export function isActionsSuite(suite: CheckSuitePayload): boolean {
  return suite.app?.slug === ACTIONS_APP_SLUG;
}

export function toCheckSuiteRow(repoSlug: string, suite: CheckSuitePayload, recordedAt: string): NewCiRun {
  const updatedAt = toIso(suite.updated_at);
  return {
    provider: CHECKS_PROVIDER,
    repoSlug,
    runId: String(suite.id),
    commitSha: suite.head_sha,
    headBranch: suite.head_branch ?? null,
    event: null,
    status: ciStatus(suite.status, suite.conclusion),
    rawStatus: suite.status ?? null,
    conclusion: suite.conclusion ?? null,
    workflowName: suite.app?.name ?? suite.app?.slug ?? null,
    workflowId: null,
    appSlug: suite.app?.slug ?? null,
    runAttempt: 1,
    htmlUrl: null,
    prNumbers: prNumbers(suite.pull_requests),
    startedTs: toIso(suite.created_at),
    completedTs: suite.status === "completed" ? updatedAt : null,
    updatedAt,
    orderKey: checkSuiteOrderKey(suite.status, updatedAt),
    rawJson: suite,
    recordedAt,
  };
}
