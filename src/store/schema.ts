/**
 * The fixloop store: one Drizzle schema for the embedded libSQL file and for a
 * remote libSQL/Turso database alike. Timestamps are ISO-8601 UTC strings
 * (`toIso`), so they sort and compare as text. JSON columns hold raw payloads
 * for later analysis; tokens and secrets are never written here.
 */
import { sql } from "drizzle-orm";
import { customType, index, integer, primaryKey, real, sqliteTable, sqliteView, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const DELIVERY_STATUSES = ["received", "processed", "failed", "ignored"] as const;

/**
 * One row per webhook delivery (X-GitHub-Delivery): what it is and how its
 * processing went. A redelivery is recognised here. The body lives apart in
 * `delivery_bodies`, written once: the inbox updates this row two or three
 * times per delivery (lease, settle), and SQLite rewrites a whole row on every
 * update, so a 20 KB body kept here would be rewritten each time.
 */
export const deliveryRecords = sqliteTable(
  "delivery_records",
  {
    id: text("id").primaryKey(),
    event: text("event").notNull(),
    action: text("action"),
    repoSlug: text("repo_slug"),
    installationId: integer("installation_id"),
    receivedAt: text("received_at").notNull(),
    /** received → processed | failed | ignored */
    status: text("status", { enum: DELIVERY_STATUSES }).notNull(),
    error: text("error"),
    attempts: integer("attempts").notNull().default(1),
    /** When the current processing began: a claim left behind by a crash can be taken over later. */
    claimedAt: text("claimed_at").notNull(),
    processedAt: text("processed_at"),
    /** Inbox: a processor holds the row until then; null when nobody does. */
    leaseUntil: text("lease_until"),
    /** Inbox: a failed try waits until then before the next; null when due now. */
    nextAttemptAt: text("next_attempt_at"),
    /** What processing said besides its status ("fix job 12 enqueued", "stale event: …"). */
    note: text("note"),
    /** The request headers worth keeping (hook id, installation target), as received. */
    headers: text("headers", { mode: "json" }).$type<Record<string, string>>(),
  },
  (t) => [index("delivery_records_received_at_idx").on(t.receivedAt), index("delivery_records_status_idx").on(t.status)],
);

/** The body of each delivery exactly as received, stored once (see `deliveryRecords`). */
export const deliveryBodies = sqliteTable("delivery_bodies", {
  id: text("id").primaryKey(),
  body: text("body").notNull(),
});

/**
 * A delivery's body as stored, parsed. The ingress stores a signed body
 * without parsing it (the processor does), so one that is not JSON can be
 * stored, failed as malformed; it reads as its text instead of breaking the
 * read of its row.
 */
const storedBody = customType<{ data: unknown; driverData: string }>({
  dataType: () => "text",
  fromDriver(value) {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  },
});

/**
 * What readers see: a delivery with its payload. A view over the two tables
 * (created by migration 0006; drizzle-kit leaves `existing()` views alone),
 * so queries read one row per delivery as before. Writes go to the tables,
 * through src/inbox/rows.ts only.
 */
export const deliveries = sqliteView("deliveries", {
  id: text("id").notNull(),
  event: text("event").notNull(),
  action: text("action"),
  repoSlug: text("repo_slug"),
  installationId: integer("installation_id"),
  receivedAt: text("received_at").notNull(),
  payload: storedBody("payload").notNull(),
  status: text("status", { enum: DELIVERY_STATUSES }).notNull(),
  error: text("error"),
  attempts: integer("attempts").notNull(),
  claimedAt: text("claimed_at").notNull(),
  processedAt: text("processed_at"),
  leaseUntil: text("lease_until"),
  nextAttemptAt: text("next_attempt_at"),
  note: text("note"),
  headers: text("headers", { mode: "json" }).$type<Record<string, string>>(),
}).existing();

export const PR_STATES = ["open", "merged", "closed"] as const;
export type PrState = (typeof PR_STATES)[number];

export const prOutcomes = sqliteTable(
  "pr_outcomes",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    provider: text("provider").notNull(),
    repoSlug: text("repo_slug").notNull(),
    prNumber: integer("pr_number").notNull(),
    title: text("title").notNull().default(""),
    state: text("state", { enum: PR_STATES }).notNull(),
    draft: integer("draft", { mode: "boolean" }).notNull().default(false),
    author: text("author"),
    headRef: text("head_ref"),
    headSha: text("head_sha"),
    headRepoSlug: text("head_repo_slug"),
    isFork: integer("is_fork", { mode: "boolean" }).notNull().default(false),
    baseRef: text("base_ref"),
    baseSha: text("base_sha"),
    mergeCommitSha: text("merge_commit_sha"),
    createdAt: text("created_at"),
    mergedAt: text("merged_at"),
    closedAt: text("closed_at"),
    revertedAt: text("reverted_at"),
    revertedBy: text("reverted_by"),
    /** GitHub's own `updated_at`: the ordering key that keeps out-of-order events from moving a row back. */
    updatedAt: text("updated_at"),
    /** Sortable progress key (updated_at + state rank): an event whose key is lower is stale and ignored. */
    orderKey: text("order_key").notNull().default(""),
    linkedSessionIds: text("linked_session_ids", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    downstreamTouchCount: integer("downstream_touch_count").notNull().default(0),
    lastDownstreamTouchTs: text("last_downstream_touch_ts"),
    rawJson: text("raw_json", { mode: "json" }).notNull(),
    recordedAt: text("recorded_at").notNull(),
  },
  (t) => [
    uniqueIndex("pr_outcomes_provider_repo_pr_uq").on(t.provider, t.repoSlug, t.prNumber),
    index("pr_outcomes_head_sha_idx").on(t.headSha),
    index("pr_outcomes_merge_commit_idx").on(t.mergeCommitSha),
    index("pr_outcomes_repo_updated_idx").on(t.repoSlug, t.updatedAt),
  ],
);

export const CI_STATUSES = ["success", "failure", "cancelled", "in_progress"] as const;
export type CiStatus = (typeof CI_STATUSES)[number];

export const ciRuns = sqliteTable(
  "ci_runs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** 'github-actions' (workflow runs) | 'github-checks' (check suites of other CI apps) */
    provider: text("provider").notNull(),
    repoSlug: text("repo_slug").notNull(),
    runId: text("run_id").notNull(),
    commitSha: text("commit_sha").notNull(),
    headBranch: text("head_branch"),
    event: text("event"),
    status: text("status", { enum: CI_STATUSES }).notNull(),
    /** GitHub's raw status (queued/in_progress/completed…) and conclusion, kept verbatim. */
    rawStatus: text("raw_status"),
    conclusion: text("conclusion"),
    workflowName: text("workflow_name"),
    workflowId: integer("workflow_id"),
    appSlug: text("app_slug"),
    runAttempt: integer("run_attempt").notNull().default(1),
    htmlUrl: text("html_url"),
    prNumbers: text("pr_numbers", { mode: "json" }).$type<number[]>().notNull().default(sql`'[]'`),
    startedTs: text("started_ts"),
    completedTs: text("completed_ts"),
    updatedAt: text("updated_at"),
    /** Sortable progress key (attempt, phase, updated_at): an event whose key is lower is stale and ignored. */
    orderKey: text("order_key").notNull().default(""),
    /**
     * The run or suite object as the source sent it. Null when it is read from
     * the delivery that carried it instead (`rawDeliveryId` + `rawPath`): the
     * body is stored once, in `delivery_bodies`. Read it with `ciRunRawJson`.
     */
    rawJson: text("raw_json", { mode: "json" }),
    /** The delivery whose body holds this row's raw object, and where in it (a JSON path such as `$.workflow_run`). */
    rawDeliveryId: text("raw_delivery_id"),
    rawPath: text("raw_path"),
    recordedAt: text("recorded_at").notNull(),
  },
  (t) => [
    uniqueIndex("ci_runs_provider_run_uq").on(t.provider, t.runId),
    index("ci_runs_commit_sha_idx").on(t.commitSha),
    index("ci_runs_repo_branch_idx").on(t.repoSlug, t.headBranch),
  ],
);

