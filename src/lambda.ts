/**
 * The Lambda entry points named in serverless.yml, each the shared runtime
 * (createRuntime) attached to one AWS transport:
 *  - `webhook`   HTTP API → verify, record, enqueue to SQS, answer;
 *  - `worker`    SQS → run jobs with the runtime's job handlers (the in-process worker's own);
 *  - `scheduled` every 5 minutes → the runtime's periodic chores (resend stranded jobs,
 *                drain the feedback outbox, outcome checks).
 * The runtime is built once per container, on the first invocation, from the
 * environment: the remote libSQL store (no migrations: `fixloop migrate` runs
 * them at deploy), the SQS queue, and Probot from APP_ID / PRIVATE_KEY /
 * WEBHOOK_SECRET. Tests build the same handlers with createLambdaHandlers.
 */
import { createProbot, type ApplicationFunction, type Probot } from "probot";
import { assertStartable } from "./config/startup.js";
import type { ModelClient } from "./fix/model.js";
import type { HttpApiEvent, HttpApiResult, LambdaContext, SqsBatchResponse, SqsEvent } from "./lambda/events.js";
import { createScheduledHandler, type TaskReport } from "./lambda/scheduled.js";
import { remoteStoreFromEnv } from "./lambda/store.js";
import { createWebhookHandler } from "./lambda/webhook.js";
import { createSqsWorkerHandler } from "./lambda/worker.js";
import { queueFromEnv } from "./queue/select.js";
import type { SqsJobQueue } from "./queue/sqs.js";
import { createRuntime, type Runtime } from "./runtime.js";
import type { Store } from "./store/db.js";

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

export function createLambdaHandlers(deps: LambdaDeps): LambdaHandlers {
  const env = deps.env ?? process.env;
  const { store, queue, probot } = deps;
  const runtime = once(() =>
    createRuntime({ probot, env, store, queue: { kind: "sqs", queue }, now: deps.now, ...(deps.model !== undefined ? { model: deps.model } : {}) }),
  );
  // The webhook handler loads the app itself (awaiting Probot's start), and answers /healthz even when the app cannot start.
  const app: ApplicationFunction = async (p, options) => (await runtime()).app(p, options);
  const webhook = createWebhookHandler({ probot, store, app, webhookPath: env.WEBHOOK_PATH || undefined });
  const onRuntime = <H>(build: (r: Runtime) => H) => once(async () => build(await runtime()));
  const worker = onRuntime((r) =>
    createSqsWorkerHandler({ store, queue, handlers: r.jobHandlers, log: r.log.child({ name: "worker" }), now: deps.now }),
  );
  const scheduled = onRuntime((r) => createScheduledHandler({ tasks: r.periodicTasks, log: r.log.child({ name: "scheduled" }), now: deps.now }));
  return {
    webhook,
    worker: async (event, context) => (await worker())(event, context),
    scheduled: async (event) => (await scheduled())(event),
  };
}

/** The container's handlers, from the environment, built on first use. */
let fromEnv: LambdaHandlers | undefined;
function handlersFromEnv(): LambdaHandlers {
  if (fromEnv) return fromEnv;
  const env = process.env;
  assertStartable(env, { webhooks: true });
  const store = remoteStoreFromEnv(env);
  // Lambda has no in-process worker, so the jobs table alone would never run a job: SQS unless said otherwise, and only SQS.
  const selected = queueFromEnv(store, { env: { ...env, FIXLOOP_QUEUE: env.FIXLOOP_QUEUE || "sqs" } });
  if (selected.kind !== "sqs") throw new Error(`FIXLOOP_QUEUE=${selected.kind}: on Lambda the queue must be SQS (FIXLOOP_QUEUE=sqs)`);
  fromEnv = createLambdaHandlers({ store, queue: selected.queue, probot: createProbot({ env }), env });
  return fromEnv;
}

export const webhook = (event: HttpApiEvent): Promise<HttpApiResult> => handlersFromEnv().webhook(event);
export const worker = (event: SqsEvent, context?: LambdaContext): Promise<SqsBatchResponse> => handlersFromEnv().worker(event, context);
export const scheduled = (event?: unknown): Promise<{ tasks: TaskReport[] }> => handlersFromEnv().scheduled(event);
