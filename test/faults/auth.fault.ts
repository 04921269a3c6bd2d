/**
 * Fault: someone without the admin token. Every admin API route (parameterised
 * ones too, and unknown ones, so the answer says nothing about which exist)
 * and every dashboard route, GET and POST, answers 401 with no credentials,
 * with a wrong token, and with the right token presented the wrong way
 * (another scheme, a query parameter, a cookie, the API's bearer token at the
 * dashboard, a dashboard session at the API). No stored data leaks into the
 * answer, and the unauthenticated retry does not retry the job.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createLibsqlQueue, getJob } from "../../src/queue/index.js";
import { jobs } from "../../src/store/schema.js";
import { ADMIN_TOKEN, fixture, startTestServer, type TestServer } from "../helpers.js";
import { rawRequest, type RawResponse } from "./support/http.js";
import { report } from "./support/scenario.js";
import { createFailureLimiter } from "../../src/http/rate-limit.js";

let server: TestServer;
let deadJobId: number;
let sessionCookie: string;

/** Text that only stored data contains: an answer holding it leaked something. */
const SECRET_MARKERS = ["acme/widgets", "fix-widget-parser", "8f4c2a1d9e3b7c6a5f4e3d2c1b0a9f8e7d6c5b4a"];

const API_PATHS = [
  "/api/pr-outcomes",
  "/api/pr-outcomes?repo=acme/widgets&state=open&limit=5",
  "/api/ci-runs",
  "/api/ci-runs?status=completed&since=30d",
  "/api/attribution/commit/abc",
  "/api/attribution/commit/8f4c2a1d9e3b7c6a5f4e3d2c1b0a9f8e7d6c5b4a?repo=acme/widgets",
  "/api/attribution/pr/a/b/1",
  "/api/attribution/pr/acme/widgets/42?min_confidence=0.5",
  "/api/no-such-route",
  "/api/",
];
const API_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

function dashboardRoutes(): { method: string; path: string; form?: string }[] {
  return [
    { method: "GET", path: "/fixloop" },
    { method: "GET", path: "/fixloop/" },
    { method: "GET", path: "/fixloop?retried=1" },
    { method: "POST", path: "/fixloop" },
    { method: "GET", path: "/fixloop/logout" },
    { method: "POST", path: "/fixloop/logout", form: "csrf=x" },
    { method: "GET", path: `/fixloop/jobs/${deadJobId}/retry` },
    { method: "POST", path: `/fixloop/jobs/${deadJobId}/retry`, form: "csrf=x" },
    { method: "POST", path: `/fixloop/jobs/${deadJobId}/retry` },
    { method: "POST", path: "/fixloop/jobs/999999/retry", form: "csrf=x" },
    { method: "DELETE", path: `/fixloop/jobs/${deadJobId}` },
    { method: "GET", path: "/fixloop/no-such-page" },
  ];
}

const basic = (value: string) => `Basic ${Buffer.from(value).toString("base64")}`;
const FORGED_SESSION = `v1.${Date.now() + 3_600_000}.${"A".repeat(24)}.${"A".repeat(43)}`;