/** Conditional-request cache for backfill: an unchanged re-run costs no rate limit. */
export const httpCache = sqliteTable("http_cache", {
  key: text("key").primaryKey(),
  etag: text("etag"),
  lastModified: text("last_modified"),
  body: text("body", { mode: "json" }),
  fetchedAt: text("fetched_at").notNull(),
});

export const JOB_STATUSES = ["queued", "running", "done", "failed", "dead", "skipped"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** The durable queue on one machine: leases make a crashed worker's job come back. */
export const jobs = sqliteTable(
  "jobs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    kind: text("kind").notNull(),
    /** Idempotency key: enqueueing the same key twice yields one job. */
    dedupKey: text("dedup_key"),
    payload: text("payload", { mode: "json" }).notNull(),
    status: text("status", { enum: JOB_STATUSES }).notNull().default("queued"),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull().default(5),
    runAfter: text("run_after").notNull(),
    leaseOwner: text("lease_owner"),
    leaseExpiresAt: text("lease_expires_at"),
    lastError: text("last_error"),
    result: text("result", { mode: "json" }),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("jobs_dedup_key_uq").on(t.dedupKey),
    index("jobs_status_run_after_idx").on(t.status, t.runAfter),
  ],
);

export const FIX_STATUSES = [
  "queued",
  "collecting",
  "prompting",
  "patching",
  "publishing",
  "awaiting_ci",
  "ci_passed",
  "ci_failed",
  "skipped",
  "failed",
] as const;
export type FixStatus = (typeof FIX_STATUSES)[number];

