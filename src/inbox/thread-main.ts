/**
 * The inbox thread (see thread.ts): opens its own connection to the store and
 * runs the processor, taking write turns with the request thread's appends.
 * Handlers enqueue jobs on the libSQL queue of the same database; the job
 * worker on the main thread finds them by polling.
 */
import { parentPort, workerData } from "node:worker_threads";
import { pino } from "pino";
import { createLibsqlQueue } from "../queue/index.js";
import { openStore } from "../store/db.js";
import { createInbox } from "./index.js";
import type { InboxThreadConfig, ThreadReply, ThreadRequest } from "./thread.js";
import { createWriteTurns } from "./write-turns.js";

const config = workerData as InboxThreadConfig;
/** See DeliveryProcessorOptions.checkpointEveryMs: at ~2,000 deliveries/s of ~20 KB (~4 pages of 8 KB each) ~4,000 pages at most, half the automatic mark. */
const CHECKPOINT_EVERY_MS = 500;
const port = parentPort!;
const processorIdle = config.processorIdle ? new Int32Array(config.processorIdle) : null;
const reply = (message: ThreadReply) => port.postMessage(message);

async function main(): Promise<void> {
  // Migrations ran on the main thread before this thread was started.
  const store = await openStore({ url: config.databaseUrl, authToken: config.authToken, busyTimeoutMs: config.busyTimeoutMs, migrate: false });
  const log = pino({ level: config.logLevel ?? "info", name: "inbox" });
  const inbox = createInbox({
    store,
    log,
    queue: createLibsqlQueue(store),
    batchSize: config.batchSize,
    leaseMs: config.leaseMs,
    maxTries: config.maxTries,
    pollMs: config.pollMs,
    transactionMs: config.transactionMs,
    turns: createWriteTurns(config.turns),
    checkpointEveryMs: CHECKPOINT_EVERY_MS,
    onIdle: processorIdle ? (value) => Atomics.store(processorIdle, 0, value ? 1 : 0) : undefined,
  });
  let stopped = false;

  async function handle(request: ThreadRequest): Promise<unknown> {
    switch (request.type) {
      case "start":
        if (!stopped) inbox.processor.start();
        return undefined;
      case "wake":
        inbox.processor.wake();
        return undefined;
      case "drain":
        return inbox.processor.drain({ remainingMs: () => request.deadline - Date.now() });
      case "stop":
        // Background shutdown and the runtime's close() may both ask: the store is closed once.
        if (stopped) return undefined;
        stopped = true;
        await inbox.processor.stop();
        store.close();
        return undefined;
    }
  }

  port.on("message", (request: ThreadRequest) => {
    handle(request).then(
      (value) => reply({ type: "done", seq: request.seq, value: value as number | undefined }),
      (error: unknown) => reply({ type: "error", seq: request.seq, message: error instanceof Error ? error.message : String(error) }),
    );
  });
  reply({ type: "ready" });
}

main().catch((error: unknown) => reply({ type: "fatal", message: error instanceof Error ? error.message : String(error) }));
