/**
 * Is fixloop able to do its work right now? The database, the TensorZero
 * gateway (`GET /health`) and GitHub's API are each asked with a short
 * timeout, at most once a minute (the answer is cached, so /readyz and the
 * dashboard cost nothing in between), and what the process itself saw lately
 * (a job that could not resolve api.github.com) counts too.
 */
import { sql } from "drizzle-orm";
import type { Store } from "../store/db.js";
import { reachability as processReachability, unreachableCause, type Reachability, type ServiceName } from "./network.js";

export type CheckState = "ok" | "failing" | "not configured" | "not checked";

export interface CheckResult {
  state: CheckState;
  /** What was asked and what came back; for operators only (it may hold error text). */
  detail: string;
  ms: number;
}

export interface ReadinessReport {
  /** Everything configured answers. */
  ok: boolean;
  checkedAt: string;
  checks: { database: CheckResult; tensorzero: CheckResult; github: CheckResult };
}

export interface ReadinessCheck {
  /** The cached report, or a fresh one when the cache is older than its TTL. */
  report(): Promise<ReadinessReport>;
}

export interface ReadinessOptions {
  store: Store;
  /** TENSORZERO_URL; null: not configured. */
  gatewayUrl: string | null;
  /** GitHub's API root (https://api.github.com or GHE's /api/v3); null: not checked (tests, CLI). */
  githubApiUrl: string | null;
  fetch?: typeof fetch;
  timeoutMs?: number;
  ttlMs?: number;
  now?: () => Date;
  reachability?: Reachability;
}

export const READINESS_TTL_MS = 60_000;
export const READINESS_TIMEOUT_MS = 2_000;

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function describe(error: unknown): string {
  const cause = unreachableCause(error);
  if (cause) return cause.message;
  if (error instanceof Error && error.name === "TimeoutError") return "timed out";
  return error instanceof Error ? error.message : String(error);
}

async function timed(run: () => Promise<Omit<CheckResult, "ms">>): Promise<CheckResult> {
  const started = performance.now();
  const result = await run();
  return { ...result, ms: Math.round(performance.now() - started) };
}

export function createReadinessCheck(options: ReadinessOptions): ReadinessCheck {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? READINESS_TIMEOUT_MS;
  const ttlMs = options.ttlMs ?? READINESS_TTL_MS;
  const now = options.now ?? (() => new Date());
  const seen = options.reachability ?? processReachability;
  let cached: { at: number; report: Promise<ReadinessReport> } | null = null;

  const database = () =>
    timed(async () => {
      try {
        await withTimeout(options.store.db.run(sql`SELECT 1`), timeoutMs, "the database");
        return { state: "ok", detail: "SELECT 1 answered" };
      } catch (error) {
        return { state: "failing", detail: describe(error) };
      }
    });

  /** Any HTTP answer means the address works; `healthy` decides whether the answer is good news. */
  const http = (url: string | null, healthy: (status: number) => boolean) =>
    timed(async () => {
      if (url === null) return { state: "not configured", detail: "" };
      try {
        const response = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { "user-agent": "fixloop-readiness" } });
        await response.body?.cancel();
        return healthy(response.status) ? { state: "ok", detail: `GET ${url}: ${response.status}` } : { state: "failing", detail: `GET ${url}: HTTP ${response.status}` };
      } catch (error) {
        return { state: "failing", detail: `GET ${url}: ${describe(error)}` };
      }
    });

  /** A failure the process itself saw after this check ran outweighs the check. */
  const withObserved = (service: ServiceName, result: CheckResult, checkedAt: Date): CheckResult => {
    const problem = seen.problems(now()).find((p) => p.service === service);
    if (!problem || result.state !== "ok" || problem.lastSeen.getTime() < checkedAt.getTime()) return result;
    return { ...result, state: "failing", detail: `${problem.message} (seen by a job at ${problem.lastSeen.toISOString()})` };
  };

  async function run(): Promise<ReadinessReport> {
    const checkedAt = now();
    const [db, tensorzero, github] = await Promise.all([
      database(),
      http(options.gatewayUrl === null ? null : `${options.gatewayUrl.replace(/\/+$/, "")}/health`, (status) => status >= 200 && status < 300),
      options.githubApiUrl === null
        ? Promise.resolve<CheckResult>({ state: "not checked", detail: "", ms: 0 })
        : http(`${options.githubApiUrl.replace(/\/+$/, "")}/zen`, () => true),
    ]);
    const checks = { database: db, tensorzero, github };
    return { ok: Object.values(checks).every((c) => c.state !== "failing"), checkedAt: checkedAt.toISOString(), checks };
  }

  return {
    async report() {
      const at = now().getTime();
      if (!cached || at - cached.at >= ttlMs) cached = { at, report: run() };
      const report = await cached.report;
      const checkedAt = new Date(report.checkedAt);
      const checks = {
        ...report.checks,
        tensorzero: withObserved("TensorZero", report.checks.tensorzero, checkedAt),
        github: withObserved("GitHub", report.checks.github, checkedAt),
      };
      return { ...report, checks, ok: Object.values(checks).every((c) => c.state !== "failing") };
    },
  };
}

/** The public face of a report: states only, never error text. */
export function publicReadiness(report: ReadinessReport): { ok: boolean; checks: Record<string, CheckState> } {
  return {
    ok: report.ok,
    checks: Object.fromEntries(Object.entries(report.checks).map(([name, check]) => [name, check.state])),
  };
}
