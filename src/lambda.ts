/**
 * The Lambda entry points named in serverless.yml, each the shared runtime
 * (createRuntime) attached to one AWS transport:
 *  - `webhook`   HTTP API → verify, one write (a message on the deliveries queue), answer 202;
 *                also the GitLab/Gitea routes, /mcp and /healthz;
 *  - `ingest`    SQS deliveries queue → the inbox (deduplicated) and its processor's handlers;
 *  - `worker`    SQS jobs queue → run jobs with the runtime's job handlers (the in-process worker's own);
 *  - `scheduled` every 5 minutes → the runtime's periodic chores (resend stranded jobs,
 *                drain the feedback outbox, outcome checks).
 * The runtime is built once per container, on the first invocation, from the
 * environment: the remote libSQL store (no migrations: `fixloop migrate` runs
 * them at deploy), the SQS queue, and Probot from APP_ID / PRIVATE_KEY /
 * WEBHOOK_SECRET. Tests build the same handlers with createLambdaHandlers.
 */
import type { SQSClient } from "@aws-sdk/client-sqs";
import { createProbot, type ApplicationFunction, type Probot } from "probot";
import { assertStartable } from "./config/startup.js";
import type { ModelClient } from "./fix/model.js";
import { forgeSecretsFromEnv } from "./forges/ingress.js";
import type { HttpApiEvent, HttpApiResult, LambdaContext, SqsBatchResponse, SqsEvent } from "./lambda/events.js";
import { createIngestHandler } from "./lambda/ingest.js";
import { createDeliveryIntake, DEFAULT_SQS_MAX_MESSAGE_BYTES } from "./lambda/intake.js";
import { secretSourceFromEnv, type SecretSource } from "./lambda/secrets.js";
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
  /**
   * The deliveries queue (FIXLOOP_SQS_DELIVERY_QUEUE_URL): the webhook's one write. Without it the
   * webhook processes each delivery before answering.
   */
  deliveries?: { sqs: SQSClient; queueUrl: string; maxMessageBytes?: number };
  /** Overrides the TensorZero client built from TENSORZERO_URL (tests). */
  model?: ModelClient | null;
  now?: () => Date;
}

export interface LambdaHandlers {
  webhook(event: HttpApiEvent): Promise<HttpApiResult>;
  ingest(event: SqsEvent, context?: LambdaContext): Promise<SqsBatchResponse>;
  worker(event: SqsEvent, context?: LambdaContext): Promise<SqsBatchResponse>;
  scheduled(event?: unknown, context?: LambdaContext): Promise<{ tasks: TaskReport[] }>;
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
  const intake = deps.deliveries && createDeliveryIntake({ ...deps.deliveries, client: store.client, now: deps.now });
  const webhook = createWebhookHandler({
    probot,
    store,
    app,
    webhookPath: env.WEBHOOK_PATH || undefined,
    intake,
    inbox: async () => (await runtime()).inbox,
    forgeSecrets: forgeSecretsFromEnv(env),
    adminToken: env.FIXLOOP_ADMIN_TOKEN || undefined,
  });
  const onRuntime = <H>(build: (r: Runtime) => H) => once(async () => build(await runtime()));
  const ingest = onRuntime((r) => {
    if (!deps.deliveries) throw new Error("the ingest function needs the deliveries queue (FIXLOOP_SQS_DELIVERY_QUEUE_URL)");
    const log = r.log.child({ name: "ingest" });
    return createIngestHandler({ store, processor: r.inbox.processor, sqs: deps.deliveries.sqs, queueUrl: deps.deliveries.queueUrl, log, now: deps.now });
  });
  const worker = onRuntime((r) =>
    createSqsWorkerHandler({ store, queue, handlers: r.jobHandlers, log: r.log.child({ name: "worker" }), now: deps.now }),
  );
  const scheduled = onRuntime((r) => createScheduledHandler({ tasks: r.periodicTasks, log: r.log.child({ name: "scheduled" }), now: deps.now }));
  return {
    webhook,
    ingest: async (event, context) => (await ingest())(event, context),
    worker: async (event, context) => (await worker())(event, context),
    scheduled: async (event, context) => (await scheduled())(event, context),
  };
}

export type LambdaFunctionName = "webhook" | "ingest" | "worker" | "scheduled";

/**
 * The container's handlers, from the environment and the function's run-time secrets (secrets.ts),
 * built on first use and built again when a secret changed (rotation, revocation): the new values
 * take effect within one secrets TTL, no deploy needed. A container runs one invocation at a time,
 * so the old store can be closed between two.
 */
let built: { key: string; handlers: LambdaHandlers; store: { close(): void } } | undefined;
let secrets: SecretSource | null | undefined;

async function handlersFor(fn: LambdaFunctionName): Promise<LambdaHandlers> {
  secrets ??= secretSourceFromEnv(process.env);
  const values = secrets ? await secrets.get() : {};
  const key = JSON.stringify(values);
  if (built && built.key === key) return built.handlers;
  built?.store.close();
  built = undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, ...values };
  // Only the webhook function verifies deliveries; the others are not given the webhook secret.
  assertStartable(env, { webhooks: fn === "webhook" });
  const store = remoteStoreFromEnv(env);
  // Lambda has no in-process worker, so the jobs table alone would never run a job: SQS unless said otherwise, and only SQS.
  const selected = queueFromEnv(store, { env: { ...env, FIXLOOP_QUEUE: env.FIXLOOP_QUEUE || "sqs" } });
  if (selected.kind !== "sqs") throw new Error(`FIXLOOP_QUEUE=${selected.kind}: on Lambda the queue must be SQS (FIXLOOP_QUEUE=sqs)`);
  const deliveryQueueUrl = env.FIXLOOP_SQS_DELIVERY_QUEUE_URL?.trim();
  const maxMessageBytes = Number(env.FIXLOOP_SQS_MAX_MESSAGE_BYTES) || DEFAULT_SQS_MAX_MESSAGE_BYTES;
  const deliveries = deliveryQueueUrl ? { sqs: selected.queue.client, queueUrl: deliveryQueueUrl, maxMessageBytes } : undefined;
  // The webhook and ingest functions never call GitHub, so their roles do not get the private key; Probot
  // insists on credentials, and a token that is never used keeps that promise visible.
  const probot = env.PRIVATE_KEY
    ? createProbot({ env })
    : createProbot({ env, overrides: { githubToken: "fixloop-function-without-github-credentials" } });
  const handlers = createLambdaHandlers({ store, queue: selected.queue, probot, env, deliveries });
  built = { key, handlers, store };
  return handlers;
}

export const webhook = async (event: HttpApiEvent): Promise<HttpApiResult> => (await handlersFor("webhook")).webhook(event);
export const ingest = async (event: SqsEvent, context?: LambdaContext): Promise<SqsBatchResponse> => (await handlersFor("ingest")).ingest(event, context);
export const worker = async (event: SqsEvent, context?: LambdaContext): Promise<SqsBatchResponse> => (await handlersFor("worker")).worker(event, context);
export const scheduled = async (event?: unknown, context?: LambdaContext): Promise<{ tasks: TaskReport[] }> =>
  (await handlersFor("scheduled")).scheduled(event, context);
