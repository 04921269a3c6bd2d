/**
 * The inbox processor on a worker thread of its own (the node server's
 * default with a local libSQL file). The request thread verifies a delivery
 * and appends it (group-committed) on its own connection, then answers; the
 * inbox thread owns a second connection to the same file and processes. The
 * two take write turns in shared memory (write-turns.ts), appends first, so
 * an answer never waits behind processing and processing has a core of its
 * own. (The appends were on the inbox thread once: it then spent about a
 * third of its time on them and was the limit, while the request thread
 * idled.)
 *
 * What stays on the calling thread: the appends, the synchronous path
 * (`receiveNow`, for `probot receive`, replay and the forge routes) and
 * `processById`, which lease the row by id as before, so the thread's
 * processor never takes the same delivery at the same time.
 */
import { Worker } from "node:worker_threads";
import type { Inbox } from "./index.js";

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
  /** The calling inbox's write turns (set by startInboxThread). */
  turns?: SharedArrayBuffer;
  /** One Int32 the thread's processor sets to 1 while it may be asleep (set by startInboxThread). */
  processorIdle?: SharedArrayBuffer;
}

export type ThreadRequest = { type: "drain"; seq: number; deadline: number } | { type: "start" | "stop" | "wake"; seq: number };

export type ThreadReply =
  | { type: "ready" }
  | { type: "done"; seq: number; value?: number }
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
 * calling thread's inbox on the same database: it keeps the appends and the
 * synchronous path.
 */
export async function startInboxThread(local: Inbox, config: InboxThreadConfig): Promise<ThreadedInbox> {
  const processorIdle = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  const idle = new Int32Array(processorIdle);
  const worker = newInboxWorker({ ...config, turns: local.turns.buffer, processorIdle });
  // The processor is on the other thread now: waking it at the end of every group commit would cost this thread more than it saves (write-turns.ts).
  local.turns.quiet = true;
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

  function ask<T>(request: { type: ThreadRequest["type"]; deadline?: number }): Promise<T> {
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

  // Only a processor that may be asleep is woken: it says so in shared memory before its last look at the inbox,
  // and the swap back to 0 makes this one message per time it went idle. A postMessage to a sleeping thread
  // costs the sender ~35 µs here, and under load the running processor finds new deliveries by itself.
  function wake(): void {
    if (Atomics.compareExchange(idle, 0, 1, 0) !== 1) return;
    ask<void>({ type: "wake" }).catch(() => undefined);
  }

  let closing: Promise<void> | null = null;
  return {
    async accept(delivery) {
      // Closed on purpose (shutdown): nothing would process it here. A thread that died leaves appends going, for the next start.
      if (closing) throw new Error("inbox is closed");
      // The local inbox appends; its own processor's wake is a no-op (it is not started), the thread's is not.
      const result = await local.accept(delivery);
      if (result === "accepted") wake();
      return result;
    },
    receiveNow: (delivery) => local.receiveNow(delivery),
    writer: local.writer,
    turns: local.turns,
    processor: {
      processById: (id, options) => local.processor.processById(id, options),
      // A budget cannot cross to the thread; the instant it runs out can.
      drain: (budget) => ask<number>({ type: "drain", deadline: Date.now() + (budget?.remainingMs() ?? Number.POSITIVE_INFINITY) }),
      wake,
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
