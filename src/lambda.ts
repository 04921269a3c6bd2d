/**
 * The Lambda entry points named in serverless.yml:
 *  - `webhook`   HTTP API → verify, record, enqueue to SQS, answer;
 *  - `worker`    SQS → run fix jobs with the same handlers as the in-process worker;
 *  - `scheduled` every 5 minutes → resend stranded jobs, drain the feedback outbox,
 *                periodic outcome checks.
 * Everything is built once per container, on the first invocation, from the
 * environment: the remote libSQL store (no migrations: `fixloop migrate` runs
 * them at deploy), the SQS queue, and Probot from APP_ID / PRIVATE_KEY /
 * WEBHOOK_SECRET. Tests build the same handlers with createLambdaHandlers.
 */
import { createProbot, type Probot } from "probot";
import { fixloopApp } from "./app.js";
import type { ModelClient } from "./fix/model.js";
import { fixJobHandlers, type Octokit } from "./fix/pipeline.js";
import type { HttpApiEvent, HttpApiResult, LambdaContext, SqsBatchResponse, SqsEvent } from "./lambda/events.js";
import { createScheduledHandler, type ScheduledTask, type TaskReport } from "./lambda/scheduled.js";
import { remoteStoreFromEnv } from "./lambda/store.js";
import { createWebhookHandler, DEFAULT_WEBHOOK_PATH } from "./lambda/webhook.js";
import { createSqsWorkerHandler } from "./lambda/worker.js";
import { drainFeedbackOutbox } from "./outcomes/outbox.js";
import { runPeriodicOutcomeChecks } from "./outcomes/periodic.js";
import type { Logger } from "./queue/index.js";
import { queueFromEnv } from "./queue/select.js";
import { redispatchStrandedJobs, type SqsJobQueue } from "./queue/sqs.js";
import type { Store } from "./store/db.js";
import { gatewayConfigFromEnv } from "./tensorzero/gateway.js";
import { fixDepsFromEnv } from "./worker.js";

export interface LambdaDeps {
  store: Store;
  queue: SqsJobQueue;
  probot: Probot;
  env?: NodeJS.ProcessEnv;
  /** Overrides the TensorZero client built from TENSORZERO_URL (tests). */
  model?: ModelClient | null;
  now?: () => Date;
}

export interface LambdaHandlers {
  webhook(event: HttpApiEvent): Promise<HttpApiResult>;
  worker(event: SqsEvent, context?: LambdaContext): Promise<SqsBatchResponse>;
  scheduled(event?: unknown): Promise<{ tasks: TaskReport[] }>;
}

/** Builds once per container; a failed build (Probot could not start) is tried again by the next invocation. */
function once<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () =>
    (built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    }));
}

/** Probot's logger exists only once it has started. */
async function logOf(probot: Probot, name: string): Promise<Logger> {
  await probot.ready();
  return probot.log.child({ name }) as Logger;
}

export function createLambdaHandlers(deps: LambdaDeps): LambdaHandlers {
  const env = deps.env ?? process.env;
  const { store, queue, probot } = deps;
  const webhook = createWebhookHandler({
    probot,
    store,
    app: fixloopApp({ store, queue }),
    webhookPath: env.WEBHOOK_PATH || DEFAULT_WEBHOOK_PATH,
  });

  const workerHandler = once(() =>
    logOf(probot, "worker").then((log) => {
      const fix = fixDepsFromEnv({ probot, store, log, queue, env, ...(deps.model !== undefined ? { model: deps.model } : {}) });
      return createSqsWorkerHandler({ store, queue, handlers: fixJobHandlers(fix), log, now: deps.now });
    }),
  );

  const scheduledHandler = once(() =>
    logOf(probot, "scheduled").then((log) => {
      const gateway = gatewayConfigFromEnv(env);
      const github = async (installationId: number | null) => {
        if (installationId === null) throw new Error("no installation id: cannot read GitHub");
        return (await probot.auth(installationId)) as Octokit;
      };
      const tasks: ScheduledTask[] = [
        { name: "resend-stranded-jobs", run: async (now) => ({ resent: await redispatchStrandedJobs(store, queue, { now }) }) },
        { name: "drain-feedback-outbox", run: (now) => drainFeedbackOutbox({ store, gateway, log, now: () => now }) },
        { name: "periodic-outcome-checks", run: (now) => runPeriodicOutcomeChecks({ store, github, log, queue, now }) },
      ];
      return createScheduledHandler({ tasks, log, now: deps.now });
    }),
  );

  return {
    webhook,
    async worker(event, context) {
      return (await workerHandler())(event, context);
    },
    async scheduled(event) {
      return (await scheduledHandler())(event);
    },
  };
}

/** The container's handlers, from the environment, built on first use; a failed build is retried by the next invocation. */
let fromEnv: LambdaHandlers | undefined;
function handlersFromEnv(): LambdaHandlers {
  if (fromEnv) return fromEnv;
  const env = process.env;
  const store = remoteStoreFromEnv(env);
  // Lambda has no in-process worker, so the jobs table alone would never run a job: SQS unless said otherwise, and only SQS.
  const selected = queueFromEnv(store, { env: { ...env, FIXLOOP_QUEUE: env.FIXLOOP_QUEUE || "sqs" } });
  if (selected.kind !== "sqs") throw new Error(`FIXLOOP_QUEUE=${selected.kind}: on Lambda the queue must be SQS (FIXLOOP_QUEUE=sqs)`);
  const probot = createProbot({ env });
  fromEnv = createLambdaHandlers({ store, queue: selected.queue, probot, env });
  return fromEnv;
}

export const webhook = (event: HttpApiEvent): Promise<HttpApiResult> => handlersFromEnv().webhook(event);
export const worker = (event: SqsEvent, context?: LambdaContext): Promise<SqsBatchResponse> => handlersFromEnv().worker(event, context);
export const scheduled = (event?: unknown): Promise<{ tasks: TaskReport[] }> => handlersFromEnv().scheduled(event);
