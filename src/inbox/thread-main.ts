/**
 * The inbox thread (see thread.ts): opens its own connection to the store,
 * appends what the request thread hands over (group-committed) and runs the
 * processor. Handlers enqueue jobs on the libSQL queue of the same database;
 * the job worker on the main thread finds them by polling.
 */
import { parentPort, workerData } from "node:worker_threads";
import { pino } from "pino";
import { createLibsqlQueue } from "../queue/index.js";
import { openStore } from "../store/db.js";
import { createInbox } from "./index.js";
import type { InboxThreadConfig, ThreadReply, ThreadRequest } from "./thread.js";

const config = workerData as InboxThreadConfig;
const port = parentPort!;
const reply = (message: ThreadReply) => port.postMessage(message);
const pending = config.appendsPending ? new Int32Array(config.appendsPending) : null;

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
    writer: { maxBatch: config.maxBatch, maxWaitMs: config.maxWaitMs },
    appendsWaiting: () => pending !== null && Atomics.load(pending, 0) > 0,
  });
  let stopped = false;

  async function handle(request: ThreadRequest): Promise<unknown> {
    switch (request.type) {
      case "append": {
        // Taken up: the writer counts it as waiting from here on.
        const appended = inbox.writer.append(request.entry);
        if (pending) Atomics.sub(pending, 0, 1);
        const result = await appended;
        if (result === "accepted") inbox.processor.wake();
        return result;
      }
      case "start":
        if (!stopped) inbox.processor.start();
        return undefined;
      case "wake":
        inbox.processor.wake();
        return undefined;
      case "flush":
        return inbox.writer.flush();
      case "drain":
        return inbox.processor.drain({ remainingMs: () => request.deadline - Date.now() });
      case "stop":
        // Background shutdown and the runtime's close() may both ask: the store is closed once.
        if (stopped) return undefined;
        stopped = true;
        await inbox.writer.flush();
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
