/**
 * The feedback outbox to TensorZero. Outcome code writes a `feedback` row in
 * the same transaction as the outcome it reports (`recordFeedback`, in
 * store/feedback.ts; listing and retrying rows is outbox-admin.ts); a sender
 * drains the table into `POST /feedback` with backoff (`drainFeedbackOutbox`,
 * `createFeedbackSender`). Nothing is lost while the gateway is down: a row
 * leaves `pending` only when the gateway took it (`sent`) or said it never
 * will (`dead`, revivable with `retryFeedback`).
 *
 * Once per (target, metric, dedup key): the unique index turns a repeated
 * event into no new row, and the first value recorded is the one sent.
 *
 * Claims. Several senders may share one database (two processes on one file,
 * or a CLI drain beside the server). A sender takes a row with one UPDATE that
 * sets `claimed_until = now + lease` only where no live claim exists, and
 * settles it with an UPDATE conditioned on that same `claimed_until` value: a
 * new claim is always later than the one it replaces, so the timestamp is also
 * the claim's token. A sender that dies mid-send leaves a claim that expires,
 * and the row is sent again after the lease (at least once; a crash between
 * the gateway's answer and the settle is the only path to a duplicate).
 */
import { and, count, eq, sql, type SQL } from "drizzle-orm";
import { setTimeout as sleep } from "node:timers/promises";
import { pino, type Logger } from "pino";
import { backoffDelayMs } from "../queue/backoff.js";
import { describeError } from "../ops/describe-error.js";
import type { BackoffPolicy } from "../queue/types.js";
import type { Store } from "../store/db.js";
import { InvalidFeedbackError } from "../store/feedback.js";
import { feedback, type FeedbackRow } from "../store/schema.js";
import {
  FeedbackError,
  FeedbackGatewayUnavailableError,
  FeedbackRejectedError,
  FeedbackTargetNotFoundError,
  sendFeedback,
  type FeedbackInput,
} from "../tensorzero/feedback.js";
import type { GatewayConfig } from "../tensorzero/gateway.js";

/** How long rows wait between tries, and when they give up. */
export interface FeedbackRetryPolicy {
  /** Gateway unavailable (network, 5xx, 429, 401/403): retried forever on this schedule. */
  unavailable: BackoffPolicy;
  /** "Does not exist": the first waits this long; later waits grow with the time already waited. */
  targetMissingMinMs: number;
  targetMissingMaxMs: number;
  /** A target still missing this long after the first "does not exist" is given up on (dead). */
  targetMissingGiveUpMs: number;
  /** How long a claim keeps other senders off a row; well above the send timeout. */
  leaseMs: number;
}

export const DEFAULT_FEEDBACK_RETRY: FeedbackRetryPolicy = {
  unavailable: { baseMs: 5_000, factor: 2, capMs: 60 * 60_000, jitter: 0.1 },
  targetMissingMinMs: 2_000,
  targetMissingMaxMs: 10 * 60_000,
  targetMissingGiveUpMs: 24 * 60 * 60_000,
  leaseMs: 2 * 60_000,
};

/**
 * Wait after a "does not exist": half the time already waited, within [min, max],
 * so the gaps grow by about 1.5× without a separate counter (tries also counts outages).
 */
export function targetMissingDelayMs(waitedMs: number, policy: FeedbackRetryPolicy = DEFAULT_FEEDBACK_RETRY, random: () => number = Math.random): number {
  const nominal = Math.min(policy.targetMissingMaxMs, Math.max(policy.targetMissingMinMs, waitedMs / 2));
  const spread = 1 + policy.unavailable.jitter * (2 * random() - 1);
  return Math.max(1, Math.round(Math.min(policy.targetMissingMaxMs, nominal * spread)));
}

export interface DrainResult {
  sent: number;
  /** Tried and rescheduled: gateway unavailable, or the target does not exist yet. */
  retrying: number;
  dead: number;
  /** Due rows this drain left untried: no gateway configured, the gateway went down mid-drain, or the limit was reached. */
  skipped: number;
}

