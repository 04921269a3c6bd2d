/**
 * The webhook ingress without a transport: headers, signature, JSON, then the
 * delivery. The node server and the Lambda handler both feed it, so GitHub
 * sees the same answers from either: 400 for missing headers or a body that is
 * not a JSON object, 401 for a bad signature, 415 for a form-encoded body, 413
 * past GitHub's size cap. Nothing is stored before the signature is verified.
 *
 * With an inbox (the node server): 202 `accepted` once the delivery is stored,
 * 200 `duplicate` for one already stored, 503 when it could not be stored.
 * Processing happens after the answer and retries our own failures by itself;
 * the body is parsed there, so a signed body that only looks like a JSON
 * object is accepted and then failed as malformed.
 * Without one (the Lambda webhook today): the delivery is processed before the
 * answer — 200 for processed / duplicate / ignored, 400 for a signed payload
 * that lacks what its event must carry, 500 for any other handler failure.
 */
import type { Probot } from "probot";
import { receiveWithAnswer, type Delivered } from "./answer-slot.js";
import type { Inbox, ReceiveAnswer } from "../inbox/index.js";
import type { GitHubSignatureCheck } from "./signature.js";

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

/** Headers kept with the delivery: which hook sent it, for which installation target. */
const KEPT_HEADERS = ["x-github-hook-id", "x-github-hook-installation-target-type", "x-github-hook-installation-target-id"] as const;

function keptHeaders(headers: WebhookHeaders): Record<string, string> | null {
  let kept: Record<string, string> | null = null;
  for (const name of KEPT_HEADERS) {
    const value = header(headers, name);
    if (value !== undefined) (kept ??= {})[name] = value;
  }
  return kept;
}

export interface WebhookRequestOptions {
  maxBytes?: number;
  /**
   * The inbox: a verified delivery is appended (group-committed with its
   * neighbours) and answered 202 at once; the processor takes it from there.
   * Without one the delivery is handed to Probot and answered when processed.
   */
  inbox?: Pick<Inbox, "accept">;
  deliver?: (delivery: Delivered) => Promise<unknown>;
  /** How signatures are checked: `githubSignatureCheck(WEBHOOK_SECRET)` where the secret is at hand; else Probot's `webhooks.verify`. */
  checkSignature?: GitHubSignatureCheck;
}

/** Verifies, parses and stores (or hands to Probot) one delivery; never throws for anything the sender controls. */
export async function handleWebhookRequest(
  probot: Probot,
  request: WebhookRequest & { body: string | Buffer },
  options: WebhookRequestOptions = {},
): Promise<WebhookResponse> {
  const refused = precheckWebhookRequest(request);
  if (refused) return refused;
  const maxBytes = options.maxBytes ?? MAX_WEBHOOK_BYTES;
  const size = typeof request.body === "string" ? Buffer.byteLength(request.body, "utf8") : request.body.length;
  if (size > maxBytes) return { status: 413, body: { error: `body of ${size} bytes exceeds ${maxBytes}` } };
  const id = header(request.headers, "x-github-delivery")!;
  const name = header(request.headers, "x-github-event")!;
  const signature = header(request.headers, "x-hub-signature-256")!;
  let verified = false;
  try {
    verified = await (options.checkSignature ?? probotSignatureCheck(probot))(request.body, signature);
  } catch {
    verified = false;
  }
  if (!verified) return { status: 401, body: { error: "signature does not match: check WEBHOOK_SECRET" } };
  const text = typeof request.body === "string" ? request.body : request.body.toString("utf8");
  // With an inbox the body is stored as it came and parsed by the processor (which fails a signed body that is
  // not JSON as malformed, for a person to see): only its shape is looked at here.
  if (options.inbox) {
    if (!looksLikeJsonObject(text)) {
      // Refused as the parsing path refuses it (the same answer as the Lambda function's): parsed only then.
      const parsed = parseJsonObject(text);
      if ("status" in parsed) return parsed;
    }
    return appendToInbox(options.inbox, { id, name, body: text, headers: keptHeaders(request.headers) });
  }
  const parsed = parseJsonObject(text);
  if ("status" in parsed) return parsed;
  const answer = await receiveWithAnswer(probot, { id, name, payload: parsed.payload }, options.deliver);
  return { status: statusOfProcessed(answer), body: { id, ...answer } };
}

/**
 * The HTTP status of a delivery processed before its answer: 400 for a payload
 * the sender got wrong, 500 for our own failure (the sender may retry), else 200.
 */
export function statusOfProcessed(answer: ReceiveAnswer): number {
  return answer.status === "failed" ? (answer.malformed ? 400 : 500) : answer.status === "retry" ? 500 : 200;
}

/** The payload, or the 400 for a body that is not a JSON object (the forge routes answer the same). */
export function parseJsonObject(text: string): { payload: Record<string, unknown> } | WebhookResponse {
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return { status: 400, body: { error: "body is not valid JSON" } };
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return { status: 400, body: { error: "body must be a JSON object" } };
  }
  return { payload: payload as Record<string, unknown> };
}

/** Starts with `{` and ends with `}`, JSON's blanks aside: what a JSON object does (the processor parses it). */
function looksLikeJsonObject(text: string): boolean {
  let first = 0;
  while (first < text.length && isJsonBlank(text.charCodeAt(first))) first++;
  let last = text.length - 1;
  while (last > first && isJsonBlank(text.charCodeAt(last))) last--;
  return last > first && text.charCodeAt(first) === 0x7b && text.charCodeAt(last) === 0x7d;
}

const isJsonBlank = (code: number) => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

function probotSignatureCheck(probot: Probot): GitHubSignatureCheck {
  return (body, signatureHeader) => probot.webhooks.verify(typeof body === "string" ? body : body.toString("utf8"), signatureHeader);
}

async function appendToInbox(inbox: Pick<Inbox, "accept">, delivery: Parameters<Inbox["accept"]>[0]): Promise<WebhookResponse> {
  try {
    const result = await inbox.accept(delivery);
    return result === "accepted" ? { status: 202, body: { id: delivery.id, status: "accepted" } } : { status: 200, body: { id: delivery.id, status: "duplicate" } };
  } catch (error) {
    // Disk full, database locked: nothing was stored, so GitHub should show a failed delivery to redeliver.
    return {
      status: 503,
      body: { error: `the delivery could not be stored: ${error instanceof Error ? error.message : String(error)}` },
      headers: { "retry-after": "30" },
    };
  }
}
