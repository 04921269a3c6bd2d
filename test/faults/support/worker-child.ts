/**
 * A fix worker in its own process, for the SIGKILL fault test: the same
 * handlers and deps the server's worker runs (fixDepsFromEnv, fix and outcome
 * job handlers), on a shared libSQL file, with GitHub and TensorZero wherever
 * the environment points. Run with `node --import tsx`.
 *
 * Environment: DATABASE_URL (file:…), GITHUB_BASE_URL, TENSORZERO_URL,
 * PRIVATE_KEY (PEM), FIXLOOP_LEASE_MS, FIXLOOP_POLL_MS, WORKER_NAME,
 * LOG_LEVEL (default warn, to stderr). Prints "ready" once polling; SIGTERM
 * stops it cleanly (exit 0).
 */
import { pino } from "pino";
import { Probot } from "probot";
import { fixJobHandlers } from "../../../src/fix/pipeline.js";
import { outcomeJobHandlers } from "../../../src/outcomes/jobs.js";
import { createLibsqlQueue, createWorker } from "../../../src/queue/index.js";
import { openStore } from "../../../src/store/db.js";
import { fixDepsFromEnv } from "../../../src/worker.js";
import { unthrottledOctokit } from "./octokit.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

function milliseconds(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of milliseconds`);
  return value;
}

async function main(): Promise<void> {
  const name = process.env.WORKER_NAME ?? "child";
  const log = pino({ level: process.env.LOG_LEVEL ?? "warn", base: { worker: name } }, pino.destination(2));
  const probot = new Probot({
    appId: 123,
    privateKey: required("PRIVATE_KEY"),
    baseUrl: required("GITHUB_BASE_URL"),
    log,
    // Answers come from a loopback fake: no rate limits to respect, and a retry would only blur the request counts.
    Octokit: unthrottledOctokit(),
  });
  const store = await openStore({ url: required("DATABASE_URL") });
  const queue = createLibsqlQueue(store);
  const deps = fixDepsFromEnv({ probot, store, queue, log, env: process.env });
  const worker = createWorker({
    store,
    handlers: { ...fixJobHandlers(deps), ...outcomeJobHandlers(deps) },
    concurrency: 1,
    leaseMs: milliseconds("FIXLOOP_LEASE_MS", 60_000),
    pollMs: milliseconds("FIXLOOP_POLL_MS", 1_000),
    owner: `${name}:${process.pid}`,
    log,
  });
  worker.start();
  process.stdout.write("ready\n");
  process.once("SIGTERM", () => {
    void worker
      .stop()
      .then(() => store.close())
      .then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