export interface DrainDeps {
  store: Store;
  /** null when TENSORZERO_URL is unset: nothing is sent and rows wait. */
  gateway: GatewayConfig | null;
  log?: Logger;
  now?: () => Date;
  send?: typeof sendFeedback;
  /** Rows tried by one drain at most (default 200). */
  limit?: number;
  /** Sends in flight at once (default 4). */
  concurrency?: number;
  policy?: Partial<FeedbackRetryPolicy>;
  /** Source of jitter, [0, 1) (default Math.random). */
  random?: () => number;
}

export const DEFAULT_DRAIN_LIMIT = 200;
export const DEFAULT_DRAIN_CONCURRENCY = 4;
const MAX_ERROR_CHARS = 2_000;

/** Claimable: pending, due by `dueBy`, and no live claim. */
function claimable(dueBy: string, at: string): SQL {
  return sql`(${feedback.status} = 'pending' AND ${feedback.nextTryAt} <= ${dueBy} AND (${feedback.claimedUntil} IS NULL OR ${feedback.claimedUntil} <= ${at}))`;
}

/** Takes the next due row under a claim until now + leaseMs and counts the try; one statement, so two senders never share a row. */
export async function claimNextFeedback(store: Store, leaseMs: number, now: Date, dueBy: Date = now): Promise<FeedbackRow | null> {
  const due = iso(dueBy);
  const at = iso(now);
  const next = sql`(SELECT "id" FROM "feedback" WHERE ${claimable(due, at)} ORDER BY "next_try_at", "id" LIMIT 1)`;
  const [row] = await store.db
    .update(feedback)
    .set({ claimedUntil: iso(new Date(now.getTime() + Math.max(1, leaseMs))), tries: sql`${feedback.tries} + 1` })
    .where(and(eq(feedback.id, next), claimable(due, at)))
    .returning();
  return row ?? null;
}

type Settlement =
  | { status: "sent"; gatewayFeedbackId: string }
  | { status: "pending"; nextTryAt: Date; error: string; targetMissingSince: string | null }
  | { status: "dead"; error: string };

/** Writes a try's end only while the claim `token` still holds the row; false when refused. */
async function settle(store: Store, row: FeedbackRow, token: string, settlement: Settlement, now: Date): Promise<boolean> {
  const set =
    settlement.status === "sent"
      ? { status: "sent" as const, gatewayFeedbackId: settlement.gatewayFeedbackId, sentAt: iso(now), lastError: null, targetMissingSince: null }
      : settlement.status === "pending"
        ? { nextTryAt: iso(settlement.nextTryAt), lastError: trimError(settlement.error), targetMissingSince: settlement.targetMissingSince }
        : { status: "dead" as const, lastError: trimError(settlement.error) };
  const written = await store.db
    .update(feedback)
    .set({ ...set, claimedUntil: null })
    .where(and(eq(feedback.id, row.id), eq(feedback.claimedUntil, token), eq(feedback.status, "pending")))
    .returning({ id: feedback.id });
  return written.length > 0;
}

