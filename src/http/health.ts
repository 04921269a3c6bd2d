/**
 * `/healthz` (liveness: cheap, says only ok / not ok) and `/readyz` (can
 * fixloop work: database, TensorZero gateway, GitHub; cached for a minute).
 * Anyone gets the verdict; error text and timings only come with
 * `Authorization: Bearer $FIXLOOP_ADMIN_TOKEN`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { sql } from "drizzle-orm";
import type { Store } from "../store/db.js";
import { publicReadiness, type ReadinessCheck } from "../ops/readiness.js";
import { bearerToken, tokenMatches } from "./api.js";
import { clientOf, createFailureLimiter, type FailureLimiter } from "./rate-limit.js";
import { requestUrl, sendJson } from "./respond.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export interface HealthAnswer {
  status: 200 | 503;
  /** What anyone may see. */
  body: { ok: boolean };
  /** For the admin token only. */
  detail: { database: "reachable" | "unreachable"; error?: string };
}

/** Probes that arrive while one is asking the database share its answer: a flood of them costs one query at a time. */
const inFlight = new WeakMap<Store, Promise<HealthAnswer>>();

/** The liveness answer, for any transport: 200 when the database answers, 503 otherwise. */
export function checkHealth(store: Store): Promise<HealthAnswer> {
  const running = inFlight.get(store);
  if (running) return running;
  const answer = (async (): Promise<HealthAnswer> => {
    try {
      await store.db.run(sql`SELECT 1`);
      return { status: 200, body: { ok: true }, detail: { database: "reachable" } };
    } catch (error) {
      return { status: 503, body: { ok: false }, detail: { database: "unreachable", error: (error as Error).message } };
    } finally {
      inFlight.delete(store);
    }
  })();
  inFlight.set(store, answer);
  return answer;
}

/**
 * The detail is an answer to "is this the token?", so a wrong token counts
 * against the client like one at /api; a client held back gets the public
 * verdict whatever it presents (a probe never sees 429).
 */
function isAdmin(req: IncomingMessage, adminToken: string | undefined, limiter: FailureLimiter): boolean {
  const presented = bearerToken(req);
  if (!adminToken || !presented) return false;
  const client = clientOf(req);
  if (limiter.retryAfter(client) !== null) return false;
  if (tokenMatches(presented, adminToken)) return true;
  limiter.fail(client);
  return false;
}

export interface HealthDeps {
  store: Store;
  adminToken?: string | undefined;
  readiness: ReadinessCheck;
  /** Wrong tokens per client, shared with the admin API (rate-limit.ts). */
  authLimiter?: FailureLimiter;
}

export function createHealthHandler(deps: HealthDeps): Handler {
  const limiter = deps.authLimiter ?? createFailureLimiter();
  return async (req, res) => {
    const path = requestUrl(req).pathname;
    if (path !== "/healthz" && path !== "/readyz") return false;
    if (req.method !== "GET" && req.method !== "HEAD") return sendJson(res, 405, { error: "use GET" }, { allow: "GET, HEAD" });
    const admin = isAdmin(req, deps.adminToken, limiter);
    if (path === "/healthz") {
      const health = await checkHealth(deps.store);
      return sendJson(res, health.status, admin ? { ...health.body, ...health.detail } : health.body, { "cache-control": "no-store" });
    }
    const report = await deps.readiness.report();
    return sendJson(res, report.ok ? 200 : 503, admin ? report : publicReadiness(report), { "cache-control": "no-store" });
  };
}
