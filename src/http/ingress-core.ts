/**
 * The webhook ingress without a transport: headers, signature, JSON, then the
 * delivery, answered with what happened to it. The node server and the Lambda
 * handler both feed it, so GitHub sees the same answers from either: 400 for
 * missing headers or a body that is not a JSON object, 401 for a bad
 * signature, 415 for a form-encoded body, 413 past GitHub's size cap, 200 for
 * processed / duplicate / ignored, 400 for a signed payload that lacks what its
 * event must carry and 500 for any other handler failure (in both cases the
 * delivery row is kept, marked failed with the error). Nothing is stored before the signature is verified.
 */
import type { Probot } from "probot";
import { receiveWithAnswer, type Delivered } from "../app.js";
import { rememberPayloadJson } from "../handlers/index.js";

/** GitHub caps webhook payloads at 25 MB. */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;
/** Where GitHub deliveries arrive unless WEBHOOK_PATH says otherwise (Probot's own default too). */
export const DEFAULT_WEBHOOK_PATH = "/api/github/webhooks";

export const REQUIRED_WEBHOOK_HEADERS = ["x-github-event", "x-github-delivery", "x-hub-signature-256"] as const;

/** Header names in lower case; a repeated header may arrive as a list (node) or comma-joined (API Gateway). */
export type WebhookHeaders = Record<string, string | string[] | undefined>;

export interface WebhookRequest {
  method: string;
  headers: WebhookHeaders;
}

export interface WebhookResponse {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === "" ? undefined : first;
}

/**
 * What can be decided before reading the body: method, required headers,
 * content type. Null when the request may go on. The node server calls this
 * before it streams the body, so a bad request costs no read.
 */
export function precheckWebhookRequest(request: WebhookRequest): WebhookResponse | null {
  if (request.method.toUpperCase() !== "POST") return { status: 405, body: { error: "webhooks are POSTed" }, headers: { allow: "POST" } };
  const missing = REQUIRED_WEBHOOK_HEADERS.filter((name) => !header(request.headers, name));
  if (missing.length > 0) return { status: 400, body: { error: `required headers missing: ${missing.join(", ")}` } };
  const contentType = header(request.headers, "content-type") ?? "";
  if (!/^\s*application\/json\s*(;|$)/i.test(contentType)) {
    return { status: 415, body: { error: "content type must be application/json (set it in the app's webhook settings)" } };
  }
  return null;
}

/** Verifies, parses and hands one delivery to Probot; never throws for anything the sender controls. */
export async function handleWebhookRequest(
  probot: Probot,
  request: WebhookRequest & { body: string },
  options: { maxBytes?: number; deliver?: (delivery: Delivered) => Promise<unknown> } = {},
): Promise<WebhookResponse> {
  const refused = precheckWebhookRequest(request);
  if (refused) return refused;
  const maxBytes = options.maxBytes ?? MAX_WEBHOOK_BYTES;
  const size = Buffer.byteLength(request.body, "utf8");
  if (size > maxBytes) return { status: 413, body: { error: `body of ${size} bytes exceeds ${maxBytes}` } };
  const id = header(request.headers, "x-github-delivery")!;
  const name = header(request.headers, "x-github-event")!;
  const signature = header(request.headers, "x-hub-signature-256")!;
  let verified = false;
  try {
    verified = await probot.webhooks.verify(request.body, signature);
  } catch {
    verified = false;
  }
  if (!verified) return { status: 401, body: { error: "signature does not match: check WEBHOOK_SECRET" } };
  let payload: unknown;
  try {
    payload = JSON.parse(request.body);
  } catch {
    return { status: 400, body: { error: "body is not valid JSON" } };
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return { status: 400, body: { error: "body must be a JSON object" } };
  }
  rememberPayloadJson(payload, request.body);
  const answer = await receiveWithAnswer(probot, { id, name, payload: payload as Record<string, unknown> }, options.deliver);
  const status = answer.status !== "failed" ? 200 : answer.malformed ? 400 : 500;
  return { status, body: { id, ...answer } };
}
