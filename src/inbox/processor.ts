/**
 * The inbox processor: takes due deliveries in arrival order, runs each
 * through its ingest handler, and settles the row. Our own failures are
 * retried with backoff (the row stays `received`, the error visible on it);
 * after `maxTries`, or at once for a payload that cannot be read, the row is
 * `failed` for good and waits for a person (`fixloop deliveries replay`, a
 * redelivery from GitHub). Events of one PR or run keep their arrival order;
 * a retried one that comes late is caught by the rows' order keys.
 *
 * When the job queue can join a transaction (libSQL's), consecutive
 * deliveries are processed in one write transaction, their settlement
 * included, committed every few milliseconds: one commit for many
 * deliveries, and a delivery's effects and its `processed` mark land
 * together. A delivery whose handler fails rolls its batch back; the batch
 * is then processed one delivery at a time, as without a queue that joins.
 */
import type { Client } from "@libsql/client";
import type { Logger } from "pino";
import { handleDelivery, type DeliveryAnswer, type DispatchDeps } from "../handlers/index.js";
import { backoffDelayMs } from "../queue/backoff.js";
import { describeError } from "../ops/describe-error.js";
import type { BackoffPolicy } from "../queue/types.js";
import { UNLIMITED_BUDGET, type TaskBudget } from "../time.js";
import { deliveryLabel, deliveryOutcomeLine, type DeliveryLabel } from "./lines.js";
import { createTransactionScope, storeOnClient, TransactionMemo } from "../store/transaction-scope.js";
import { claimDeliveryById, claimDueDeliveries, nextDueAt, readDeliveryBodies, readDeliveryBody, settleDeliveries, settleDelivery, deliveryFacts, type ClaimedDelivery, type DeliveryFacts, type Settlement } from "./rows.js";
import type { WriteTurns } from "./write-turns.js";

export interface DeliveryProcessorOptions extends DispatchDeps {
  /** Deliveries leased per claim (default 64). */
  batchSize?: number;
  /** How long a claim holds a row before another process may take it over (default 5 min). */
  leaseMs?: number;
  /** Tries before a delivery is failed for good (default 5). */
  maxTries?: number;
  backoff?: BackoffPolicy;
  /** Longest sleep between looks at the inbox when nothing woke the processor (default 1 s). */
  pollMs?: number;
  /**
   * How long one batch transaction may go on taking deliveries before it
   * commits (default 8 ms): appends wait for it, so this bounds what it adds
   * to a webhook's answer. 0 turns batch transactions off.
   */
  transactionMs?: number;
  /**
   * Turns on the file shared with the inbox writer, which may be on another
   * thread (see write-turns.ts): the processor writes in its turn, commits a
   * batch early (after `YIELD_AFTER_MS`) when appends wait, and then lets
   * them go first.
   */
  turns?: WriteTurns;
  /**
   * How far behind arrivals the processor may fall (the age of the delivery
   * it takes next) before its batches stop committing early for waiting
   * appends (default `LAG_BOUND_MS`); see yieldAfterMs. A retried delivery
   * looks old too, which only makes its batch a long one.
   */
  lagBoundMs?: number;
  /**
   * Checkpoints the WAL itself this often while it works (PASSIVE: it never
   * waits for nor blocks a writer), outside its write turn. The inbox thread
   * sets it: SQLite's automatic checkpoint runs inside whichever commit
   * crosses the mark, and with appends on the request thread that was often
   * an append, stalling HTTP for tens of ms (p99 19.9 → 54 ms). Checkpointed
   * often, the WAL never grows to the automatic mark.
   */
  checkpointEveryMs?: number;
  /**
   * Told true before the running loop looks for due deliveries one last time
   * and sleeps, false when it wakes: an appender on another thread then sends
   * a wake-up only to a processor that may be asleep (thread.ts).
   */
  onIdle?: (idle: boolean) => void;
  now?: () => Date;
}

/** Waits between tries of one delivery: 2 s, 8 s, 32 s, ~2 min (then failed). */
export const DELIVERY_BACKOFF: BackoffPolicy = { baseMs: 2_000, factor: 4, capMs: 10 * 60_000, jitter: 0.1 };
export const DEFAULT_DELIVERY_TRIES = 5;
export const DEFAULT_DELIVERY_LEASE_MS = 5 * 60_000;
/** The least a batch transaction goes on once appends are waiting (while the processor keeps up: see yieldAfterMs). */
export const YIELD_AFTER_MS = 0.25;
/** See DeliveryProcessorOptions.lagBoundMs. */
export const LAG_BOUND_MS = 2_000;
/** Bodies read per statement as a batch transaction goes (see BodiesAhead). */
export const BODIES_PER_READ = 16;

export type ProcessedAnswer = DeliveryAnswer | { status: "retry"; error: string; retryAt: string };

