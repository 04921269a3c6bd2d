/**
 * Health check and the admin JSON API, mounted with Probot's `addHandler`.
 * The API answers only with `Authorization: Bearer $FIXLOOP_ADMIN_TOKEN` and is
 * off entirely when no token is configured.
 */
import { timingSafeEqual, createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { AttributionQueryError, explainCommit, explainPr } from "../outcomes/attribution-explain.js";
import { explainSession } from "../outcomes/attribution-session.js";
import type { Store } from "../store/db.js";
import { listCiRuns, listPrOutcomes, withoutRaw } from "../store/records.js";
import { CI_STATUSES, PR_STATES, type CiStatus, type PrState } from "../store/schema.js";
import { parseSince } from "../time.js";
import { requestUrl, sendJson } from "./respond.js";
import { createFailureLimiter, holdBack, type FailureLimiter } from "./rate-limit.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** Constant-time comparison of digests, so neither length nor prefix leaks. */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export function bearerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
  return match ? match[1].trim() : null;
}

export class BadQueryError extends Error {}

/** The route exists but the thing asked for does not: a 404 with this message. */
export class NotFoundError extends Error {}

function oneOf<T extends string>(value: string | null, allowed: readonly T[], name: string): T | undefined {
  if (value === null || value === "") return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new BadQueryError(`${name} must be one of ${allowed.join(", ")}`);
  return value as T;
}

function since(value: string | null): string | undefined {
  if (!value) return undefined;
  try {
    return parseSince(value);
  } catch (error) {
    throw new BadQueryError((error as Error).message);
  }
}

function limit(value: string | null): number {
  if (!value) return 100;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new BadQueryError("limit must be an integer from 1 to 1000");
  return n;
}

/** `params` holds the `:name` segments of a parameterised route, decoded. */
type Route = (query: URLSearchParams, store: Store, params: Record<string, string>) => Promise<unknown>;

function minConfidence(value: string | null): number | undefined {
  if (value === null || value === "") return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new BadQueryError("min_confidence must be a number from 0 to 1");
  return n;
}

/** Attribution answers: a bad question is a 400, an unknown commit or PR a 404. */
async function attribution<T>(answer: () => Promise<T | null>, missing: string): Promise<T> {
  let result: T | null;
  try {
    result = await answer();
  } catch (error) {
    if (error instanceof AttributionQueryError) throw new BadQueryError(error.message);
    throw error;
  }
  if (result === null) throw new NotFoundError(missing);
  return result;
}

const ROUTES: Record<string, Route> = {
  "/api/pr-outcomes": async (q, store) => ({
    pr_outcomes: (
      await listPrOutcomes(store.db, {
        repo: q.get("repo") || undefined,
        provider: q.get("provider") || undefined,
        state: oneOf<PrState>(q.get("state"), PR_STATES, "state"),
        since: since(q.get("since")),
        limit: limit(q.get("limit")),
      })
    ).map(withoutRaw),
  }),
  "/api/ci-runs": async (q, store) => ({
    ci_runs: (
      await listCiRuns(store.db, {
        repo: q.get("repo") || undefined,
        provider: q.get("provider") || undefined,
        commitSha: q.get("commit_sha") || undefined,
        status: oneOf<CiStatus>(q.get("status"), CI_STATUSES, "status"),
        since: since(q.get("since")),
        limit: limit(q.get("limit")),
      })
    ).map(withoutRaw),
  }),
  "/api/attribution/commit/:sha": async (q, store, p) =>
    attribution(
      () => explainCommit(store.db, { sha: p.sha, repo: q.get("repo") || undefined, minConfidence: minConfidence(q.get("min_confidence")) }),
      `no attribution for commit ${p.sha}`,
    ),
  "/api/attribution/session/:id": async (_q, store, p) => attribution(() => explainSession(store.db, p.id), `no fix attempt or episode recorded with id ${p.id}`),
  "/api/attribution/pr/:owner/:repo/:number": async (q, store, p) => {
    const number = Number(p.number);
    if (!Number.isInteger(number) || number < 1) throw new BadQueryError("the PR number must be a positive integer");
    return attribution(
      () => explainPr(store.db, { repo: `${p.owner}/${p.repo}`, number, minConfidence: minConfidence(q.get("min_confidence")) }),
      `no attribution for ${p.owner}/${p.repo}#${number}`,
    );
  },
};

/**
 * Finds the route for a path: an exact key first, then keys with `:name`
 * segments, each matching one non-empty segment. Undefined when none does.
 */
export function matchRoute(routes: Record<string, Route>, pathname: string): { route: Route; params: Record<string, string> } | undefined {
  const exact = routes[pathname];
  if (exact && !pathname.includes("/:")) return { route: exact, params: {} };
  const segments = pathname.split("/");
  for (const [pattern, route] of Object.entries(routes)) {
    if (!pattern.includes("/:")) continue;
    const parts = pattern.split("/");
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = parts.every((part, i) => {
      if (!part.startsWith(":")) return part === segments[i];
      if (segments[i] === "") return false;
      try {
        params[part.slice(1)] = decodeURIComponent(segments[i]);
      } catch {
        return false;
      }
      return true;
    });
    if (matches) return { route, params };
  }
  return undefined;
}

/** Extra routes other modules mount under /api with the same auth. */
export type ApiRoutes = Record<string, Route>;

/** 429 for a client past its failed-token allowance (see rate-limit.ts). */
export function sendTooManyFailures(res: ServerResponse, retryAfterSeconds: number): true {
  return sendJson(res, 429, { error: `too many wrong tokens from this address: try again in ${retryAfterSeconds} s` }, { "retry-after": String(retryAfterSeconds) });
}

/**
 * The bearer-token check of the admin API and /mcp: true when the request may
 * go on; otherwise it has been answered (401, or 429 while the client is held
 * back after too many wrong tokens).
 */
export function bearerAuthorized(req: IncomingMessage, res: ServerResponse, adminToken: string, limiter: FailureLimiter): boolean {
  const gate = holdBack(limiter, req, (wait) => sendTooManyFailures(res, wait));
  if (gate === true) return false;
  const presented = bearerToken(req);
  if (presented && tokenMatches(presented, adminToken)) return true;
  gate();
  sendJson(res, 401, { error: "unauthorized: send Authorization: Bearer <FIXLOOP_ADMIN_TOKEN>" }, { "www-authenticate": "Bearer" });
  return false;
}

export function createAdminApiHandler(deps: { store: Store; adminToken?: string | undefined; routes?: ApiRoutes; authLimiter?: FailureLimiter }): Handler {
  const routes = { ...ROUTES, ...deps.routes };
  const limiter = deps.authLimiter ?? createFailureLimiter();
  return async (req, res) => {
    const url = requestUrl(req);
    if (!url.pathname.startsWith("/api/") || url.pathname.startsWith("/api/github/")) return false;
    if (!deps.adminToken) return sendJson(res, 404, { error: "the admin API is off: set FIXLOOP_ADMIN_TOKEN to enable it" });
    if (!bearerAuthorized(req, res, deps.adminToken, limiter)) return true;
    const matched = matchRoute(routes, url.pathname);
    if (!matched) return sendJson(res, 404, { error: `no such route: ${url.pathname}` });
    if (req.method !== "GET") return sendJson(res, 405, { error: "use GET" }, { allow: "GET" });
    try {
      return sendJson(res, 200, await matched.route(url.searchParams, deps.store, matched.params));
    } catch (error) {
      if (error instanceof BadQueryError) return sendJson(res, 400, { error: error.message });
      if (error instanceof NotFoundError) return sendJson(res, 404, { error: error.message });
      throw error;
    }
  };
}
