/**
 * The inbox on a worker thread of its own (the node server's default with a
 * local libSQL file): the request thread verifies a delivery, parses it and
 * hands the entry over; the inbox thread owns a connection to the same file,
 * group-commits the appends and runs the processor. Writing and processing
 * no longer take turns with HTTP on one event loop, and with a second core
 * both go on at once.
 *
 * What stays on the calling thread: the synchronous path (`receiveNow`, for
 * `probot receive`, replay and the forge routes) and `processById`, which
 * lease the row by id as before, so the thread's processor never takes the
 * same delivery at the same time.
 */
import { Worker } from "node:worker_threads";
import type { Inbox } from "./index.js";
import { inboxEntryOf } from "./index.js";
import type { InboxEntry } from "./rows.js";
import type { AppendResult } from "./writer.js";

/** What the inbox thread needs to rebuild its side: no functions cross a thread. */
export interface InboxThreadConfig {
  databaseUrl: string;
  authToken?: string;
  busyTimeoutMs?: number;
  /** pino level of the thread's log ("silent" in tests). */
  logLevel?: string;
  batchSize?: number;
  leaseMs?: number;
  maxTries?: number;
  pollMs?: number;
  /** How long one batch transaction of the processor goes on (see processor.ts). */
  transactionMs?: number;
  /** Group commit: rows per transaction at most, and how long the first of a group waits. */
  maxBatch?: number;
  maxWaitMs?: number;
  /**
   * Appends handed over and not yet taken up by the thread (one Int32): the
   * thread's processor cannot see messages while a batch transaction runs,
   * so it reads this to commit early. Set by startInboxThread.
   */
  appendsPending?: SharedArrayBuffer;
}

export type ThreadRequest =
  | { type: "append"; seq: number; entry: InboxEntry }
  | { type: "drain"; seq: number; deadline: number }
  | { type: "start" | "stop" | "flush" | "wake"; seq: number };

export type ThreadReply =
  | { type: "ready" }
  | { type: "done"; seq: number; value?: AppendResult | number }
  | { type: "error"; seq: number; message: string }
  /** The thread could not open the store: nothing it was handed is lost (nothing was acknowledged). */
  | { type: "fatal"; message: string };

export interface ThreadedInbox extends Inbox {
  /** Stops the processor, writes what waits, closes the thread's store and ends the thread. */
  close(): Promise<void>;
}

/**
 * The thread's entry: compiled JavaScript in dist/; in development and tests
 * the TypeScript source, loaded through tsx (a worker does not inherit the
 * parent's loader).
 */
function newInboxWorker(config: InboxThreadConfig): Worker {
  const typescript = import.meta.url.endsWith(".ts");
  if (!typescript) return new Worker(new URL("./thread-main.js", import.meta.url), { workerData: config });
  const entry = new URL("./thread-main.ts", import.meta.url).href;
  const boot = `import("tsx/esm/api").then(({ tsImport }) => tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(boot, { eval: true, workerData: config });
}

/**
 * Starts the inbox thread and resolves once its store is open. `local` is the
 * calling thread's inbox on the same database: it keeps the synchronous path.
 */
export async function startInboxThread(local: Inbox, config: InboxThreadConfig): Promise<ThreadedInbox> {
  const appendsPending = new SharedArrayBuffer(4);
  const pending = new Int32Array(appendsPending);
  const worker = newInboxWorker({ ...config, appendsPending });
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextSeq = 1;
  let ended: Error | null = null;

  function failAll(error: Error): void {
    ended = error;
    for (const pending of waiting.values()) pending.reject(error);
    waiting.clear();
  }

  const ready = new Promise<void>((resolve, reject) => {
    worker.on("message", (reply: ThreadReply) => {
      if (reply.type === "ready") return resolve();
      if (reply.type === "fatal") {
        const error = new Error(`inbox thread: ${reply.message}`);
        failAll(error);
        return reject(error);
      }
      const pending = waiting.get(reply.seq);
      if (!pending) return;
      waiting.delete(reply.seq);
      if (reply.type === "done") pending.resolve(reply.value);
      else pending.reject(new Error(reply.message));
    });
    worker.once("error", (error) => {
      failAll(error);
      reject(error);
    });
    worker.once("exit", (code) => {
      const error = new Error(`inbox thread exited (code ${code})`);
      failAll(error);
      reject(error);
    });
  });

  function ask<T>(request: { type: ThreadRequest["type"]; entry?: InboxEntry; deadline?: number }): Promise<T> {
    if (ended) return Promise.reject(ended);
    const seq = nextSeq++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(seq, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ ...request, seq } as ThreadRequest);
    });
  }

  await ready;
  // The thread must not keep a finished process alive (CLI, tests); the server holds the process open anyway.
  worker.unref();

  function append(entry: InboxEntry): Promise<AppendResult> {
    Atomics.add(pending, 0, 1);
    return ask<AppendResult>({ type: "append", entry });
  }

  let closing: Promise<void> | null = null;
  return {
    accept: async (delivery) => append(inboxEntryOf(delivery)),
    receiveNow: (delivery) => local.receiveNow(delivery),
    writer: {
      append,
      flush: () => ask<void>({ type: "flush" }),
      waiting: () => Atomics.load(pending, 0),
    },
    processor: {
      processById: (id, options) => local.processor.processById(id, options),
      // A budget cannot cross to the thread; the instant it runs out can.
      drain: (budget) => ask<number>({ type: "drain", deadline: Date.now() + (budget?.remainingMs() ?? Number.POSITIVE_INFINITY) }),
      wake: () => void ask<void>({ type: "wake" }).catch(() => undefined),
      start: () => void ask<void>({ type: "start" }).catch(() => undefined),
      stop: () => (ended ? Promise.resolve() : ask<void>({ type: "stop" })),
    },
    close() {
      closing ??= (async () => {
        if (!ended) await ask<void>({ type: "stop" }).catch(() => undefined);
        await worker.terminate();
      })();
      return closing;
    },
  };
}
