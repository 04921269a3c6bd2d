/**
 * Health check and the admin JSON API, mounted with Probot's `addHandler`.
 * The API answers only with `Authorization: Bearer $FIXLOOP_ADMIN_TOKEN` and is
 * off entirely when no token is configured.
 */
import { timingSafeEqual, createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sql } from "drizzle-orm";
import type { Store } from "../store/db.js";
import { listCiRuns, listPrOutcomes, withoutRaw } from "../store/records.js";
import { CI_STATUSES, PR_STATES, type CiStatus, type PrState } from "../store/schema.js";
import { parseSince } from "../time.js";
import { requestUrl, sendJson } from "./respond.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export function createHealthHandler(store: Store): Handler {
  return async (req, res) => {
    if (requestUrl(req).pathname !== "/healthz") return false;
    try {
      await store.db.run(sql`SELECT 1`);
      return sendJson(res, 200, { ok: true, database: "reachable" });
    } catch (error) {
      return sendJson(res, 503, { ok: false, database: "unreachable", error: (error as Error).message });
    }
  };
}

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

type Route = (query: URLSearchParams, store: Store) => Promise<unknown>;

const ROUTES: Record<string, Route> = {
  "/api/pr-outcomes": async (q, store) => ({
    pr_outcomes: (
      await listPrOutcomes(store.db, {
        repo: q.get("repo") || undefined,
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
        commitSha: q.get("commit_sha") || undefined,
        status: oneOf<CiStatus>(q.get("status"), CI_STATUSES, "status"),
        since: since(q.get("since")),
        limit: limit(q.get("limit")),
      })
    ).map(withoutRaw),
  }),
};

/** Extra routes other modules mount under /api with the same auth. */
export type ApiRoutes = Record<string, Route>;

export function createAdminApiHandler(deps: { store: Store; adminToken?: string | undefined; routes?: ApiRoutes }): Handler {
  const routes = { ...ROUTES, ...deps.routes };
  return async (req, res) => {
    const url = requestUrl(req);
    if (!url.pathname.startsWith("/api/") || url.pathname.startsWith("/api/github/")) return false;
    if (!deps.adminToken) return sendJson(res, 404, { error: "the admin API is off: set FIXLOOP_ADMIN_TOKEN to enable it" });
    const presented = bearerToken(req);
    if (!presented || !tokenMatches(presented, deps.adminToken)) {
      return sendJson(res, 401, { error: "unauthorized: send Authorization: Bearer <FIXLOOP_ADMIN_TOKEN>" }, { "www-authenticate": "Bearer" });
    }
    const route = routes[url.pathname];
    if (!route) return sendJson(res, 404, { error: `no such route: ${url.pathname}` });
    if (req.method !== "GET") return sendJson(res, 405, { error: "use GET" }, { allow: "GET" });
    try {
      return sendJson(res, 200, await route(url.searchParams, deps.store));
    } catch (error) {
      if (error instanceof BadQueryError) return sendJson(res, 400, { error: error.message });
      throw error;
    }
  };
}
