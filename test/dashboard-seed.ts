/**
 * Seeds fix attempts, feedback rows and jobs straight into the tables, the way
 * the pipeline and the outcome tracker leave them, for the dashboard tests.
 */
import { randomUUID } from "node:crypto";
import type { Store } from "../src/store/db.js";
import { readFileSync } from "node:fs";
import { ciRuns, commitLinks, deliveryBodies, deliveryRecords, feedback, fixAttempts, jobs, prOutcomes, type FixStatus, type JobStatus } from "../src/store/schema.js";
import { eq } from "drizzle-orm";
import { isMetricName, METRICS, metricLevel, type MetricName } from "../src/tensorzero/metrics.js";

export const VARIANTS = ["gpt_5_mini_v1", "claude_sonnet_4_5_v1"] as const;

export interface AttemptSeed {
  repo: string;
  variant: string | null;
  status: FixStatus;
  createdAt: Date;
  reason?: string | null;
  prNumber?: number | null;
  runId?: string;
  workflowName?: string | null;
  attemptNumber?: number;
  /** Feedback rows for this attempt, recorded `outcomeDelayMs` after it was created. */
  outcomes?: Partial<Record<MetricName, boolean>>;
  outcomeDelayMs?: number;
  /** With a PR: a diff, a fix commit, the PR row, the red trigger run and the fix commit's run (green when CI passed). */
  story?: boolean;
}

const sampleDiff = (file: string) =>
  [`--- a/${file}`, `+++ b/${file}`, "@@ -1,3 +1,4 @@", " export function parseWidgets(input: string): string[] {", '+  if (input.trim() === "") return [];', '   return input.split(",").map((s) => s.trim());', " }"].join("\n");

export async function seedAttempt(store: Store, seed: AttemptSeed): Promise<string> {
  const id = randomUUID();
  const at = seed.createdAt.toISOString();
  const runId = seed.runId ?? String(9_000_000 + Math.floor(seed.createdAt.getTime() / 1000) % 1_000_000);
  await store.db.insert(fixAttempts).values({
    id,
    repoSlug: seed.repo,
    chainId: `${seed.repo}@${runId}`,
    attemptNumber: seed.attemptNumber ?? 1,
    triggerProvider: "github-actions",
    triggerRunId: runId,
    workflowName: seed.workflowName === undefined ? "CI" : seed.workflowName,
    headSha: "a".repeat(40),
    headBranch: "main",
    status: seed.status,
    reason: seed.reason ?? null,
    variant: seed.variant,
    inferenceId: seed.variant ? randomUUID() : null,
    episodeId: randomUUID(),
    prNumber: seed.prNumber ?? null,
    fixBranch: seed.prNumber ? `fixloop/run-${runId}` : null,
    createdAt: at,
    updatedAt: at,
  });
  const recordedAt = new Date(seed.createdAt.getTime() + (seed.outcomeDelayMs ?? 2 * 3600_000));
  if (seed.story) await seedStory(store, id, seed, runId, recordedAt);
  for (const [metric, value] of Object.entries(seed.outcomes ?? {}) as [MetricName, boolean][]) {
    await seedFeedback(store, { attemptId: id, metric, value, at: recordedAt });
  }
  return id;
}