function trimError(error: string): string {
  return error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS - 1)}…` : error;
}

function describeFeedbackError(error: unknown): string {
  // Gateway errors already say where they come from ("TensorZero /feedback 503: …").
  return error instanceof FeedbackError ? error.message : describeError(error);
}

/** The /feedback request for a stored row. */
export function feedbackInputFromRow(row: Pick<FeedbackRow, "metricName" | "targetType" | "targetId" | "value" | "tags">): FeedbackInput {
  const common = { metricName: row.metricName, value: row.value as FeedbackInput["value"], tags: row.tags ?? {} };
  if (row.targetType === "inference") return { ...common, inferenceId: row.targetId };
  if (row.targetType === "episode") return { ...common, episodeId: row.targetId };
  throw new InvalidFeedbackError(`row has target type "${row.targetType}" (expected inference or episode)`);
}

/** Due rows nobody holds: what a drain would try now. */
export async function countDueFeedback(store: Store, now: Date = new Date(), dueBy: Date = now): Promise<number> {
  const [row] = await store.db.select({ n: count() }).from(feedback).where(claimable(iso(dueBy), iso(now)));
  return row?.n ?? 0;
}

interface DrainRun {
  result: DrainResult;
  /** The gateway was unreachable (or refused our key) during this drain. */
  gatewayDown: boolean;
}

async function drain(deps: DrainDeps): Promise<DrainRun> {
  const { store, gateway } = deps;
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? defaultLog();
  const send = deps.send ?? sendFeedback;
  const random = deps.random ?? Math.random;
  const policy: FeedbackRetryPolicy = { ...DEFAULT_FEEDBACK_RETRY, ...deps.policy };
  const limit = Math.max(0, Math.floor(deps.limit ?? DEFAULT_DRAIN_LIMIT));
  const concurrency = Math.max(1, Math.floor(deps.concurrency ?? DEFAULT_DRAIN_CONCURRENCY));
  // Rows this drain reschedules land after dueBy, so one drain tries each row at most once.
  const dueBy = now();
  const result: DrainResult = { sent: 0, retrying: 0, dead: 0, skipped: 0 };

  if (!gateway) {
    result.skipped = await countDueFeedback(store, now(), dueBy);
    if (result.skipped > 0) log.warn({ waiting: result.skipped }, "TENSORZERO_URL is not set: feedback rows stay pending until a gateway is configured");
    return { result, gatewayDown: false };
  }

  let claims = 0;
  let gatewayDown = false;

  async function tryRow(row: FeedbackRow): Promise<void> {
    const token = row.claimedUntil!;
    const rowLog = log.child({ feedbackId: row.id, metric: row.metricName, target: `${row.targetType}:${row.targetId}`, tries: row.tries });
    let settlement: Settlement;
    try {
      const answer = await send(gateway!, feedbackInputFromRow(row));
      settlement = { status: "sent", gatewayFeedbackId: answer.feedbackId };
    } catch (error) {
      settlement = failureSettlement(row, error, now(), policy, random);
      if (error instanceof FeedbackGatewayUnavailableError) gatewayDown = true;
    }
    const at = now();
    if (!(await settle(store, row, token, settlement, at))) {
      rowLog.warn({ outcome: settlement.status }, "feedback claim expired before the try settled; another sender holds the row now");
      return;
    }
    if (settlement.status === "sent") {
      result.sent++;
      rowLog.debug({ gatewayFeedbackId: settlement.gatewayFeedbackId }, "feedback sent");
    } else if (settlement.status === "pending") {
      result.retrying++;
      rowLog.info({ nextTryAt: iso(settlement.nextTryAt), error: settlement.error }, "feedback not taken yet; will retry");
    } else {
      result.dead++;
      rowLog.warn({ error: settlement.error }, "feedback given up (dead); `fixloop feedback retry` sends it again");
    }
  }

  async function lane(): Promise<void> {
    // One refused connection is enough to know: the rest wait for the next drain instead of piling on.
    while (!gatewayDown && claims < limit) {
      claims++;
      const row = await claimNextFeedback(store, policy.leaseMs, now(), dueBy);
      if (!row) return;
      await tryRow(row);
    }
  }

  const lanes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, Math.max(1, limit)) }, lane));
  const failed = lanes.find((lane): lane is PromiseRejectedResult => lane.status === "rejected");
  if (failed) throw failed.reason;
  result.skipped = await countDueFeedback(store, now(), dueBy);
  if (result.sent + result.retrying + result.dead > 0 || gatewayDown) log.info({ ...result, gatewayDown }, "feedback outbox drained");
  return { result, gatewayDown };
}

/** What a failed try means for its row. */
function failureSettlement(row: FeedbackRow, error: unknown, at: Date, policy: FeedbackRetryPolicy, random: () => number): Settlement {
  const message = describeFeedbackError(error);
  if (error instanceof FeedbackTargetNotFoundError) {
    // Right after an inference the gateway may not have written it yet; give it a long while before giving up.
    const since = row.targetMissingSince ?? iso(at);
    const waited = Math.max(0, at.getTime() - Date.parse(since));
    if (waited >= policy.targetMissingGiveUpMs) {
      return { status: "dead", error: `${message} (still missing ${Math.round(waited / 3_600_000)} h after the first "does not exist" at ${since})` };
    }
    return { status: "pending", nextTryAt: new Date(at.getTime() + targetMissingDelayMs(waited, policy, random)), error: message, targetMissingSince: since };
  }
  if (error instanceof FeedbackGatewayUnavailableError) {
    // Never dead: an outage of hours must lose nothing.
    const delay = backoffDelayMs(row.tries, policy.unavailable, random);
    return { status: "pending", nextTryAt: new Date(at.getTime() + delay), error: message, targetMissingSince: row.targetMissingSince };
  }
  if (error instanceof FeedbackRejectedError || error instanceof InvalidFeedbackError) return { status: "dead", error: message };
  // Anything else is not a gateway answer (a bug, a malformed stored row): repeating it will not help.
  return { status: "dead", error: `unexpected: ${message}` };
}

/**
 * One pass over the due rows: claims each, sends it, records the answer. Stops
 * claiming once the gateway is unreachable (the rest wait, counted as skipped).
 * With no gateway it sends nothing and reports the waiting rows as skipped.
 */
export async function drainFeedbackOutbox(deps: DrainDeps): Promise<DrainResult> {
  return (await drain(deps)).result;
}

export interface FeedbackSender {
  /** Starts the background loop; a second call does nothing. Errors are logged, never thrown. */
  start(): void;
  /** Stops the loop and waits for a drain in progress to settle. */
  stop(): Promise<void>;
  /** One drain now, after any drain in progress. */
  drainOnce(): Promise<DrainResult>;
}

export const DEFAULT_SENDER_INTERVAL_MS = 5_000;
/** Longest pause between drains while the gateway is down (rows keep their own backoff too). */
const OUTAGE_PAUSE_CAP_MS = 5 * 60_000;

/**
 * Drains the outbox every `intervalMs`, at once again while the limit left rows
 * behind, and with growing pauses while the gateway is down.
 */
export function createFeedbackSender(deps: DrainDeps & { intervalMs?: number }): FeedbackSender {
  const intervalMs = Math.max(1, deps.intervalMs ?? DEFAULT_SENDER_INTERVAL_MS);
  const log = deps.log ?? defaultLog();
  const random = deps.random ?? Math.random;
  const drainDeps: DrainDeps = { ...deps, log };
  let chain: Promise<unknown> = Promise.resolve();
  let lifetime: AbortController | null = null;
  let loop: Promise<void> | null = null;

  /** Drains never overlap within one sender: each waits for the one before. */
  function runDrain(): Promise<DrainRun> {
    const run = chain.then(() => drain(drainDeps));
    chain = run.catch(() => undefined);
    return run;
  }

  async function loopUntil(signal: AbortSignal): Promise<void> {
    let outages = 0;
    while (!signal.aborted) {
      let pauseMs = intervalMs;
      try {
        const { result, gatewayDown } = await runDrain();
        outages = gatewayDown ? outages + 1 : 0;
        if (gatewayDown) pauseMs = backoffDelayMs(outages, { baseMs: intervalMs, factor: 2, capMs: Math.max(intervalMs, OUTAGE_PAUSE_CAP_MS), jitter: 0.1 }, random);
        else if (result.skipped > 0) pauseMs = 0;
      } catch (error) {
        log.error({ err: error }, "feedback drain failed; will try again");
      }
      if (pauseMs > 0) await sleep(pauseMs, undefined, { signal }).catch(() => undefined);
    }
  }

  return {
    start() {
      if (lifetime) return;
      if (!deps.gateway) {
        log.warn("TENSORZERO_URL is not set: feedback is recorded and waits in the outbox; nothing is sent");
        return;
      }
      lifetime = new AbortController();
      loop = loopUntil(lifetime.signal);
      log.info({ intervalMs }, "feedback sender started");
    },
    async stop() {
      if (!lifetime) return;
      lifetime.abort();
      await loop;
      await chain;
      lifetime = null;
      loop = null;
      log.info("feedback sender stopped");
    },
    async drainOnce() {
      return (await runDrain()).result;
    },
  };
}

function iso(date: Date): string {
  return date.toISOString();
}

function defaultLog(): Logger {
  return pino({ level: process.env.LOG_LEVEL ?? "info" });
}

