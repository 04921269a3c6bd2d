/**
 * The GitLab and Gitea/Forgejo webhook routes: `POST /api/webhooks/gitlab`
 * and `POST /api/webhooks/gitea`. Each is off (404) until its secret is set.
 * The order of checks is the GitHub route's: method, size, credentials (401,
 * nothing stored), JSON (400, nothing stored), then the delivery goes into
 * the same inbox as GitHub's and is processed before the answer, so a redelivery is a duplicate, a payload
 * its handler cannot read is a 400 with the row kept as failed, and an event
 * fixloop has no use for is recorded and ignored.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { WebhookHeaders, WebhookResponse } from "../http/ingress-core.js";
import { MAX_WEBHOOK_BYTES, parseJsonObject, statusOfProcessed } from "../http/ingress-core.js";
import { budgetExceededAnswer, BodyBudgetExceededError, createBodyBudget, readBudgetedBody, type BodyBudget, type BudgetedBody } from "../http/body-budget.js";
import { BodyTooLargeError, requestUrl, sendJson } from "../http/respond.js";
import type { Inbox } from "../inbox/index.js";
import { giteaSignatureMatches, gitlabTokenMatches } from "./verify.js";

export type Forge = "gitlab" | "gitea";

export const FORGE_WEBHOOK_PATHS: Record<Forge, string> = {
  gitlab: "/api/webhooks/gitlab",
  gitea: "/api/webhooks/gitea",
};

/** The shared secrets; a forge whose secret is unset has no route. */
export interface ForgeSecrets {
  /** GITLAB_WEBHOOK_TOKEN: the "Secret token" of the GitLab webhook. */
  gitlab?: string | undefined;
  /** GITEA_WEBHOOK_SECRET: the "Secret" of the Gitea/Forgejo webhook. */
  gitea?: string | undefined;
}

export function forgeSecretsFromEnv(env: NodeJS.ProcessEnv = process.env): ForgeSecrets {
  return { gitlab: env.GITLAB_WEBHOOK_TOKEN || undefined, gitea: env.GITEA_WEBHOOK_SECRET || undefined };
}

export interface ForgeIngressDeps {
  /** The delivery inbox; its processor knows the forge handlers (src/forges/handlers.ts). */
  inbox: Pick<Inbox, "receiveNow">;
  secrets: ForgeSecrets;
  maxBytes?: number;
  /** Memory for bodies not yet verified, shared with the GitHub route (body-budget.ts). */
  bodyBudget?: BodyBudget;
}

export interface ForgeRequest {
  method: string;
  headers: WebhookHeaders;
  /** The raw body: signatures are over these bytes. */
  body: Buffer;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first.trim() === "" ? undefined : first.trim();
}

function bodyHash(event: string, body: Buffer): string {
  return createHash("sha256").update(event).update("\0").update(body).digest("hex");
}

/** Event names and delivery ids are prefixed with the forge, so they never meet GitHub's. */
interface Identified {
  event: string;
  id: string;
}

function identifyGitlab(request: ForgeRequest): Identified | WebhookResponse {
  const event = header(request.headers, "x-gitlab-event");
  if (!event) return { status: 400, body: { error: "required header missing: X-Gitlab-Event" } };
  // GitLab keeps Idempotency-Key across its retries of one delivery; the event UUID is per attempt on older versions.
  const key = header(request.headers, "idempotency-key") ?? header(request.headers, "x-gitlab-event-uuid") ?? `sha256-${bodyHash(event, request.body)}`;
  return { event: `gitlab:${event}`, id: `gitlab:${key}` };
}

function identifyGitea(request: ForgeRequest): Identified | WebhookResponse {
  const event =
    header(request.headers, "x-gitea-event") ??
    header(request.headers, "x-forgejo-event") ??
    header(request.headers, "x-gitea-event-type") ??
    header(request.headers, "x-forgejo-event-type");
  if (!event) return { status: 400, body: { error: "required header missing: X-Gitea-Event (or X-Forgejo-Event)" } };
  const key = header(request.headers, "x-gitea-delivery") ?? header(request.headers, "x-forgejo-delivery") ?? `sha256-${bodyHash(event, request.body)}`;
  return { event: `gitea:${event}`, id: `gitea:${key}` };
}

