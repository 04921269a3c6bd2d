/**
 * The webhook ingress. It does what Probot's middleware does (headers,
 * signature, JSON) but answers with what happened to the delivery, so a
 * redelivery is answered as a duplicate and a handler failure as a 500 with
 * the delivery row kept. Nothing is stored before the signature is verified.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Probot } from "probot";
import { receiveWithAnswer } from "../app.js";
import { rememberPayloadJson } from "../handlers/index.js";
import { BodyTooLargeError, readBody, requestUrl, sendJson } from "./respond.js";

export const DEFAULT_WEBHOOK_PATH = "/api/github/webhooks";
/** GitHub caps webhook payloads at 25 MB. */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

const REQUIRED_HEADERS = ["x-github-event", "x-github-delivery", "x-hub-signature-256"] as const;

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function createWebhookIngress(options: { probot: Probot; path?: string; maxBytes?: number }) {
  const path = (options.path ?? DEFAULT_WEBHOOK_PATH).replace(/\/+$/, "");
  const maxBytes = options.maxBytes ?? MAX_WEBHOOK_BYTES;
  return async function webhookIngress(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (requestUrl(req).pathname.replace(/\/+$/, "") !== path) return false;
    if (req.method !== "POST") return sendJson(res, 405, { error: "webhooks are POSTed" }, { allow: "POST" });
    const missing = REQUIRED_HEADERS.filter((name) => !header(req, name));
    if (missing.length > 0) return sendJson(res, 400, { error: `required headers missing: ${missing.join(", ")}` });
    const contentType = header(req, "content-type") ?? "";
    if (!/^\s*application\/json\s*(;|$)/i.test(contentType)) {
      return sendJson(res, 415, { error: 'content type must be application/json (set it in the app\'s webhook settings)' });
    }
    let body: string;
    try {
      body = (await readBody(req, maxBytes)).toString("utf8");
    } catch (error) {
      if (error instanceof BodyTooLargeError) return sendJson(res, 413, { error: error.message });
      throw error;
    }
    const id = header(req, "x-github-delivery")!;
    const name = header(req, "x-github-event")!;
    const signature = header(req, "x-hub-signature-256")!;
    let verified = false;
    try {
      verified = await options.probot.webhooks.verify(body, signature);
    } catch {
      verified = false;
    }
    if (!verified) return sendJson(res, 401, { error: "signature does not match: check WEBHOOK_SECRET" });
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      return sendJson(res, 400, { error: "body is not valid JSON" });
    }
    if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
      return sendJson(res, 400, { error: "body must be a JSON object" });
    }
    rememberPayloadJson(payload, body);
    const answer = await receiveWithAnswer(options.probot, { id, name, payload: payload as Record<string, unknown> });
    return sendJson(res, answer.status === "failed" ? 500 : 200, { id, ...answer });
  };
}
