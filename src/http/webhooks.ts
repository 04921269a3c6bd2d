/**
 * The webhook ingress on node's HTTP server: the transport around
 * ingress-core.ts, which decides every answer (the Lambda handler uses the
 * same core). Cheap checks run before the body is read; the body is read with
 * GitHub's size cap and never buffered past it, within the process's budget
 * for unverified bodies (body-budget.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Probot } from "probot";
import type { Inbox } from "../inbox/index.js";
import { DEFAULT_WEBHOOK_PATH, handleWebhookRequest, MAX_WEBHOOK_BYTES, precheckWebhookRequest, type WebhookResponse } from "./ingress-core.js";
import { budgetExceededAnswer, BodyBudgetExceededError, createBodyBudget, readBudgetedBody, type BodyBudget, type BudgetedBody } from "./body-budget.js";
import { BodyTooLargeError, requestUrl, sendJson } from "./respond.js";
import { githubSignatureCheck } from "./signature.js";

export { DEFAULT_WEBHOOK_PATH, MAX_WEBHOOK_BYTES };

function send(res: ServerResponse, answer: WebhookResponse): true {
  return sendJson(res, answer.status, answer.body, answer.headers);
}

export interface WebhookIngressOptions {
  probot: Probot;
  path?: string;
  maxBytes?: number;
  inbox?: Inbox;
  bodyBudget?: BodyBudget;
  /** The secret Probot was given (WEBHOOK_SECRET): signatures are then checked on the bytes read (signature.ts says why). */
  webhookSecret?: string;
}

export function createWebhookIngress(options: WebhookIngressOptions) {
  const path = (options.path ?? DEFAULT_WEBHOOK_PATH).replace(/\/+$/, "");
  const checkSignature = options.webhookSecret ? githubSignatureCheck(options.webhookSecret) : undefined;
  const budget = options.bodyBudget ?? createBodyBudget();
  const maxBytes = options.maxBytes ?? MAX_WEBHOOK_BYTES;
  return async function webhookIngress(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const pathname = requestUrl(req).pathname.replace(/\/+$/, "");
    // Probot's setup page registers the new app's webhook at the site root (`https://host/`): take GitHub deliveries there too.
    const atRoot = pathname === "" && req.method === "POST" && req.headers["x-github-event"] !== undefined;
    if (pathname !== path && !atRoot) return false;
    const request = { method: req.method ?? "GET", headers: req.headers };
    const refused = precheckWebhookRequest(request);
    if (refused) return send(res, refused);
    let read: BudgetedBody;
    try {
      read = await readBudgetedBody(req, maxBytes, budget);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return sendJson(res, 413, { error: error.message });
      if (error instanceof BodyBudgetExceededError) return send(res, budgetExceededAnswer(error));
      throw error;
    }
    try {
      return send(res, await handleWebhookRequest(options.probot, { ...request, body: read.body }, { maxBytes, inbox: options.inbox, checkSignature }));
    } finally {
      read.release();
    }
  };
}
