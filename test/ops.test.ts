/**
 * The operator's plumbing: the start-up banner, one-line logs, unreachable
 * services failing fast, readiness with its cache, and /healthz + /readyz.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import nock from "nock";
import { ProbotOctokit } from "probot";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { startupBanner } from "../src/ops/banner.js";
import { createLog, errorLine, markLogged } from "../src/ops/log.js";
import { createReachability, reachability, ServiceUnreachableError, unreachableCause, watchedFetch } from "../src/ops/network.js";
import { networkAwareOctokit } from "../src/ops/octokit.js";
import { createReadinessCheck } from "../src/ops/readiness.js";
import { fixloopVersion } from "../src/version.js";
import { ADMIN_TOKEN, createTempStore, startTestServer, type TempStore, type TestServer } from "./helpers.js";

const GATEWAY = "http://tensorzero.test:3000";
const GITHUB = "https://api.github.test";

afterEach(() => reachability.reset());

/** What node's resolver or socket throws (nock hands it to fetch, which wraps it as "fetch failed"). */
function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function capture(): { stream: Writable; lines: () => string[] } {
  let text = "";
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, lines: () => text.split("\n").filter((l) => l !== "") };
}

describe("start-up banner", () => {
  test("names the URL, webhook path, database, queue, admin API, gateway and App id, and no secret", () => {
    const banner = startupBanner({
      url: "http://127.0.0.1:3000",
      webhookPaths: { GitHub: "/api/github/webhooks" },
      databaseUrl: "libsql://fixloop-acme.turso.io?authToken=secret-token",
      queue: "libSQL jobs table, in-process worker (2 at a time)",
      adminApi: true,
      tensorzeroUrl: "https://user:pass@gateway.internal:3000",
      appId: 4242,
    });
    expect(banner).toContain(`fixloop ${fixloopVersion()} is running`);
    expect(banner).toMatch(/listening\s+http:\/\/127\.0\.0\.1:3000/);
    expect(banner).toMatch(/webhooks\s+GitHub http:\/\/127\.0\.0\.1:3000\/api\/github\/webhooks/);
    expect(banner).toMatch(/database\s+libsql:\/\/fixloop-acme\.turso\.io$/m);
    expect(banner).toMatch(/queue\s+libSQL jobs table/);
    expect(banner).toMatch(/admin API\s+on/);
    expect(banner).toMatch(/TensorZero\s+https:\/\/gateway\.internal:3000$/m);
    expect(banner).toMatch(/GitHub App\s+id 4242/);
    expect(banner).not.toMatch(/secret-token|user|pass@/);
  });

  test("says what is missing and what that means", () => {
    const banner = startupBanner({ url: "http://localhost:3000", webhookPaths: { GitHub: "/api/github/webhooks" }, databaseUrl: "file:./data/fixloop.db", queue: "q", adminApi: false, tensorzeroUrl: null, appId: null });
    expect(banner).toMatch(/TensorZero\s+not configured: fix jobs will wait/);
    expect(banner).toMatch(/admin API\s+off \(set FIXLOOP_ADMIN_TOKEN\)/);
    expect(banner).toMatch(/dashboard\s+off/);
  });
});

describe("logs", () => {
  const failure = () => Object.assign(new Error("Not Found\nmore detail"), { status: 404 });

  test("info is the default level; an error is one line without its stack", () => {
    const out = capture();
    const log = createLog({ LOG_FORMAT: "json" }, out.stream);
    log.debug("hidden");
    log.info({ delivery: "d-1" }, "recorded");
    log.error({ err: failure(), jobId: 7 }, "job failed");
    const [info, error] = out.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out.lines()).toHaveLength(2);
    expect(info).toMatchObject({ msg: "recorded", delivery: "d-1", level: 30 });
    expect(error).toMatchObject({ msg: "job failed", jobId: 7, err: "Error: Not Found (404)" });
  });

  test("at debug the stack is there", () => {
    const out = capture();
    createLog({ LOG_FORMAT: "json", LOG_LEVEL: "debug" }, out.stream).error({ err: failure() }, "job failed");
    const [line] = out.lines().map((l) => JSON.parse(l) as { err: { stack: string } });
    expect(line.err.stack).toContain("ops.test.ts");
  });

  test("pretty output is one line per event; an error already logged by its handler is not logged again", () => {
    const out = capture();
    const log = createLog({}, out.stream);
    log.warn({ delivery: "abc", event: "pull_request" }, "delivery payload is malformed");
    // What Probot's webhook error handler does with the error our handler throws.
    log.child({ name: "event", id: "abc" }).error(markLogged(new Error("payload lacks pull_request")));
    expect(out.lines()).toHaveLength(1);
    expect(out.lines()[0]).toMatch(/WARN.*delivery payload is malformed.*"delivery":"abc"/);
  });

  test("errorLine folds any error onto one line", () => {
    expect(errorLine(Object.assign(new TypeError("fetch failed\n  at x"), { code: "ENOTFOUND" }))).toBe("TypeError: fetch failed (ENOTFOUND)");
    expect(errorLine("plain")).toBe("plain");
  });
});