/** What happened around an attempt, as the ingest and the pipeline would have recorded it. */
async function seedStory(store: Store, id: string, seed: AttemptSeed, runId: string, recordedAt: Date): Promise<void> {
  const at = seed.createdAt.toISOString();
  const later = recordedAt.toISOString();
  const runRow = (runIdValue: string, sha: string, branch: string, status: "success" | "failure", prNumbers: number[]) => ({
    provider: "github-actions",
    repoSlug: seed.repo,
    runId: runIdValue,
    commitSha: sha,
    headBranch: branch,
    event: "push",
    status,
    rawStatus: "completed",
    conclusion: status,
    workflowName: seed.workflowName ?? "CI",
    htmlUrl: `https://github.com/${seed.repo}/actions/runs/${runIdValue}`,
    prNumbers,
    startedTs: at,
    completedTs: at,
    updatedAt: at,
    rawJson: {},
    recordedAt: at,
  });
  await store.db.insert(ciRuns).values(runRow(runId, "a".repeat(40), "main", "failure", [])).onConflictDoNothing();
  if (!seed.prNumber) return;
  const fixSha = id.replace(/-/g, "").slice(0, 32).padEnd(40, "0");
  const fixBranch = `fixloop/run-${runId}`;
  const diff = sampleDiff("src/parser.ts");
  await store.db.update(fixAttempts).set({ diff, fixCommitSha: fixSha, changedFiles: ["src/parser.ts"], explanation: "An empty input split into one empty widget; return none.", promptVersion: "fix-v3", model: "gpt-5-mini", inputTokens: 5120, outputTokens: 230, failureSummary: { failingStep: "Run npm test", firstErrorLine: "AssertionError: expected [ '' ] to deeply equal []", job: "test (20.x)", sameFailureJobs: ["test (22.x)"] } }).where(eq(fixAttempts.id, id));
  const ciPassed = seed.outcomes?.[METRICS.ciPassed];
  const merged = seed.outcomes?.[METRICS.prMerged];
  if (ciPassed !== undefined) await store.db.insert(ciRuns).values(runRow(String(Number(runId) + 1), fixSha, fixBranch, ciPassed ? "success" : "failure", [seed.prNumber])).onConflictDoNothing();
  await store.db
    .insert(prOutcomes)
    .values({
      provider: "github",
      repoSlug: seed.repo,
      prNumber: seed.prNumber,
      title: `fixloop: fix ${seed.workflowName ?? "CI"} on main (run ${runId})`,
      state: merged ? "merged" : merged === false ? "closed" : "open",
      draft: !merged,
      author: "fixloop[bot]",
      headRef: fixBranch,
      headSha: fixSha,
      baseRef: "main",
      baseSha: "a".repeat(40),
      mergeCommitSha: merged ? fixSha.replace(/0/g, "1") : null,
      createdAt: at,
      mergedAt: merged ? later : null,
      closedAt: merged !== undefined ? later : null,
      revertedAt: seed.outcomes?.[METRICS.prReverted] ? later : null,
      updatedAt: later,
      linkedSessionIds: [id],
      rawJson: {},
      recordedAt: at,
    })
    .onConflictDoNothing();
  await store.db.insert(commitLinks).values({ commitSha: fixSha, repoSlug: seed.repo, sessionId: id, linkType: "authored", confidence: 1, evidenceJson: { via: "fix-commit" }, establishedTs: at }).onConflictDoNothing();
}

export async function seedDelivery(
  store: Store,
  row: { id: string; event: string; payload: Record<string, unknown>; status: "received" | "processed" | "failed" | "ignored"; at: Date; error?: string; note?: string; attempts?: number },
): Promise<void> {
  const at = row.at.toISOString();
  const repository = row.payload.repository as { full_name?: string } | undefined;
  // As the inbox stores one: the record, and the body once beside it (src/inbox/rows.ts).
  await store.db.insert(deliveryRecords).values({
    id: row.id,
    event: row.event,
    action: typeof row.payload.action === "string" ? row.payload.action : null,
    repoSlug: repository?.full_name ?? null,
    installationId: null,
    receivedAt: at,
    status: row.status,
    error: row.error ?? null,
    note: row.note ?? null,
    attempts: row.attempts ?? 1,
    claimedAt: at,
    processedAt: row.status === "received" ? null : at,
  });
  await store.db.insert(deliveryBodies).values({ id: row.id, body: JSON.stringify(row.payload) });
}

export async function seedFeedback(
  store: Store,
  row: { attemptId: string | null; metric: string; value: unknown; at: Date; targetId?: string; dedupKey?: string; status?: "pending" | "sent" | "dead" },
): Promise<void> {
  const at = row.at.toISOString();
  await store.db.insert(feedback).values({
    attemptId: row.attemptId,
    metricName: row.metric,
    ...(row.dedupKey === undefined ? {} : { dedupKey: row.dedupKey }),
    targetType: isMetricName(row.metric) ? metricLevel(row.metric) : "inference",
    targetId: row.targetId ?? randomUUID(),
    value: row.value,
    status: row.status ?? "sent",
    nextTryAt: at,
    createdAt: at,
    sentAt: row.status === "pending" ? null : at,
  });
}