/** One proposed fix: the unit of attribution (a "session"). */
export const fixAttempts = sqliteTable(
  "fix_attempts",
  {
    id: text("id").primaryKey(),
    repoSlug: text("repo_slug").notNull(),
    installationId: integer("installation_id"),
    /** The first red run of the chain; later attempts share it. */
    chainId: text("chain_id").notNull(),
    attemptNumber: integer("attempt_number").notNull().default(1),
    triggerProvider: text("trigger_provider").notNull(),
    triggerRunId: text("trigger_run_id").notNull(),
    workflowName: text("workflow_name"),
    headSha: text("head_sha").notNull(),
    headBranch: text("head_branch"),
    status: text("status", { enum: FIX_STATUSES }).notNull().default("queued"),
    reason: text("reason"),
    failureClass: text("failure_class"),
    /** The green run whose log of the same job was diffed against the failing one; null: no baseline used. */
    baselineRunId: text("baseline_run_id"),
    promptVersion: text("prompt_version"),
    inferenceId: text("inference_id"),
    episodeId: text("episode_id"),
    variant: text("variant"),
    model: text("model"),
    inputTokens: integer("input_tokens"),
    outputTokens: integer("output_tokens"),
    diff: text("diff"),
    explanation: text("explanation"),
    prBody: text("pr_body"),
    fixBranch: text("fix_branch"),
    fixCommitSha: text("fix_commit_sha"),
    prNumber: integer("pr_number"),
    changedFiles: text("changed_files", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    /** Who asked for this attempt with a comment command (`/fixloop fix`, `/fixloop retry`); null when CI started it. */
    requestedBy: text("requested_by"),
    /** The person's hint from `/fixloop retry <hint>`, redacted and bounded, as the model saw it. */
    hint: text("hint"),
    /** Repository instruction files (AGENTS.md, CLAUDE.md…) whose text went into the prompt. */
    instructionFiles: text("instruction_files", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    /** What failed, in short: failing step, first error line, the jobs that failed the same way. */
    failureSummary: text("failure_summary", { mode: "json" }).$type<FailureSummary>(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("fix_attempts_chain_idx").on(t.chainId),
    index("fix_attempts_repo_sha_idx").on(t.repoSlug, t.headSha),
    index("fix_attempts_fix_branch_idx").on(t.repoSlug, t.fixBranch),
    // Every completed run asks which fix PRs on its branch still await their CI (src/fix/moved-on.ts): only
    // those rows are indexed, so the question does not scan every attempt ever made.
    index("fix_attempts_awaiting_ci_idx").on(t.headBranch).where(sql`${t.status} = 'awaiting_ci'`),
  ],
);

/** The failure an attempt works on, kept for `/fixloop explain`, the summary comment and stale-commit checks. */
export interface FailureSummary {
  failingStep: string | null;
  firstErrorLine: string | null;
  /** The job whose log the context came from. */
  job: string | null;
  /** Other jobs of the run that failed with the same step and first error line (a matrix). */
  sameFailureJobs: string[];
}

export const COMMAND_NAMES = ["fix", "retry", "stop", "explain"] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];
export const COMMAND_STATUSES = ["received", "done", "refused", "failed"] as const;

/**
 * One row per comment that carried a `/fixloop` command: the comment id makes
 * a redelivered or replayed comment a no-op, whatever its delivery id.
 */
export const commentCommands = sqliteTable(
  "comment_commands",
  {
    commentId: integer("comment_id").primaryKey(),
    repoSlug: text("repo_slug").notNull(),
    installationId: integer("installation_id"),
    prNumber: integer("pr_number").notNull(),
    author: text("author").notNull(),
    command: text("command", { enum: COMMAND_NAMES }).notNull(),
    /** `/fixloop retry <hint>`: the hint as written (bounded); null for other commands. */
    hint: text("hint"),
    /** Length of the hint as written; above MAX_HINT_CHARS the hint is not kept and the command is refused. */
    hintChars: integer("hint_chars").notNull().default(0),
    deliveryId: text("delivery_id").notNull(),
    status: text("status", { enum: COMMAND_STATUSES }).notNull().default("received"),
    /** What came of it, in a sentence (shown by `/fixloop explain` and the jobs list). */
    outcome: text("outcome"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [index("comment_commands_repo_pr_idx").on(t.repoSlug, t.prNumber)],
);

/** `/fixloop stop`: no more attempts for a PR (scope "pr", key = number) or a fix chain (scope "chain", key = chain id). */
export const fixStops = sqliteTable(
  "fix_stops",
  {
    repoSlug: text("repo_slug").notNull(),
    scope: text("scope", { enum: ["pr", "chain"] }).notNull(),
    key: text("key").notNull(),
    stoppedBy: text("stopped_by").notNull(),
    commentId: integer("comment_id"),
    createdAt: text("created_at").notNull(),
    /** Set when `/fixloop fix` starts work again. */
    liftedAt: text("lifted_at"),
  },
  (t) => [primaryKey({ columns: [t.repoSlug, t.scope, t.key] })],
);

/** The latest pushed head of each branch: a fix for an older commit of the branch is stale. */
export const branchHeads = sqliteTable(
  "branch_heads",
  {
    repoSlug: text("repo_slug").notNull(),
    branch: text("branch").notNull(),
    sha: text("sha").notNull(),
    /** The push's `before`: a late delivery of that older push must not move the head back. */
    beforeSha: text("before_sha"),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.repoSlug, t.branch] })],
);

export const FEEDBACK_STATUSES = ["pending", "sent", "dead"] as const;

/**
 * The outbox to TensorZero /feedback: one row per (target, metric, dedup key).
 * The dedup key is '' for metrics sent once per target; kinds sent several times
 * per target (one `comment` per review comment) carry the source's id there.
 */
export const feedback = sqliteTable(
  "feedback",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    attemptId: text("attempt_id"),
    metricName: text("metric_name").notNull(),
    dedupKey: text("dedup_key").notNull().default(""),
    /** 'inference' | 'episode' */
    targetType: text("target_type").notNull(),
    targetId: text("target_id").notNull(),
    value: text("value", { mode: "json" }).notNull(),
    tags: text("tags", { mode: "json" }).$type<Record<string, string>>().notNull().default(sql`'{}'`),
    status: text("status", { enum: FEEDBACK_STATUSES }).notNull().default("pending"),
    tries: integer("tries").notNull().default(0),
    nextTryAt: text("next_try_at").notNull(),
    /** A sender's claim: while it lies in the future no other sender takes the row; it is also the claim's token. */
    claimedUntil: text("claimed_until"),
    /** First "does not exist" answer since the last success or retry: bounds how long a missing target is waited for. */
    targetMissingSince: text("target_missing_since"),
    lastError: text("last_error"),
    gatewayFeedbackId: text("gateway_feedback_id"),
    createdAt: text("created_at").notNull(),
    sentAt: text("sent_at"),
  },
  (t) => [
    uniqueIndex("feedback_target_metric_dedup_uq").on(t.targetId, t.metricName, t.dedupKey),
    index("feedback_status_next_idx").on(t.status, t.nextTryAt),
  ],
);

