/**
 * The webhook function: verify, record, enqueue, answer — well inside
 * GitHub's 10-second limit, since the fix itself runs later in the worker
 * function. Requests go through the same ingress core as the node server, so
 * the answers are the same; this file adds what Lambda needs around it:
 * loading the app once per container and awaiting Probot's asynchronous
 * start before the first event, API Gateway's event shape (base64 bodies,
 * headers in any case, either payload format) and the health route.
 */
import lambdaAdapter from "@probot/adapter-aws-lambda-serverless";
import type { ApplicationFunction, Probot } from "probot";
import { checkHealth } from "../http/health.js";
import { DEFAULT_WEBHOOK_PATH, handleWebhookRequest } from "../http/ingress-core.js";
import type { Store } from "../store/db.js";
import { httpRequestOf, jsonResult, type HttpApiEvent, type HttpApiResult } from "./events.js";

export const HEALTH_PATH = "/healthz";

export interface WebhookHandlerOptions {
  probot: Probot;
  app: ApplicationFunction;
  store: Store;
  webhookPath?: string;
}

export type WebhookHandler = (event: HttpApiEvent) => Promise<HttpApiResult>;

function trimSlashes(path: string): string {
  return path.replace(/\/+$/, "") || "/";
}

/**
 * Probot 14 starts asynchronously: until `ready()` resolves, `probot.webhooks`
 * is null and listeners registered by `load` are not attached yet. Both are
 * awaited once per container; a failed start is retried on the next event
 * rather than cached for the container's life.
 */
function startOnce(probot: Probot, app: ApplicationFunction): () => Promise<void> {
  let started: Promise<void> | null = null;
  return () => {
    started ??= (async () => {
      await probot.load(app);
      await probot.ready();
    })().catch((error: unknown) => {
      started = null;
      throw error;
    });
    return started;
  };
}

export function createWebhookHandler(options: WebhookHandlerOptions): WebhookHandler {
  const { probot, store } = options;
  const webhookPath = trimSlashes(options.webhookPath ?? DEFAULT_WEBHOOK_PATH);
  const start = startOnce(probot, options.app);
  // @probot/adapter-aws-lambda-serverless, given a no-op app: startOnce loads ours and awaits it, which the
  // adapter does not (it calls probot.load without awaiting and never awaits probot.ready()).
  const adapterFunction = lambdaAdapter.createLambdaFunction(() => {}, { probot });
  // Begin during the container's init phase; the first event awaits whatever is left.
  start().catch(() => undefined);

  return async function webhook(event) {
    const request = httpRequestOf(event);
    const path = trimSlashes(request.path);
    if (path === HEALTH_PATH) {
      if (request.method !== "GET" && request.method !== "HEAD") return jsonResult(405, { error: "GET only" }, { allow: "GET" });
      const health = await checkHealth(store);
      return jsonResult(health.status, health.body);
    }
    if (path !== webhookPath) return jsonResult(404, { error: `no route for ${request.method} ${path}` });
    try {
      await start();
    } catch (error) {
      probot.log?.error({ err: error }, "fixloop could not start; answering 500 so GitHub shows the delivery as failed");
      return jsonResult(500, { error: `fixloop could not start: ${(error as Error).message}` });
    }
    // Our checks answer bad requests with 4xx; a verified delivery then goes through the adapter's own
    // verify-and-receive, inside the slot that tells us what became of it.
    const deliver = () =>
      adapterFunction({ httpMethod: "POST", path: webhookPath, headers: request.headers, body: request.body } as never, {} as never);
    const answer = await handleWebhookRequest(probot, { method: request.method, headers: request.headers, body: request.body }, { deliver });
    return jsonResult(answer.status, answer.body, answer.headers);
  };
}