export async function seedJob(
  store: Store,
  seed: { kind: string; status: JobStatus; payload?: unknown; lastError?: string | null; attempts?: number; at: Date },
): Promise<number> {
  const at = seed.at.toISOString();
  const [row] = await store.db
    .insert(jobs)
    .values({
      kind: seed.kind,
      payload: seed.payload ?? {},
      status: seed.status,
      attempts: seed.attempts ?? 5,
      maxAttempts: 5,
      runAfter: at,
      lastError: seed.lastError ?? null,
      createdAt: at,
      updatedAt: at,
    })
    .returning({ id: jobs.id });
  return row.id;
}

/** What a realistic seed put in, tallied from the plan itself (not from SQL). */
export interface SeedTally {
  attempts: number;
  perVariant: Record<string, { attempts: number; outcomes: Record<MetricName, { hits: number; total: number }> }>;
  failedJobIds: number[];
  /** A delivery that failed (its handler broke) and processes when replayed. */
  failedDeliveryId: string;
  /** Attempts created on each UTC day. */
  openedByDay: Record<string, number>;
}

/** A small deterministic random source (mulberry32), so every run seeds the same set. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const REPOS = ["acme/widgets", "acme/api-server", "octo-org/docs-site", "octo-org/billing"];
const WORKFLOWS = ["CI", "test", "lint", "build-and-test"];

/**
 * A few dozen attempts over the two weeks before `now`, across two variants
 * (plus infra skips without one), with the feedback a real run would leave,
 * and a couple of failed and dead jobs with errors.
 */
