/**
 * Group commit for the inbox: appends that arrive close together share one
 * statement and one transaction. The first append of a group waits at most
 * `maxWaitMs` (or until `maxBatch` entries are waiting), then the whole group
 * is written; each caller's promise settles when its row is committed, so no
 * request is answered before its delivery is stored.
 */
import type { Client } from "@libsql/client";
import { appendDeliveries, type InboxEntry } from "./rows.js";
import type { WriteTurns } from "./write-turns.js";

export type AppendResult = "accepted" | "duplicate";

export interface InboxWriter {
  append(entry: InboxEntry): Promise<AppendResult>;
  /** Writes what is waiting now (shutdown, tests). */
  flush(): Promise<void>;
  /** Appends waiting for their group to be written. */
  waiting(): number;
}

export interface InboxWriterOptions {
  /** Rows in one statement at most (SQLite binds 9 values a row; 32 766 variables per statement). */
  maxBatch?: number;
  /** How long the first append of a group waits for company. 0: the same turn of the event loop only. */
  maxWaitMs?: number;
  now?: () => Date;
  /** Turns shared with the processor (see write-turns.ts): a group waits for its turn, and counts as waiting until written. */
  turns?: WriteTurns;
}

interface Waiting {
  entry: InboxEntry;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

export const DEFAULT_MAX_BATCH = 64;

export function createInboxWriter(client: Client, options: InboxWriterOptions = {}): InboxWriter {
  const maxBatch = Math.max(1, Math.min(options.maxBatch ?? DEFAULT_MAX_BATCH, 1000));
  const maxWaitMs = options.maxWaitMs ?? 0;
  const now = options.now ?? (() => new Date());
  const turns = options.turns;
  const waiting: Waiting[] = [];
  let timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  let writing: Promise<void> = Promise.resolve();

  function cancelTimer(): void {
    if (timer === null) return;
    if (maxWaitMs > 0) clearTimeout(timer as NodeJS.Timeout);
    else clearImmediate(timer as NodeJS.Immediate);
    timer = null;
  }

  async function write(group: Waiting[]): Promise<void> {
    // Repeats of one id inside a group: the first is the append, the rest are duplicates of it.
    const firsts = new Map<string, Waiting>();
    const repeats: Waiting[] = [];
    for (const item of group) {
      if (firsts.has(item.entry.id)) repeats.push(item);
      else firsts.set(item.entry.id, item);
    }
    const endTurn = turns ? await turns.take() : null;
    try {
      const taken = await appendDeliveries(client, [...firsts.values()].map((item) => item.entry), now().toISOString());
      for (const [id, item] of firsts) item.resolve(taken.has(id) ? "accepted" : "duplicate");
      for (const item of repeats) item.resolve("duplicate");
    } catch (error) {
      for (const item of group) item.reject(error);
    } finally {
      // Counted out before the turn ends: a processor giving way wakes at the release and looks at the count.
      turns?.countAppends(-group.length);
      endTurn?.();
    }
  }

  function flushNow(): Promise<void> {
    cancelTimer();
    if (waiting.length === 0) return writing;
    const group = waiting.splice(0, maxBatch);
    // Groups are written one after another, in the order they were formed.
    writing = writing.then(() => write(group));
    if (waiting.length > 0) return flushNow();
    return writing;
  }

  return {
    append(entry) {
      return new Promise<AppendResult>((resolve, reject) => {
        waiting.push({ entry, resolve, reject });
        turns?.countAppends(1);
        if (waiting.length >= maxBatch) void flushNow();
        else if (timer === null) timer = maxWaitMs > 0 ? setTimeout(flushNow, maxWaitMs) : setImmediate(flushNow);
      });
    },
    flush: flushNow,
    waiting: () => waiting.length,
  };
}
