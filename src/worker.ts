/**
 * The in-process worker that runs fix jobs beside the server (the embedded
 * default). On Lambda the same handlers run behind SQS instead.
 */
import type { Logger } from "pino";
import type { Probot } from "probot";
import { createTensorZeroModelClient, type ModelClient } from "./fix/model.js";
import { fixJobHandlers, type FixDeps, type Octokit } from "./fix/pipeline.js";
import { outcomeJobHandlers } from "./outcomes/jobs.js";
import { createLibsqlQueue, createWorker, type JobQueue, type Worker } from "./queue/index.js";
import type { Store } from "./store/db.js";
import { gatewayConfigFromEnv } from "./tensorzero/gateway.js";

export interface FixRuntimeOptions {
  probot: Probot;
  store: Store;
  log: Logger;
  queue?: JobQueue;
  model?: ModelClient | null;
  env?: NodeJS.ProcessEnv;
}

function positiveNumber(value: string | undefined): number | null {
  if (value === undefined || value.trim() === "") return null;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`expected a non-negative number, got "${value}"`);
  return n;
}

export function fixDepsFromEnv(options: FixRuntimeOptions): FixDeps {
  const env = options.env ?? process.env;
  const gateway = gatewayConfigFromEnv(env);
  const model = options.model !== undefined ? options.model : gateway ? createTensorZeroModelClient({ gateway }) : null;
  if (!model) options.log.warn("TENSORZERO_URL is not set: failures are recorded and triaged, but no fix is proposed");
  return {
    store: options.store,
    github: async (installationId) => {
      if (installationId === null) throw new Error("the delivery names no installation: cannot act on GitHub");
      return (await options.probot.auth(installationId)) as Octokit;
    },
    model,
    queue: options.queue ?? createLibsqlQueue(options.store),
    log: options.log,
    dryRun: env.FIXLOOP_DRY_RUN === "1" || env.FIXLOOP_DRY_RUN === "true",
    globalTokensPerDay: positiveNumber(env.FIXLOOP_MAX_TOKENS_PER_DAY),
  };
}

export function createFixWorker(options: FixRuntimeOptions): Worker {
  const env = options.env ?? process.env;
  const deps = fixDepsFromEnv(options);
  return createWorker({
    store: options.store,
    handlers: { ...fixJobHandlers(deps), ...outcomeJobHandlers(deps) },
    concurrency: positiveNumber(env.FIXLOOP_WORKER_CONCURRENCY) ?? 2,
    log: options.log,
  });
}