describe("unreachable services", () => {
  test("the DNS, TCP or TLS failure under fetch's 'fetch failed' is found and named", () => {
    const dns = new TypeError("fetch failed", { cause: Object.assign(new Error("getaddrinfo ENOTFOUND api.github.com"), { code: "ENOTFOUND", hostname: "api.github.com" }) });
    expect(unreachableCause(dns)).toEqual({ code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND api.github.com", host: "api.github.com" });
    const tls = new Error("request failed", { cause: Object.assign(new Error("certificate has expired"), { code: "CERT_HAS_EXPIRED" }) });
    expect(unreachableCause(tls)?.code).toBe("CERT_HAS_EXPIRED");
    expect(unreachableCause(Object.assign(new Error("Bad Gateway"), { status: 502 }))).toBeNull();
  });

  test("GitHub that does not resolve fails at once, without Octokit's retries, and is remembered", async () => {
    nock(GITHUB).get("/repos/acme/widgets").replyWithError(networkError("ENOTFOUND", "getaddrinfo ENOTFOUND api.github.test"));
    const Octokit = networkAwareOctokit(ProbotOctokit, { retryBaseMs: 2000 });
    const octokit = new Octokit({ baseUrl: GITHUB, auth: "token", throttle: { enabled: false } });
    const started = Date.now();
    const error = await octokit.request("GET /repos/{owner}/{repo}", { owner: "acme", repo: "widgets" }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(ServiceUnreachableError);
    expect((error as Error).message).toBe("GitHub unreachable: getaddrinfo ENOTFOUND api.github.test");
    expect(reachability.problems().map((p) => [p.service, p.code])).toEqual([["GitHub", "ENOTFOUND"]]);
  });

  test("a 5xx is still retried, and success clears what was remembered", async () => {
    reachability.failed("GitHub", { code: "ENOTFOUND", message: "earlier", host: null });
    nock(GITHUB).get("/zen").reply(502, { message: "Bad Gateway" }).get("/zen").reply(200, "Keep it logically awesome.");
    const Octokit = networkAwareOctokit(ProbotOctokit, { retryBaseMs: 1 });
    const octokit = new Octokit({ baseUrl: GITHUB, auth: "token", throttle: { enabled: false } });
    const { status } = await octokit.request("GET /zen");
    expect(status).toBe(200);
    expect(reachability.problems()).toEqual([]);
  });

  test("a shutdown signal aborts a request in flight", async () => {
    // A GitHub that accepts the connection and never answers.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const controller = new AbortController();
      const Octokit = networkAwareOctokit(ProbotOctokit, { signal: controller.signal });
      const octokit = new Octokit({ baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, auth: "token", throttle: { enabled: false } });
      const pending = octokit.request("GET /zen").catch((e: unknown) => e);
      setTimeout(() => controller.abort(new Error("SIGTERM")), 100);
      const started = Date.now();
      const error = (await pending) as Error;
      expect(Date.now() - started).toBeLessThan(2000);
      // fetch throws the abort's reason; Octokit wraps it (and, without this class, would retry it for 14 s).
      expect(error.message).toBe("SIGTERM");
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  test("watchedFetch names the gateway that cannot be reached", async () => {
    const record = createReachability();
    nock(GATEWAY).post("/feedback").replyWithError(networkError("ECONNREFUSED", "connect ECONNREFUSED 10.0.0.7:3000"));
    const error = await watchedFetch("TensorZero", fetch, record)(`${GATEWAY}/feedback`, { method: "POST" }).catch((e: unknown) => e);
    expect((error as Error).message).toBe("TensorZero unreachable: connect ECONNREFUSED 10.0.0.7:3000");
    expect(record.problems()[0]).toMatchObject({ service: "TensorZero", code: "ECONNREFUSED" });
  });
});

describe("readiness", () => {
  let store: TempStore;
  beforeAll(async () => {
    store = await createTempStore();
  });
  afterAll(() => store.dispose());

  test("asks the database, the gateway's /health and GitHub once, then answers from its cache for a minute", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    nock(GATEWAY).get("/health").reply(200, { gateway: "ok", clickhouse: "ok" });
    nock(GITHUB).get("/zen").reply(200, "Design for failure.");
    const check = createReadinessCheck({ store, gatewayUrl: GATEWAY, githubApiUrl: GITHUB, now: () => now, reachability: createReachability() });
    const first = await check.report();
    expect(first.ok).toBe(true);
    expect(Object.fromEntries(Object.entries(first.checks).map(([k, v]) => [k, v.state]))).toEqual({ database: "ok", tensorzero: "ok", github: "ok" });
    now = new Date(now.getTime() + 59_000);
    expect((await check.report()).checkedAt).toBe(first.checkedAt);
    expect(nock.pendingMocks()).toEqual([]);
    // After a minute it asks again: now the gateway is down and GitHub does not resolve.
    now = new Date(now.getTime() + 2_000);
    nock(GATEWAY).get("/health").reply(503, "down");
    nock(GITHUB).get("/zen").replyWithError(networkError("ENOTFOUND", "getaddrinfo ENOTFOUND api.github.test"));
    const second = await check.report();
    expect(second.ok).toBe(false);
    expect(second.checks.tensorzero).toMatchObject({ state: "failing", detail: `GET ${GATEWAY}/health: HTTP 503` });
    expect(second.checks.github).toMatchObject({ state: "failing", detail: `GET ${GITHUB}/zen: getaddrinfo ENOTFOUND api.github.test` });
  });

  test("a failure a job saw after the last check turns a cached ok into failing", async () => {
    const seen = createReachability();
    let now = new Date("2026-01-01T00:00:00Z");
    nock(GITHUB).get("/zen").reply(200, "ok");
    const check = createReadinessCheck({ store, gatewayUrl: null, githubApiUrl: GITHUB, now: () => now, reachability: seen });
    expect((await check.report()).ok).toBe(true);
    now = new Date(now.getTime() + 10_000);
    seen.failed("GitHub", { code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND api.github.com", host: "api.github.com" }, now);
    const report = await check.report();
    expect(report.ok).toBe(false);
    expect(report.checks.github.detail).toContain("getaddrinfo ENOTFOUND api.github.com (seen by a job at");
    expect(report.checks.tensorzero.state).toBe("not configured");
  });
});

describe("/healthz and /readyz", () => {
  let server: TestServer;
  beforeAll(async () => {
    const store = await createTempStore();
    server = await startTestServer({ readiness: createReadinessCheck({ store, gatewayUrl: null, githubApiUrl: null }) });
  });
  afterAll(() => server.close());

  const get = (path: string, token?: string) => fetch(`${server.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  test("/readyz: anyone sees the verdict and each check's state, only the admin token sees the error text", async () => {
    const anonymous = await get("/readyz");
    expect(anonymous.status).toBe(200);
    expect(await anonymous.json()).toEqual({ ok: true, checks: { database: "ok", tensorzero: "not configured", github: "not checked" } });
    const admin = (await (await get("/readyz", ADMIN_TOKEN)).json()) as { checks: { database: { detail: string } } };
    expect(admin.checks.database.detail).toBe("SELECT 1 answered");
  });

  test("POST is refused", async () => {
    expect((await fetch(`${server.url}/readyz`, { method: "POST" })).status).toBe(405);
  });
});