function authenticate(forge: Forge, request: ForgeRequest, secret: string): WebhookResponse | null {
  if (forge === "gitlab") {
    return gitlabTokenMatches(header(request.headers, "x-gitlab-token"), secret)
      ? null
      : { status: 401, body: { error: "X-Gitlab-Token does not match: check GITLAB_WEBHOOK_TOKEN" } };
  }
  const signature = header(request.headers, "x-gitea-signature") ?? header(request.headers, "x-forgejo-signature");
  return giteaSignatureMatches(signature, request.body, secret)
    ? null
    : { status: 401, body: { error: "X-Gitea-Signature does not match: check GITEA_WEBHOOK_SECRET" } };
}

/** Decides the answer to one forge delivery; never throws for anything the sender controls. */
export async function handleForgeRequest(forge: Forge, request: ForgeRequest, deps: ForgeIngressDeps): Promise<WebhookResponse> {
  const secret = deps.secrets[forge];
  if (!secret) {
    const variable = forge === "gitlab" ? "GITLAB_WEBHOOK_TOKEN" : "GITEA_WEBHOOK_SECRET";
    return { status: 404, body: { error: `the ${forge} webhook is off: set ${variable} to enable it` } };
  }
  if (request.method.toUpperCase() !== "POST") return { status: 405, body: { error: "webhooks are POSTed" }, headers: { allow: "POST" } };
  const maxBytes = deps.maxBytes ?? MAX_WEBHOOK_BYTES;
  if (request.body.length > maxBytes) return { status: 413, body: { error: `body of ${request.body.length} bytes exceeds ${maxBytes}` } };
  const refused = authenticate(forge, request, secret);
  if (refused) return refused;
  const identified = forge === "gitlab" ? identifyGitlab(request) : identifyGitea(request);
  if ("status" in identified) return identified;
  const parsed = parseJsonObject(request.body.toString("utf8"));
  if ("status" in parsed) return parsed;
  const { payload } = parsed;
  // Gitea before 1.14 put the webhook secret in the body; it is never stored.
  if (forge === "gitea") delete payload.secret;
  // Stored in the inbox and processed before the answer, so a payload its handler cannot read is the sender's 400.
  const answer = await deps.inbox.receiveNow({ id: identified.id, name: identified.event, payload });
  return { status: statusOfProcessed(answer), body: { id: identified.id, ...answer } };
}

/** The node transport: matches the two paths, reads the body under the size cap, answers. */
export function createForgeWebhookHandler(deps: ForgeIngressDeps) {
  const maxBytes = deps.maxBytes ?? MAX_WEBHOOK_BYTES;
  const budget = deps.bodyBudget ?? createBodyBudget();
  const byPath = new Map<string, Forge>(Object.entries(FORGE_WEBHOOK_PATHS).map(([forge, path]) => [path, forge as Forge]));
  return async function forgeWebhookIngress(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const forge = byPath.get(requestUrl(req).pathname.replace(/\/+$/, ""));
    if (!forge) return false;
    const method = req.method ?? "GET";
    // Off, or not a POST: answered without reading the body.
    if (!deps.secrets[forge] || method.toUpperCase() !== "POST") {
      const answer = await handleForgeRequest(forge, { method, headers: req.headers, body: Buffer.alloc(0) }, deps);
      return sendJson(res, answer.status, answer.body, answer.headers);
    }
    let read: BudgetedBody;
    try {
      read = await readBudgetedBody(req, maxBytes, budget);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return sendJson(res, 413, { error: error.message });
      if (error instanceof BodyBudgetExceededError) {
        const answer = budgetExceededAnswer(error);
        return sendJson(res, answer.status, answer.body, answer.headers);
      }
      throw error;
    }
    try {
      const answer = await handleForgeRequest(forge, { method, headers: req.headers, body: read.body }, deps);
      return sendJson(res, answer.status, answer.body, answer.headers);
    } finally {
      read.release();
    }
  };
}