export const commitLinks = sqliteTable(
  "commit_links",
  {
    commitSha: text("commit_sha").notNull(),
    repoSlug: text("repo_slug").notNull(),
    sessionId: text("session_id").notNull(),
    linkType: text("link_type", { enum: ["authored", "co-authored", "inferred-by-touch"] }).notNull(),
    confidence: real("confidence").notNull(),
    evidenceJson: text("evidence_json", { mode: "json" }).notNull(),
    establishedTs: text("established_ts").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.commitSha, t.repoSlug, t.sessionId] }),
    index("commit_links_session_idx").on(t.sessionId),
    index("commit_links_repo_commit_idx").on(t.repoSlug, t.commitSha),
  ],
);

/**
 * Commits on a merged fix's base branch that touched the fix's files within
 * the outcome window: one row per (fix attempt, commit), so a replayed push
 * or a backfill never counts a commit twice. pr_outcomes.downstream_touch_count
 * is recomputed from these rows.
 */
export const downstreamTouches = sqliteTable(
  "downstream_touches",
  {
    attemptId: text("attempt_id").notNull(),
    commitSha: text("commit_sha").notNull(),
    repoSlug: text("repo_slug").notNull(),
    prNumber: integer("pr_number").notNull(),
    committedAt: text("committed_at").notNull(),
    files: text("files", { mode: "json" }).$type<string[]>().notNull(),
    recordedAt: text("recorded_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.attemptId, t.commitSha] }), index("downstream_touches_repo_pr_idx").on(t.repoSlug, t.prNumber)],
);

/**
 * Where each incremental periodic sweep stopped (name → position, a small JSON
 * value the sweep defines): the next run starts after it, so a run looks only
 * at what changed since, and a run cut short by its deadline loses nothing.
 */
export const periodicCursors = sqliteTable("periodic_cursors", {
  name: text("name").primaryKey(),
  position: text("position", { mode: "json" }).notNull(),
  updatedAt: text("updated_at").notNull(),
});

export type Delivery = typeof deliveries.$inferSelect;
export type PrOutcome = typeof prOutcomes.$inferSelect;
export type NewPrOutcome = typeof prOutcomes.$inferInsert;
export type CiRun = typeof ciRuns.$inferSelect;
export type NewCiRun = typeof ciRuns.$inferInsert;
export type Job = typeof jobs.$inferSelect;
export type FixAttempt = typeof fixAttempts.$inferSelect;
export type FeedbackRow = typeof feedback.$inferSelect;
export type CommitLink = typeof commitLinks.$inferSelect;
export type CommentCommand = typeof commentCommands.$inferSelect;
