import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ADMIN_TOKEN, fixture, startTestServer, type TestServer } from "./helpers.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  for (const name of ["pull_request.closed.json", "pull_request.closed.unmerged.json", "workflow_run.completed.json", "check_suite.completed.json"]) {
    const event = name.split(".")[0];
    expect((await server.post(event, fixture(name))).status).toBe(202);
  }
});
afterAll(async () => {
  await server.close();
});

const get = (path: string, token: string | null = ADMIN_TOKEN) =>
  fetch(`${server.url}${path}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });

test("GET /healthz needs no token and says only ok; the admin token adds the database's state", async () => {
  const response = await get("/healthz", null);
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ ok: true });
  expect(await (await get("/healthz", "wrong-token")).json()).toEqual({ ok: true });
  expect(await (await get("/healthz")).json()).toEqual({ ok: true, database: "reachable" });
});

describe("admin API auth", () => {
  test.each(["/api/pr-outcomes", "/api/ci-runs", "/api/nope"])("%s without a token → 401", async (path) => {
    const response = await get(path, null);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe("Bearer");
  });

  test("a wrong token → 401", async () => {
    expect((await get("/api/pr-outcomes", "wrong")).status).toBe(401);
    expect((await get("/api/pr-outcomes", `${ADMIN_TOKEN}x`)).status).toBe(401);
  });

  test("the API is off when no token is configured", async () => {
    const open = await startTestServer({ adminToken: undefined });
    try {
      const response = await fetch(`${open.url}/api/pr-outcomes`, { headers: { authorization: "Bearer anything" } });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: expect.stringMatching(/FIXLOOP_ADMIN_TOKEN/) });
    } finally {
      await open.close();
    }
  });
});

describe("queries", () => {
  test("pr-outcomes filtered by repo and state, without raw payloads", async () => {
    const response = await get("/api/pr-outcomes?repo=acme/widgets&state=merged");
    expect(response.status).toBe(200);
    const { pr_outcomes } = (await response.json()) as { pr_outcomes: Record<string, unknown>[] };
    expect(pr_outcomes).toHaveLength(1);
    expect(pr_outcomes[0]).toMatchObject({ prNumber: 42, state: "merged", repoSlug: "acme/widgets" });
    expect(pr_outcomes[0]).not.toHaveProperty("rawJson");
    const all = (await (await get("/api/pr-outcomes?repo=ACME/Widgets")).json()) as { pr_outcomes: unknown[] };
    expect(all.pr_outcomes).toHaveLength(2);
  });

  test("pr-outcomes since filters on GitHub's updated_at", async () => {
    const late = (await (await get("/api/pr-outcomes?since=2024-05-02T13:15:00Z")).json()) as { pr_outcomes: { prNumber: number }[] };
    expect(late.pr_outcomes.map((p) => p.prNumber)).toEqual([43]);
  });

  test("ci-runs by commit prefix and status", async () => {
    const body = (await (await get("/api/ci-runs?commit_sha=8f4c2a1d&status=failure")).json()) as { ci_runs: { provider: string }[] };
    expect(body.ci_runs.map((r) => r.provider).sort()).toEqual(["github-actions", "github-checks"]);
    const none = (await (await get("/api/ci-runs?status=success")).json()) as { ci_runs: unknown[] };
    expect(none.ci_runs).toEqual([]);
  });

  test("bad filters → 400 with a readable error", async () => {
    const response = await get("/api/ci-runs?status=red");
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "status must be one of success, failure, cancelled, in_progress" });
    expect((await get("/api/pr-outcomes?since=whenever")).status).toBe(400);
    expect((await get("/api/pr-outcomes?limit=0")).status).toBe(400);
  });
});

test("odd request targets are paths, not hosts, and never a 500", async () => {
  const { connect } = await import("node:net");
  // A raw socket: HTTP clients (and nock's interceptor) would rewrite these targets.
  const raw = (target: string) =>
    new Promise<number>((resolve, reject) => {
      const url = new URL(server.url);
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nConnection: close\r\n\r\n`);
      });
      let data = "";
      socket.on("data", (chunk) => (data += chunk.toString("latin1")));
      socket.on("end", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
      socket.on("error", reject);
    });
  // `//evil/api/pr-outcomes` is not `/api/pr-outcomes` on a host called "evil".
  expect(await raw("//evil/api/pr-outcomes")).toBe(404);
  expect(await raw("/\\x")).toBe(404);
  expect(await raw("/api/pr-outcomes")).toBe(200);
});
