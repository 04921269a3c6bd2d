/**
 * A fix worker in its own process, for the SIGKILL fault test: the job
 * handlers of the server's runtime (createRuntime), on a shared libSQL file, with GitHub and TensorZero wherever
 * the environment points. Run with `node --import tsx`.
 *
 * Environment: DATABASE_URL (file:…), GITHUB_BASE_URL, TENSORZERO_URL,
 * PRIVATE_KEY (PEM), FIXLOOP_LEASE_MS, FIXLOOP_POLL_MS, WORKER_NAME,
 * LOG_LEVEL (default warn, to stderr). Prints "ready" once polling; SIGTERM
 * stops it cleanly (exit 0).
 */
import { pino } from "pino";
import { Probot } from "probot";
import { createWorker } from "../../../src/queue/index.js";
import { createRuntime } from "../../../src/runtime.js";
import { openStore } from "../../../src/store/db.js";
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
  const runtime = await createRuntime({ probot, env: process.env, store: await openStore({ url: required("DATABASE_URL") }) });
  const store = runtime.store;
  const worker = createWorker({
    store,
    handlers: runtime.jobHandlers,
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
      .then(() => runtime.close())
      .then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
