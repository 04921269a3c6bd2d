/**
 * The webhook function: HTTP API → verify → ONE write → answer, well inside
 * GitHub's 10-second limit. With the deliveries queue configured (the
 * deployed stack) a verified delivery is one SQS message carrying its body
 * (or, too big for a message, one inbox row on the remote database) and the
 * answer is `202 accepted`; the ingest function processes it. Without the
 * queue the delivery is processed before the answer (200 processed /
 * duplicate / ignored, 500 for a handler failure), as on `probot receive`.
 *
 * Routes: the GitHub webhook path, `/api/webhooks/gitlab` and
 * `/api/webhooks/gitea` (off until their secrets are set), `/mcp` (behind
 * the admin token) and `/healthz` (ok / not ok, no database query). Requests
 * go through the same ingress code as the node server's, so the checks and
 * refusals are the same; this file adds what Lambda needs around it:
 * starting Probot once per container, API Gateway's event shape (base64
 * bodies, headers in any case, either payload format).
 */
import lambdaAdapter from "@probot/adapter-aws-lambda-serverless";
import type { ApplicationFunction, Probot } from "probot";
import { FORGE_WEBHOOK_PATHS, handleForgeRequest, type Forge, type ForgeSecrets } from "../forges/ingress.js";
import { DEFAULT_WEBHOOK_PATH, handleWebhookRequest, type WebhookResponse } from "../http/ingress-core.js";
import { MCP_PATH } from "../http/mcp.js";
import type { Inbox } from "../inbox/index.js";
import type { Store } from "../store/db.js";
import { httpRequestOf, jsonResult, type HttpApiEvent, type HttpApiResult, type HttpRequest } from "./events.js";
import type { DeliveryIntake } from "./intake.js";
import { handleMcpRequest } from "./mcp.js";

export const HEALTH_PATH = "/healthz";

/**
 * The largest body the function takes. Lambda refuses a synchronous event over 6 MB before the
 * function runs (API Gateway then answers on its own); the body's JSON escaping inside the event
 * makes that limit fuzzy, so the function draws a clear line below it and answers 413 itself.
 */
export const LAMBDA_MAX_WEBHOOK_BYTES = 5 * 1024 * 1024;

export interface WebhookHandlerOptions {
  probot: Probot;
  app: ApplicationFunction;
  store: Store;
  webhookPath?: string;
  /** The one write (SQS message or inbox row); without it deliveries are processed before the answer. */
  intake?: DeliveryIntake;
  /** The runtime's inbox, for processing before the answer when there is no intake. */
  inbox?: () => Promise<Pick<Inbox, "receiveNow">>;
  forgeSecrets?: ForgeSecrets;
  adminToken?: string | undefined;
  maxBytes?: number;
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

const FORGE_BY_PATH = new Map<string, Forge>(Object.entries(FORGE_WEBHOOK_PATHS).map(([forge, path]) => [path, forge as Forge]));

function answer(response: WebhookResponse): HttpApiResult {
  return jsonResult(response.status, response.body, response.headers);
}

export function createWebhookHandler(options: WebhookHandlerOptions): WebhookHandler {
  const { probot, store, intake } = options;
  const webhookPath = trimSlashes(options.webhookPath ?? DEFAULT_WEBHOOK_PATH);
  const maxBytes = options.maxBytes ?? LAMBDA_MAX_WEBHOOK_BYTES;
  const start = startOnce(probot, options.app);
  // @probot/adapter-aws-lambda-serverless, given a no-op app: startOnce loads ours and awaits it, which the
  // adapter does not (it calls probot.load without awaiting and never awaits probot.ready()).
  const adapterFunction = lambdaAdapter.createLambdaFunction(() => {}, { probot });
  // Begin during the container's init phase; the first event awaits whatever is left.
  start().catch(() => undefined);

  /** Forge deliveries: the one write and 202 with an intake, else stored and processed before the answer. */
  async function forgeInbox(): Promise<Pick<Inbox, "receiveNow">> {
    if (intake) return { receiveNow: async (delivery) => ({ status: (await intake.accept(delivery)).result === "duplicate" ? "duplicate" : "queued" }) };
    if (!options.inbox) throw new Error("no inbox for forge deliveries");
    return options.inbox();
  }

  async function github(request: HttpRequest): Promise<HttpApiResult> {
    if (!intake) {
      // Our checks answer bad requests with 4xx; a verified delivery then goes through the adapter's own
      // verify-and-receive, inside the slot that tells us what became of it.
      const deliver = () =>
        adapterFunction({ httpMethod: "POST", path: webhookPath, headers: request.headers, body: request.body } as never, {} as never);
      return answer(await handleWebhookRequest(probot, request, { deliver, maxBytes }));
    }
    const accept = async (delivery: Parameters<DeliveryIntake["accept"]>[0]) => (await intake.accept(delivery)).result;
    return answer(await handleWebhookRequest(probot, request, { inbox: { accept }, maxBytes }));
  }

  async function forge(forgeName: Forge, request: HttpRequest): Promise<HttpApiResult> {
    const body = Buffer.from(request.body, "utf8");
    const response = await handleForgeRequest(forgeName, { method: request.method, headers: request.headers, body }, {
      inbox: await forgeInbox(),
      secrets: options.forgeSecrets ?? {},
      maxBytes,
    });
    // With an intake the delivery is stored for the ingest function: the node route's 202 answer.
    if (intake && response.status === 200 && response.body.status === "queued") return jsonResult(202, { id: response.body.id, status: "accepted" });
    return answer(response);
  }

  return async function webhook(event) {
    const request = httpRequestOf(event);
    const path = trimSlashes(request.path);
    const started = () =>
      start().then(
        () => true,
        (error: unknown) => {
          probot.log?.error({ err: error }, "fixloop could not start");
          return false;
        },
      );
    if (path === HEALTH_PATH) {
      if (request.method !== "GET" && request.method !== "HEAD") return jsonResult(405, { error: "GET only" }, { allow: "GET" });
      // Cheap and public: whether this container can serve, no database query, no error text (the logs have it).
      return (await started()) ? jsonResult(200, { ok: true }) : jsonResult(503, { ok: false });
    }
    if (path === MCP_PATH) return handleMcpRequest(request, { store, adminToken: options.adminToken });
    const forgeName = FORGE_BY_PATH.get(path);
    if (path !== webhookPath && !forgeName) return jsonResult(404, { error: `no route for ${request.method} ${path}` });
    if (!(await started())) return jsonResult(500, { error: "fixloop could not start: see the function's log" });
    return forgeName ? forge(forgeName, request) : github(request);
  };
}