export async function seedRealistic(store: Store, now: Date, count = 42): Promise<SeedTally> {
  const random = seededRandom(20_240_501);
  const tally: SeedTally = { attempts: 0, perVariant: {}, failedJobIds: [], openedByDay: {}, failedDeliveryId: "8d1e5a40-0f3b-11f1-9a6e-failed000001" };
  const variantTally = (variant: string) =>
    (tally.perVariant[variant] ??= {
      attempts: 0,
      outcomes: Object.fromEntries(Object.values(METRICS).map((m) => [m, { hits: 0, total: 0 }])) as Record<MetricName, { hits: number; total: number }>,
    });
  let pr = 300;
  for (let i = 0; i < count; i++) {
    // Spread over 14 days, newest last, at working hours.
    const daysAgo = Math.floor(((count - 1 - i) / count) * 14);
    const createdAt = new Date(now.getTime() - daysAgo * 86_400_000 - Math.floor(random() * 8 + 1) * 3600_000);
    const repo = REPOS[Math.floor(random() * REPOS.length)];
    const workflowName = WORKFLOWS[Math.floor(random() * WORKFLOWS.length)];
    const roll = random();
    // The Claude variant does a little better, so the two cards differ.
    const variant = roll < 0.1 ? null : VARIANTS[random() < 0.5 ? 0 : 1];
    const edge = variant === "claude_sonnet_4_5_v1" ? 0.12 : 0;
    let seed: AttemptSeed;
    if (variant === null) {
      seed = { repo, variant, status: "skipped", createdAt, workflowName, reason: "infra failure: the runner lost communication with the server" };
    } else if (random() < 0.15 - edge / 2) {
      seed = { repo, variant, status: "failed", createdAt, workflowName, reason: "patch refused: hunk 2 of src/parser.ts does not match the file", outcomes: { [METRICS.patchApplied]: false } };
    } else {
      const prNumber = pr++;
      const ciPassed = random() < 0.6 + edge;
      const recent = daysAgo < 1;
      if (recent && random() < 0.5) {
        seed = { repo, variant, status: "awaiting_ci", createdAt, workflowName, prNumber, outcomes: { [METRICS.patchApplied]: true } };
      } else if (!ciPassed) {
        seed = { repo, variant, status: "ci_failed", createdAt, workflowName, prNumber, reason: "CI still red: 2 tests failing in test/parser.test.ts", outcomes: { [METRICS.patchApplied]: true, [METRICS.ciPassed]: false } };
      } else {
        const merged = random() < 0.7 + edge;
        const outcomes: AttemptSeed["outcomes"] = { [METRICS.patchApplied]: true, [METRICS.ciPassed]: true, [METRICS.prMerged]: merged };
        if (merged) {
          const reverted = random() < 0.12 - edge / 2;
          if (reverted) outcomes[METRICS.prReverted] = true;
          if (daysAgo >= 3 || reverted) outcomes[METRICS.heldUp] = !reverted;
        }
        seed = { repo, variant, status: "ci_passed", createdAt, workflowName, prNumber, outcomes };
      }
    }
    seed.runId = String(9_120_000 + i * 3_517);
    seed.story = true;
    seed.outcomeDelayMs = Math.floor(random() * 5 + 1) * 3600_000;
    await seedAttempt(store, seed);
    tally.attempts++;
    const day = createdAt.toISOString().slice(0, 10);
    tally.openedByDay[day] = (tally.openedByDay[day] ?? 0) + 1;
    if (variant) {
      const entry = variantTally(variant);
      entry.attempts++;
      for (const [metric, value] of Object.entries(seed.outcomes ?? {}) as [MetricName, boolean][]) {
        if (metric === METRICS.prReverted) continue;
        entry.outcomes[metric].total++;
        if (value) entry.outcomes[metric].hits++;
      }
      // Reverts are recorded only when they happen: their rate is over the merged fixes.
      if (seed.outcomes?.[METRICS.prMerged]) {
        entry.outcomes[METRICS.prReverted].total++;
        if (seed.outcomes[METRICS.prReverted]) entry.outcomes[METRICS.prReverted].hits++;
      }
    }
  }

  const at = (hoursAgo: number) => new Date(now.getTime() - hoursAgo * 3600_000);
  tally.failedJobIds.push(
    await seedJob(store, {
      kind: "fix",
      status: "dead",
      payload: { repo: "acme/widgets", runId: "9123456" },
      lastError: "TensorZero gateway unavailable: connect ECONNREFUSED 10.0.0.7:3000 (5 tries)",
      at: at(30),
    }),
    await seedJob(store, {
      kind: "fix",
      status: "failed",
      payload: { repo: "octo-org/billing", runId: "9123990" },
      lastError: "PermanentJobError: the workflow log is gone (HTTP 410 from GET /repos/octo-org/billing/actions/jobs/771/logs)\n    at collectLogs (src/fix/collect.ts:88:11)\n    at runFix (src/fix/pipeline.ts:214:5)",
      attempts: 1,
      at: at(5),
    }),
  );
  await seedJob(store, { kind: "fix", status: "done", payload: { repo: "acme/widgets", runId: "9123000" }, attempts: 1, at: at(3) });
  await seedJob(store, { kind: "outcome-sweep", status: "queued", attempts: 0, at: at(1) });

  // The inbox: recorded deliveries, one of which failed (a database hiccup) and waits for a person's replay.
  const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8")) as Record<string, unknown>;
  for (let i = 0; i < 6; i++) {
    await seedDelivery(store, { id: `8d1e5a40-0f3b-11f1-9a6e-00000000000${i}`, event: "workflow_run", payload: fixture("workflow_run.in_progress.json"), status: "processed", note: "run recorded", at: at(20 - i) });
  }
  await seedDelivery(store, { id: "8d1e5a40-0f3b-11f1-9a6e-ping00000001", event: "ping", payload: { zen: "Keep it logically awesome.", hook_id: 1 }, status: "ignored", note: "no handler for ping", at: at(22) });
  await seedDelivery(store, {
    id: tally.failedDeliveryId,
    event: "pull_request",
    payload: fixture("pull_request.opened.json"),
    status: "failed",
    error: "LibsqlError: SQLITE_BUSY: database is locked",
    attempts: 5,
    at: at(2),
  });
  return tally;
}
