/**
 * Posting GitLab and Gitea/Forgejo deliveries to a running test server, with
 * the headers each forge sends (taken from their webhook docs).
 */
import { createHmac, randomUUID } from "node:crypto";
import type { TestServer } from "./helpers.js";

export const GITLAB_TOKEN = "gitlab-webhook-test-token";
export const GITEA_SECRET = "gitea-webhook-test-secret";
export const FORGE_SECRETS = { gitlab: GITLAB_TOKEN, gitea: GITEA_SECRET };

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function answer(response: Response): Promise<Answer> {
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export async function postGitlab(
  server: Pick<TestServer, "url">,
  event: string,
  payload: unknown,
  options: { token?: string | null; idempotencyKey?: string | null; eventUuid?: string; body?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { "content-type": "application/json", "x-gitlab-event": event, "user-agent": "GitLab/17.0.0" };
  const token = options.token === undefined ? GITLAB_TOKEN : options.token;
  if (token !== null) headers["x-gitlab-token"] = token;
  const key = options.idempotencyKey === undefined ? randomUUID() : options.idempotencyKey;
  if (key !== null) headers["idempotency-key"] = key;
  if (options.eventUuid) headers["x-gitlab-event-uuid"] = options.eventUuid;
  const body = options.body ?? JSON.stringify(payload);
  return answer(await fetch(`${server.url}/api/webhooks/gitlab`, { method: "POST", headers, body }));
}

export function giteaSign(body: string, secret = GITEA_SECRET): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

export async function postGitea(
  server: Pick<TestServer, "url">,
  event: string,
  payload: unknown,
  options: { signature?: string | null; delivery?: string | null; forgejo?: boolean; eventType?: string; body?: string; secret?: string } = {},
): Promise<Answer> {
  const body = options.body ?? JSON.stringify(payload);
  const prefix = options.forgejo ? "x-forgejo" : "x-gitea";
  const headers: Record<string, string> = { "content-type": "application/json", [`${prefix}-event`]: event, [`${prefix}-event-type`]: options.eventType ?? event };
  const delivery = options.delivery === undefined ? randomUUID() : options.delivery;
  if (delivery !== null) headers[`${prefix}-delivery`] = delivery;
  const signature = options.signature === undefined ? giteaSign(body, options.secret) : options.signature;
  if (signature !== null) headers[`${prefix}-signature`] = signature;
  return answer(await fetch(`${server.url}/api/webhooks/gitea`, { method: "POST", headers, body }));
}