/** Ways of asking without valid credentials for that surface; `extraQuery` is appended to the path. */
function credentialVariants(surface: "api" | "dashboard"): { name: string; headers: Record<string, string>; extraQuery?: string }[] {
  const variants: { name: string; headers: Record<string, string>; extraQuery?: string }[] = [
    { name: "no credentials", headers: {} },
    { name: "wrong bearer token", headers: { authorization: "Bearer wrong-token" } },
    { name: "bearer token's prefix", headers: { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` } },
    { name: "bearer token plus a suffix", headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } },
    { name: "empty bearer", headers: { authorization: "Bearer " } },
    { name: "token as Basic (token)", headers: { authorization: basic(ADMIN_TOKEN) } },
    { name: "token as Basic (admin:token)", headers: { authorization: basic(`admin:${ADMIN_TOKEN}`) } },
    { name: "token with scheme Token", headers: { authorization: `Token ${ADMIN_TOKEN}` } },
    { name: "bare token, no scheme", headers: { authorization: ADMIN_TOKEN } },
    { name: "Bearer glued to the token", headers: { authorization: `Bearer${ADMIN_TOKEN}` } },
    { name: "token in X-Admin-Token", headers: { "x-admin-token": ADMIN_TOKEN, "x-api-key": ADMIN_TOKEN } },
    { name: "token in ?token=", headers: {}, extraQuery: `token=${ADMIN_TOKEN}&access_token=${ADMIN_TOKEN}` },
    { name: "token as the session cookie", headers: { cookie: `fixloop_session=${ADMIN_TOKEN}` } },
    { name: "forged session cookie", headers: { cookie: `fixloop_session=${FORGED_SESSION}` } },
  ];
  if (surface === "dashboard") variants.push({ name: "the API's bearer token at the dashboard", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (surface === "api") variants.push({ name: "a valid dashboard session at the API", headers: { cookie: sessionCookie } });
  return variants;
}

function withQuery(path: string, extra: string | undefined): string {
  if (!extra) return path;
  return `${path}${path.includes("?") ? "&" : "?"}${extra}`;
}

function leaks(response: RawResponse): string | null {
  const text = response.body.toString("utf8");
  return SECRET_MARKERS.find((marker) => text.includes(marker)) ?? null;
}

beforeAll(async () => {
  // Every credential variant must meet a 401 here, so the guesser is never held back; holding back
  // (429 after 10 wrong tokens a minute) has its own tests in test/auth-limit.test.ts.
  server = await startTestServer({ authLimiter: createFailureLimiter({ maxFailures: Number.MAX_SAFE_INTEGER }) });
  // Data an intruder would want: a PR, a red run, a dead job.
  expect((await server.post("pull_request", fixture("pull_request.opened.json"))).status).toBe(202);
  expect((await server.post("workflow_run", fixture("workflow_run.completed.json"))).status).toBe(202);
  const queue = createLibsqlQueue(server.store);
  deadJobId = (await queue.enqueue("fix", { note: "seeded for the auth fault test" })).id;
  await server.store.db.update(jobs).set({ status: "dead", lastError: "seeded" }).where(sql`${jobs.id} = ${deadJobId}`);

  // Positive controls: the routes work when asked properly, so the 401s below are about credentials.
  const api = await rawRequest(server.url, { method: "GET", path: "/api/pr-outcomes", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(api.status).toBe(200);
  expect(leaks(api)).toBe("acme/widgets");
  const login = await rawRequest(server.url, {
    method: "POST",
    path: "/fixloop/login",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `token=${encodeURIComponent(ADMIN_TOKEN)}`,
  });
  expect(login.status).toBe(303);
  sessionCookie = String(login.headers["set-cookie"]?.[0] ?? "").split(";")[0];
  expect(sessionCookie).toMatch(/^fixloop_session=v1\./);
  const dashboard = await rawRequest(server.url, { method: "GET", path: "/fixloop", headers: { cookie: sessionCookie } });
  expect(dashboard.status).toBe(200);
});

afterAll(async () => {
  await server?.close();
});

test("admin API and dashboard: 401 for every route without valid credentials", async () => {
  const failures: string[] = [];
  let asked = 0;
  let unauthorized = 0;
  const routes = new Set<string>();
  const check = async (surface: string, method: string, path: string, headers: Record<string, string>, body: string | undefined, variant: string) => {
    const response = await rawRequest(server.url, {
      method,
      path,
      headers: body === undefined ? headers : { ...headers, "content-type": "application/x-www-form-urlencoded", "content-length": String(Buffer.byteLength(body)) },
      body,
    });
    asked++;
    // A dashboard page (GET) without a session goes to the login form and nowhere else; anything else is 401.
    const toLogin = surface === "dashboard" && method === "GET" && response.status === 303 && response.headers.location === "/fixloop/login";
    if (response.status === 401 || toLogin) unauthorized++;
    routes.add(`${method} ${path.split("?")[0]}`);
    const leaked = leaks(response);
    if (response.status !== 401 && !toLogin) failures.push(`${surface} ${method} ${path} [${variant}] → ${response.status}`);
    if (leaked) failures.push(`${surface} ${method} ${path} [${variant}] leaked "${leaked}"`);
    if (surface === "api" && response.headers["www-authenticate"] !== "Bearer") failures.push(`${method} ${path} [${variant}]: no WWW-Authenticate: Bearer`);
  };

  for (const variant of credentialVariants("api")) {
    for (const path of API_PATHS) {
      for (const method of API_METHODS) await check("api", method, withQuery(path, variant.extraQuery), variant.headers, method === "POST" || method === "PUT" ? "{}" : undefined, variant.name);
    }
  }
  for (const variant of credentialVariants("dashboard")) {
    for (const route of dashboardRoutes()) await check("dashboard", route.method, withQuery(route.path, variant.extraQuery), variant.headers, route.form, variant.name);
  }
  // The login form itself is public; posting it without the right token is refused.
  const loginForms = ["", "token=", "token=wrong-token", `token=${ADMIN_TOKEN.toUpperCase()}`, `password=${ADMIN_TOKEN}`, `token=${ADMIN_TOKEN}%00`];
  for (const form of loginForms) {
    await check("dashboard", "POST", "/fixloop/login", {}, form, `login form "${form.replace(ADMIN_TOKEN, "<token>").replace(ADMIN_TOKEN.toUpperCase(), "<TOKEN>")}"`);
  }
  await check("dashboard", "POST", "/fixloop/login", { authorization: `Bearer ${ADMIN_TOKEN}` }, "", "login with the token as a bearer header only");

  const loginPage = await rawRequest(server.url, { method: "GET", path: "/fixloop/login" });
  const job = await getJob(server.store, deadJobId);

  report("admin auth", `${asked} requests over ${routes.size} method+route pairs (${API_PATHS.length} API paths × ${API_METHODS.length} methods × ${credentialVariants("api").length} credential variants, ${dashboardRoutes().length} dashboard routes × ${credentialVariants("dashboard").length} variants, ${loginForms.length + 1} login posts): ${unauthorized} answered 401 (dashboard pages: the login redirect), ${failures.length} problems; GET /fixloop/login (the public form) ${loginPage.status}, leaks nothing: ${leaks(loginPage) === null}; seeded dead job still ${job?.status}`);
  expect(failures).toEqual([]);
  expect(loginPage.status).toBe(200);
  expect(leaks(loginPage)).toBeNull();
  expect(job?.status).toBe("dead");
});