export interface DeliveryProcessor {
  /**
   * Processes one delivery now if it is due (the synchronous path: `probot
   * receive`, replay, the Lambda webhook); null when it is not. There a
   * failure is final at once (`retry: false`): whoever handed the delivery
   * over hears of it and retries it (GitHub after a 500, a person's replay).
   */
  processById(id: string, options?: { retry?: boolean }): Promise<ProcessedAnswer | null>;
  /** Processes every delivery due now, batch after batch, until none is left or the budget is used up; returns how many. */
  drain(budget?: TaskBudget): Promise<number>;
  /** Asks the running loop to look at the inbox soon (after an append). */
  wake(): void;
  /** Runs the loop in the background until stop(). */
  start(): void;
  /** Stops taking deliveries and waits for the one in hand. */
  stop(): Promise<void>;
}

export function createDeliveryProcessor(options: DeliveryProcessorOptions): DeliveryProcessor {
  const client = options.store.client;
  const log: Logger = options.log;
  const batchSize = options.batchSize ?? 64;
  const leaseMs = options.leaseMs ?? DEFAULT_DELIVERY_LEASE_MS;
  const maxTries = options.maxTries ?? DEFAULT_DELIVERY_TRIES;
  const backoff = options.backoff ?? DELIVERY_BACKOFF;
  const pollMs = options.pollMs ?? 1_000;
  const now = options.now ?? (() => new Date());
  const transactionMs = options.transactionMs ?? 8;
  const turns = options.turns;
  const appendsWaiting = () => (turns ? turns.appendsWaiting() > 0 : false);
  /** Runs one unit of writing in the processor's turn; afterwards waiting appends go first. */
  async function inTurn<T>(work: () => Promise<T>): Promise<T> {
    if (!turns) return work();
    const endTurn = await turns.take();
    try {
      return await work();
    } finally {
      endTurn();
      await turns.giveWay();
    }
  }
  const lagBoundMs = options.lagBoundMs ?? LAG_BOUND_MS;
  /**
   * How long a batch that starts with `first` goes on while appends wait.
   * Answering GitHub comes first: while the processor keeps up, a batch
   * commits soon after appends start waiting (small transactions cost more
   * per delivery, and a burst is processed later in big ones). Under load
   * that lasts, the backlog would grow without end that way; once the
   * delivery in hand is older than the lag bound, batches run their full
   * `transactionMs` (the most a webhook's answer waits for one) and
   * processing keeps pace, the backlog staying near the bound.
   */
  const yieldAfterMs = (first: ClaimedDelivery) =>
    now().getTime() - Date.parse(first.receivedAt) > lagBoundMs ? transactionMs : YIELD_AFTER_MS;
  /** Whether a batch that began at `began` should take one more delivery. */
  const batchGoesOn = (began: number, yieldAfter: number) => {
    const elapsed = performance.now() - began;
    return elapsed < transactionMs && (elapsed < yieldAfter || !appendsWaiting());
  };
  const batching = transactionMs > 0 && options.queue?.bind ? batchingDeps(options, options.queue.bind) : null;

  function settlementFor(claimed: ClaimedDelivery, answer: DeliveryAnswer, retry: boolean): Settlement {
    if (answer.status !== "failed") return { status: answer.status, note: answer.note };
    if (!retry || answer.malformed || claimed.attempts >= maxTries) return { status: "failed", error: answer.error };
    return { status: "retry", error: answer.error, retryAt: new Date(now().getTime() + backoffDelayMs(claimed.attempts, backoff)) };
  }

  async function processClaimed(claimed: ClaimedDelivery, retry = true): Promise<ProcessedAnswer> {
    const payload = await readPayload(client, claimed.id);
    const answer: DeliveryAnswer = payload ? await handleAlone(claimed, payload) : { status: "failed", error: "the stored body is not a JSON object", malformed: true };
    const settlement = settlementFor(claimed, answer, retry);
    await settleDelivery(client, claimed.id, settlement, now(), payload ? deliveryFacts(payload) : null);
    logSettled(claimed, deliveryLabel(claimed.id, claimed.event, payload), answer, settlement, retry);
    return settlement.status === "retry" ? { status: "retry", error: settlement.error, retryAt: settlement.retryAt.toISOString() } : answer;
  }

  /** Runs one delivery's handler; where transactions are possible, a failed handler's writes are rolled back. */
  async function handleAlone(claimed: ClaimedDelivery, payload: Record<string, unknown>): Promise<DeliveryAnswer> {
    const delivery = { id: claimed.id, name: claimed.event, payload, bodyStored: true };
    if (!batching) return handleDelivery(options, delivery);
    let answer: DeliveryAnswer | undefined;
    try {
      await batching.scope.run(async () => {
        answer = await handleDelivery(batching.deps, { ...delivery, memo: new TransactionMemo() });
        if (answer.status === "failed") throw new RolledBack(0);
      });
    } catch (error) {
      if (!(error instanceof RolledBack)) return { status: "failed", error: describeError(error) };
    }
    return answer!;
  }

  function logSettled(claimed: ClaimedDelivery, label: DeliveryLabel, answer: DeliveryAnswer, settlement: Settlement, retry = true): void {
    const ids = { delivery: claimed.id, event: claimed.event, attempt: claimed.attempts };
    if (settlement.status === "retry") {
      log.warn({ ...ids, error: settlement.error, retryAt: settlement.retryAt.toISOString() }, "delivery failed: will retry");
    } else if (settlement.status === "failed") {
      const malformed = answer.status === "failed" && answer.malformed === true;
      const message = malformed ? "delivery payload is malformed" : retry ? "delivery failed for good: replay it by hand" : "delivery failed";
      log[malformed ? "warn" : "error"]({ ...ids, error: settlement.error }, message);
    } else {
      // One line per recorded delivery, with what an operator needs to look it up.
      log.info({ ...ids, status: settlement.status }, deliveryOutcomeLine(label, answer));
    }
  }

  /**
   * Processes batch[start…end) in one transaction, committing once
   * `transactionMs` has passed or appends wait; says how many it committed, or where a handler
   * failed (then nothing of it was written).
   */
  async function processInTransaction(batch: ClaimedDelivery[], bodies: BodiesAhead, start: number, end: number): Promise<{ committed: number } | { failedAt: number }> {
    const began = performance.now();
    const yieldAfter = yieldAfterMs(batch[start]);
    // What the log lines need, not the payloads: a batch holding ~30 parsed payloads had every young GC copy them.
    const done: { claimed: ClaimedDelivery; label: DeliveryLabel; facts: DeliveryFacts; answer: DeliveryAnswer & { status: "processed" | "ignored" } }[] = [];
    try {
      await batching!.scope.run(async () => {
        const memo = new TransactionMemo();
        for (let i = start; i < end && (i === start || batchGoesOn(began, yieldAfter)); i++) {
          const claimed = batch[i];
          const payload = payloadOf(await bodies.take(batching!.scope.client, i));
          if (!payload) throw new RolledBack(i);
          const answer = await handleDelivery(batching!.deps, { id: claimed.id, name: claimed.event, payload, bodyStored: true, memo });
          if (answer.status === "failed") throw new RolledBack(i);
          done.push({ claimed, label: deliveryLabel(claimed.id, claimed.event, payload), facts: deliveryFacts(payload), answer });
        }
        const settled = done.map(({ claimed, answer, facts }) => ({ id: claimed.id, status: answer.status, note: answer.note, facts }));
        await settleDeliveries(batching!.scope.client, settled, now());
      });
    } catch (error) {
      if (error instanceof RolledBack) return { failedAt: error.index };
      // Not one delivery's fault (the commit, the settlement): the batch goes again one delivery at a time.
      log.warn({ err: error }, "delivery batch rolled back: taking its deliveries one at a time");
      return { failedAt: start };
    }
    for (const { claimed, label, answer } of done) logSettled(claimed, label, answer, { status: answer.status, note: answer.note });
    return { committed: done.length };
  }

  /**
   * Settles batch[start…] as far as one transaction goes and says how many.
   * After a rollback the deliveries before the failed one go again in a
   * transaction of their own, and the failed one alone (its retry or failure
   * recorded as without batches).
   */
  async function processFrom(batch: ClaimedDelivery[], bodies: BodiesAhead, start: number): Promise<number> {
    if (!batching) {
      await processClaimed(batch[start]);
      return 1;
    }
    const first = await processInTransaction(batch, bodies, start, batch.length);
    if ("committed" in first) return first.committed;
    if (first.failedAt > start) {
      const before = await processInTransaction(batch, bodies, start, first.failedAt);
      if (!("committed" in before)) return processClaimed(batch[start]).then(() => 1);
      if (start + before.committed < first.failedAt) return before.committed;
      await processClaimed(batch[first.failedAt]);
      return before.committed + 1;
    }
    await processClaimed(batch[start]);
    return 1;
  }

  let lastCheckpoint = performance.now();
  async function checkpointWhenDue(): Promise<void> {
    if (!options.checkpointEveryMs || performance.now() - lastCheckpoint < options.checkpointEveryMs) return;
    lastCheckpoint = performance.now();
    await client.execute("PRAGMA wal_checkpoint(PASSIVE)").catch((error: unknown) => log.warn({ err: error }, "WAL checkpoint failed"));
  }

  async function drainBatch(): Promise<number> {
    const batch = await inTurn(() => claimDueDeliveries(client, batchSize, now(), leaseMs));
    const bodies = new BodiesAhead(batch);
    for (let i = 0; i < batch.length; ) {
      i += await inTurn(() => processFrom(batch, bodies, i));
      await checkpointWhenDue();
      // Local SQLite runs on the event loop: let waiting requests (and appends) in between.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return batch.length;
  }

  let running = false;
  let stopped = true;
  let wakeRequested = false;
  let timer: NodeJS.Timeout | null = null;
  let wakeUp: (() => void) | null = null;
  let loop: Promise<void> = Promise.resolve();

  async function runLoop(): Promise<void> {
    while (!stopped) {
      wakeRequested = false;
      try {
        while (!stopped && (await drainBatch()) > 0);
      } catch (error) {
        log.error({ err: error }, "delivery processor: reading the inbox failed; trying again shortly");
      }
      if (stopped) return;
      if (wakeRequested) continue;
      // Said before the last look: an append committed after it sees the flag and wakes this loop (thread.ts).
      options.onIdle?.(true);
      const due = await nextDueAt(client).catch(() => null);
      const wait = due === null ? pollMs : Math.min(pollMs, Math.max(0, due.getTime() - now().getTime()));
      await new Promise<void>((resolve) => {
        // A wake that came while looking (wakeUp was not set yet) is not slept through.
        if (wakeRequested) return resolve();
        timer = setTimeout(resolve, wait);
        wakeUp = () => {
          if (timer) clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = null;
      options.onIdle?.(false);
    }
  }

  return {
    processById(id, { retry = true } = {}) {
      return inTurn(async () => {
        const claimed = await claimDeliveryById(client, id, now(), leaseMs);
        return claimed ? processClaimed(claimed, retry) : null;
      });
    },
    async drain(budget = UNLIMITED_BUDGET) {
      let total = 0;
      // Between batches only: a batch's deliveries are leased, so it is finished before stopping.
      while (budget.remainingMs() > 0) {
        const n = await drainBatch();
        if (n === 0) break;
        total += n;
      }
      return total;
    },
    wake() {
      wakeRequested = true;
      wakeUp?.();
    },
    start() {
      if (running) return;
      running = true;
      stopped = false;
      loop = runLoop().finally(() => (running = false));
    },
    async stop() {
      stopped = true;
      wakeUp?.();
      await loop;
    },
  };
}

/** A handler failed inside a batch transaction (at `index` of the batch): the batch is rolled back. */
class RolledBack extends Error {
  constructor(readonly index: number) {
    super(`delivery ${index} of the batch failed`);
  }
}

/**
 * The handlers' view of the store inside batch transactions: one client that
 * joins the open batch, one Drizzle instance over it (its prepared statements
 * serve every batch), and the queue bound to it.
 */
function batchingDeps(options: DeliveryProcessorOptions, bindQueue: NonNullable<DispatchDeps["queue"]>["bind"] & {}) {
  const scope = createTransactionScope(options.store.client);
  const store = storeOnClient(options.store, scope.client);
  return { scope, deps: { ...options, store, queue: bindQueue(store) } satisfies DispatchDeps };
}

/**
 * The bodies of a claimed batch, read BODIES_PER_READ at a time as the
 * processor comes to them: one statement instead of one per delivery, while
 * only a few ~20 KB bodies live at once. A leased delivery's body does not
 * change (an append replaces only a failed one's), so a body read in a
 * transaction that was rolled back is still good; each is taken once, and a
 * delivery processed again after a rollback is read again.
 */
class BodiesAhead {
  private readonly read = new Map<string, string | null>();
  constructor(private readonly batch: readonly ClaimedDelivery[]) {}

  async take(client: Client, index: number): Promise<string | null> {
    const id = this.batch[index].id;
    if (!this.read.has(id)) {
      const ids = this.batch.slice(index, index + BODIES_PER_READ).map((claimed) => claimed.id);
      const bodies = await readDeliveryBodies(client, ids);
      for (const ahead of ids) this.read.set(ahead, bodies.get(ahead) ?? null);
    }
    const body = this.read.get(id)!;
    this.read.delete(id);
    return body;
  }
}

/** A delivery's payload, read from its stored body when its turn comes (see payloadOf). */
async function readPayload(client: Client, id: string): Promise<Record<string, unknown> | null> {
  return payloadOf(await readDeliveryBody(client, id));
}

/**
 * A stored body as a payload. The webhook ingress only checked that it looks
 * like `{…}` (parsing is left to here, ingress-core.ts); a body that is not a
 * JSON object after all, or a row without one, is failed as malformed.
 */
function payloadOf(body: string | null): Record<string, unknown> | null {
  if (body === null) return null;
  try {
    const payload = JSON.parse(body) as unknown;
    if (payload && typeof payload === "object" && !Array.isArray(payload)) return payload as Record<string, unknown>;
  } catch {
    // fall through
  }
  return null;
}
