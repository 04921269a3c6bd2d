import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { niceScale, renderChart } from "../src/http/dashboard/chart.js";
import { escapeHtml, html } from "../src/http/dashboard/html.js";
import { createSessionSigner } from "../src/http/dashboard/session.js";
import { formatRate } from "../src/http/dashboard/views.js";
import { CONTENT_SECURITY_POLICY } from "../src/http/dashboard.js";
import { dailyOutcomes, recentAttempts, variantStats } from "../src/outcomes/stats.js";
import { jobs } from "../src/store/schema.js";
import { METRICS } from "../src/tensorzero/metrics.js";
import { seedAttempt, seedDelivery, seedFeedback, seedJob } from "./dashboard-seed.js";
import type { ReadinessCheck } from "../src/ops/readiness.js";
import { deliveries } from "../src/store/schema.js";
import { ADMIN_TOKEN, createTempStore, fixture as fixtureJson, startTestServer, type TempStore, type TestServer } from "./helpers.js";

const HOUR = 3600_000;
const NOW = new Date();
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * HOUR);
const EVIL_REPO = "evil/<script>alert(1)</script>";
const EVIL_REASON = `patch refused: "<script>document.cookie</script>" & more`;

let server: TestServer;
let failedJobId: number;
let deadJobId: number;
let doneJobId: number;

beforeAll(async () => {
  server = await startTestServer();
  const store = server.store;
  // alpha: patch applied 7 of 9, CI passed 1 of 2, one PR closed then reopened and merged (the later row wins).
  for (let i = 0; i < 9; i++) {
    const id = await seedAttempt(store, {
      repo: "acme/widgets",
      variant: "alpha",
      status: i < 7 ? "awaiting_ci" : "failed",
      createdAt: hoursAgo(30 + i),
      prNumber: i < 7 ? 100 + i : null,
      outcomes: { [METRICS.patchApplied]: i < 7 },
    });
    if (i === 0) {
      await seedFeedback(store, { attemptId: id, metric: METRICS.ciPassed, value: true, at: hoursAgo(20) });
      await seedFeedback(store, { attemptId: id, metric: METRICS.prMerged, value: false, at: hoursAgo(10), targetId: "episode-0", dedupKey: "pr:acme/widgets#100:closed" });
      await seedFeedback(store, { attemptId: id, metric: METRICS.prMerged, value: true, at: hoursAgo(5), targetId: "episode-0", dedupKey: "pr:acme/widgets#100:merged" });
    }
    if (i === 1) await seedFeedback(store, { attemptId: id, metric: METRICS.ciPassed, value: false, at: hoursAgo(20) });
    // Not outcomes of these metrics: a non-boolean value and a built-in kind are left out.
    if (i === 2) await seedFeedback(store, { attemptId: id, metric: METRICS.ciPassed, value: "yes", at: hoursAgo(20) });
    if (i === 3) await seedFeedback(store, { attemptId: id, metric: "comment", value: "nice fix", at: hoursAgo(20) });
  }
  // Feedback without an attempt cannot be given a variant.
  await seedFeedback(store, { attemptId: null, metric: METRICS.ciPassed, value: true, at: hoursAgo(20) });
  // beta: attempts without any feedback yet.
  await seedAttempt(store, { repo: "acme/api", variant: "beta", status: "awaiting_ci", createdAt: hoursAgo(2), prNumber: 7 });
  // Untrusted text from webhooks and logs.
  await seedAttempt(store, { repo: EVIL_REPO, variant: null, status: "skipped", createdAt: hoursAgo(1), reason: EVIL_REASON, workflowName: "<b>wf</b>" });
  failedJobId = await seedJob(store, { kind: "fix", status: "failed", payload: { repo: "acme/widgets", runId: "42" }, lastError: "boom <img src=x onerror=alert(1)>", attempts: 1, at: hoursAgo(3) });
  deadJobId = await seedJob(store, { kind: "fix", status: "dead", lastError: "gateway down", at: hoursAgo(4) });
  doneJobId = await seedJob(store, { kind: "fix", status: "done", at: hoursAgo(4) });
});
afterAll(async () => {
  await server.close();
});

function request(path: string, init: RequestInit & { cookie?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("cookie", init.cookie);
  return fetch(`${server.url}${path}`, { ...init, headers, redirect: "manual" });
}

function postForm(path: string, fields: Record<string, string>, options: { cookie?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return request(path, {
    method: "POST",
    cookie: options.cookie,
    headers: { "content-type": "application/x-www-form-urlencoded", ...options.headers },
    body: new URLSearchParams(fields).toString(),
  });
}

async function login(headers: Record<string, string> = {}): Promise<{ cookie: string; setCookie: string }> {
  const response = await postForm("/fixloop/login", { token: ADMIN_TOKEN }, { headers });
  expect(response.status).toBe(303);
  expect(response.headers.get("location")).toBe("/fixloop");
  const [setCookie] = response.headers.getSetCookie();
  return { cookie: setCookie.split(";")[0], setCookie };
}

/** Logs in to another server of this file and returns its session cookie. */
async function sessionOn(url: string): Promise<string> {
  const response = await fetch(`${url}/fixloop/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: ADMIN_TOKEN }).toString(),
    redirect: "manual",
  });
  return response.headers.getSetCookie()[0].split(";")[0];
}

function csrfOf(page: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(page);
  if (!match) throw new Error("no CSRF field on the page");
  return match[1];
}

describe("access", () => {
  test.each([
    ["GET", "/fixloop"],
    ["GET", "/fixloop/"],
    ["GET", "/fixloop/anything"],
    ["GET", "/fixloop/attempts"],
    ["GET", "/fixloop/deliveries"],
    ["GET", "/fixloop/jobs/1/retry"],
  ])("%s %s without a session → the login form", async (method, path) => {
    const response = await request(path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/fixloop/login");
  });

  test.each([
    ["POST", "/fixloop/jobs/1/retry"],
    ["POST", "/fixloop/deliveries/x/replay"],
    ["POST", "/fixloop/logout"],
    ["POST", "/fixloop"],
  ])("%s %s without a session → 401", async (method, path) => {
    const response = await request(path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await response.text()).toContain('href="/fixloop/login"');
  });

  test("a forged, tampered or token-valued cookie is no session", async () => {
    const { cookie } = await login();
    const value = cookie.slice("fixloop_session=".length);
    const [v, expires, id, signature] = value.split(".");
    const tampered = [
      `fixloop_session=${ADMIN_TOKEN}`,
      `fixloop_session=${v}.${Number(expires) + 1000}.${id}.${signature}`,
      `fixloop_session=${v}.${expires}.${id}.${signature.slice(0, -1)}${signature.endsWith("A") ? "B" : "A"}`,
      `fixloop_session=${v}.${expires}.${"A".repeat(24)}.${signature}`,
    ];
    for (const forged of tampered) expect((await request("/fixloop", { cookie: forged })).status).toBe(303);
    expect((await request("/fixloop", { cookie })).status).toBe(200);
  });

  test("the login form needs no session and carries the security headers", async () => {
    const response = await request("/fixloop/login");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    const page = await response.text();
    expect(page).toContain('<form class="login" method="post" action="/fixloop/login">');
    expect(page).toContain('type="password"');
  });

  test("a wrong or empty token does not log in", async () => {
    for (const token of ["wrong", `${ADMIN_TOKEN}x`, ""]) {
      const response = await postForm("/fixloop/login", { token });
      expect(response.status).toBe(401);
      expect(response.headers.getSetCookie()).toEqual([]);
      expect(await response.text()).toContain("That token is not right.");
    }
  });

  test("login sets an HttpOnly SameSite=Strict session cookie under /fixloop that is not the token", async () => {
    const { setCookie } = await login();
    const attributes = setCookie.split(";").map((part) => part.trim());
    expect(attributes[0]).toMatch(/^fixloop_session=v1\.\d+\.[\w-]{24}\.[\w-]{43}$/);
    expect(attributes).toEqual(expect.arrayContaining(["HttpOnly", "SameSite=Strict", "Path=/fixloop", "Max-Age=43200"]));
    expect(attributes).not.toContain("Secure");
    expect(setCookie).not.toContain(ADMIN_TOKEN);
  });

  test("the cookie is Secure when the request came over https", async () => {
    const { setCookie } = await login({ "x-forwarded-proto": "https" });
    expect(setCookie.split(";").map((part) => part.trim())).toContain("Secure");
  });

  test("a cross-site login post is refused", async () => {
    const response = await postForm("/fixloop/login", { token: ADMIN_TOKEN }, { headers: { origin: "https://evil.example" } });
    expect(response.status).toBe(403);
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  test("an oversized form is refused", async () => {
    const response = await postForm("/fixloop/login", { token: "x".repeat(10_000) });
    expect(response.status).toBe(413);
  });

  test("logout ends the session even though the cookie is still presented", async () => {
    const { cookie } = await login();
    const page = await (await request("/fixloop", { cookie })).text();
    const response = await postForm("/fixloop/logout", { csrf: csrfOf(page) }, { cookie });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/fixloop/login?logged_out=1");
    expect(response.headers.getSetCookie()[0]).toMatch(/^fixloop_session=; Path=\/fixloop; Max-Age=0/);
    expect((await request("/fixloop", { cookie })).status).toBe(303);
  });

  test("the dashboard is off without FIXLOOP_ADMIN_TOKEN", async () => {
    const off = await startTestServer({ adminToken: undefined });
    try {
      for (const path of ["/fixloop", "/fixloop/login"]) {
        const response = await fetch(`${off.url}${path}`);
        expect(response.status).toBe(404);
        expect(await response.text()).toContain("set FIXLOOP_ADMIN_TOKEN");
      }
    } finally {
      await off.close();
    }
  });
});

describe("page", () => {
  let page: string;
  let response: Response;
  beforeAll(async () => {
    const { cookie } = await login();
    response = await request("/fixloop", { cookie });
    page = await response.text();
  });

  test("answers HTML with the CSP and nosniff", () => {
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  test("escapes repo names, reasons, workflow names and errors", () => {
    expect(page).not.toContain("<script>");
    expect(page).not.toContain("<img");
    expect(page).not.toContain("<b>wf</b>");
    expect(page).toContain("evil/&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(page).toContain("patch refused: &quot;&lt;script&gt;document.cookie&lt;/script&gt;&quot; &amp; more");
    expect(page).toContain("boom &lt;img src=x onerror=alert(1)&gt;");
    // An unsafe repo slug gets no link at all.
    expect(page).not.toMatch(/href="https:\/\/github\.com\/evil/);
  });

  test("lists recent attempts with status, repo, run, PR link and variant", () => {
    const row = /<tr data-attempt="[^"]+">((?:(?!<\/tr>)[\s\S])*?#100(?:(?!<\/tr>)[\s\S])*?)<\/tr>/.exec(page)?.[1] ?? "";
    expect(row).toContain("awaiting ci");
    expect(row).toContain('href="https://github.com/acme/widgets/pull/100"');
    expect(row).toMatch(/href="https:\/\/github\.com\/acme\/widgets\/actions\/runs\/\d+"/);
    expect(row).toContain("alpha");
    // The overview shows the newest ten; the attempts page has them all.
    expect(page.match(/<tr data-attempt=/g)).toHaveLength(10);
  });

  test("shows per-variant rates as counts and percentages, and a dash without data", () => {
    const card = (name: string) => new RegExp(`<article class="card" data-variant="${name}">([\\s\\S]*?)</article>`).exec(page)?.[1] ?? "";
    const rate = (name: string, metric: string) => new RegExp(`<dd data-metric="${metric}">([^<]*)</dd>`).exec(card(name))?.[1];
    expect(rate("alpha", METRICS.patchApplied)).toBe("7/9 · 78%");
    expect(rate("alpha", METRICS.ciPassed)).toBe("1/2 · 50%");
    expect(rate("alpha", METRICS.prMerged)).toBe("1/1 · 100%");
    // The merged fix was not reverted: 0 of the 1 merged.
    expect(rate("alpha", METRICS.prReverted)).toBe("0/1 · 0%");
    expect(rate("alpha", METRICS.heldUp)).toBe("–");
    expect(rate("beta", METRICS.patchApplied)).toBe("–");
    expect(card("alpha")).toContain("9 attempts · 7 PRs");
    expect(card("alpha")).toMatch(/awaiting ci<b>7<\/b>/);
    expect(card("alpha")).toMatch(/failed<b>2<\/b>/);
    expect(card("no variant")).toMatch(/skipped<b>1<\/b>/);
  });

  test("has an accessible SVG chart with bars, axis labels and a legend", () => {
    expect(page).toMatch(/<svg class="chart chart-wide" role="img" aria-labelledby="chart-wide-title chart-wide-desc"/);
    expect(page).toContain('<title id="chart-wide-title">Fix attempts and outcomes per day, last 30 days (UTC)</title>');
    expect(page).toMatch(/<desc id="chart-wide-desc">[^<]*: 11 attempts opened, 1 ci passed, 1 merged\.<\/desc>/);
    // A phone gets its own drawing of the last 14 days.
    expect(page).toMatch(/<svg class="chart chart-narrow" role="img" aria-labelledby="chart-narrow-title chart-narrow-desc"/);
    expect(page).toContain('<title id="chart-narrow-title">Fix attempts and outcomes per day, last 14 days (UTC)</title>');
    expect(page.match(/<rect class="bar bar-opened"/g)?.length).toBeGreaterThan(0);
    expect(page).toContain("Attempts opened</text>");
    expect(page).toContain('<text class="day"');
  });

  test("lists failed and dead jobs with their errors and a retry form each", () => {
    for (const id of [failedJobId, deadJobId]) expect(page).toContain(`action="/fixloop/jobs/${id}/retry"`);
    expect(page).not.toContain(`action="/fixloop/jobs/${doneJobId}/retry"`);
    expect(page).toContain("gateway down");
  });
});

describe("retry", () => {
  let cookie: string;
  let csrf: string;
  beforeAll(async () => {
    ({ cookie } = await login());
    csrf = csrfOf(await (await request("/fixloop", { cookie })).text());
  });
  const statusOf = async (id: number) => (await server.store.db.select().from(jobs).where(eq(jobs.id, id)))[0]?.status;

  test("needs the session's CSRF token", async () => {
    expect((await postForm(`/fixloop/jobs/${failedJobId}/retry`, {}, { cookie })).status).toBe(403);
    expect((await postForm(`/fixloop/jobs/${failedJobId}/retry`, { csrf: `${csrf.slice(0, -1)}${csrf.endsWith("A") ? "B" : "A"}` }, { cookie })).status).toBe(403);
    // Another session's token does not fit this one.
    const other = await login();
    const otherCsrf = csrfOf(await (await request("/fixloop", { cookie: other.cookie })).text());
    expect(otherCsrf).not.toBe(csrf);
    expect((await postForm(`/fixloop/jobs/${failedJobId}/retry`, { csrf: otherCsrf }, { cookie })).status).toBe(403);
    expect(await statusOf(failedJobId)).toBe("failed");
  });

  test("refuses cross-site posts even with the token", async () => {
    const cross = await postForm(`/fixloop/jobs/${failedJobId}/retry`, { csrf }, { cookie, headers: { origin: "https://evil.example" } });
    expect(cross.status).toBe(403);
    const site = await postForm(`/fixloop/jobs/${failedJobId}/retry`, { csrf }, { cookie, headers: { "sec-fetch-site": "cross-site" } });
    expect(site.status).toBe(403);
    const opaque = await postForm(`/fixloop/jobs/${failedJobId}/retry`, { csrf }, { cookie, headers: { origin: "null" } });
    expect(opaque.status).toBe(403);
    expect(await statusOf(failedJobId)).toBe("failed");
  });

  test("re-queues a failed job and says so after the redirect", async () => {
    const response = await postForm(`/fixloop/jobs/${failedJobId}/retry`, { csrf }, { cookie, headers: { origin: server.url, "sec-fetch-site": "same-origin" } });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe(`/fixloop?retried=${failedJobId}`);
    const [job] = await server.store.db.select().from(jobs).where(eq(jobs.id, failedJobId));
    expect(job).toMatchObject({ status: "queued", attempts: 0, lastError: null });
    const page = await (await request(`/fixloop?retried=${failedJobId}`, { cookie })).text();
    expect(page).toContain(`Job ${failedJobId} is queued again with fresh attempts.`);
    expect(page).not.toContain(`action="/fixloop/jobs/${failedJobId}/retry"`);
  });

  test("leaves jobs that are not failed or dead alone, and 404s unknown ones", async () => {
    const response = await postForm(`/fixloop/jobs/${doneJobId}/retry`, { csrf }, { cookie });
    expect(response.headers.get("location")).toBe(`/fixloop?retry_refused=${doneJobId}`);
    expect(await statusOf(doneJobId)).toBe("done");
    expect((await postForm("/fixloop/jobs/999999/retry", { csrf }, { cookie })).status).toBe(404);
    expect((await request(`/fixloop/jobs/${deadJobId}/retry`, { cookie })).status).toBe(405);
  });

  test("the flash is built from the id only", async () => {
    const page = await (await request("/fixloop?retried=<script>", { cookie })).text();
    expect(page).not.toContain('class="flash');
  });
});

describe("operator pages", () => {
  let cookie: string;
  let csrf: string;
  let storyId: string;
  const storyRun = "7770001";
  const failedDelivery = "0b7d2c10-failed-delivery";
  const get = async (path: string) => {
    const response = await request(path, { cookie });
    return { status: response.status, location: response.headers.get("location"), text: await response.text() };
  };
  beforeAll(async () => {
    const store = server.store;
    storyId = await seedAttempt(store, {
      repo: "acme/story",
      variant: "alpha",
      status: "ci_passed",
      createdAt: hoursAgo(50),
      prNumber: 501,
      runId: storyRun,
      story: true,
      outcomes: { [METRICS.patchApplied]: true, [METRICS.ciPassed]: true, [METRICS.prMerged]: true },
    });
    for (let i = 0; i < 27; i++) await seedAttempt(store, { repo: "acme/paged", variant: "beta", status: "skipped", createdAt: hoursAgo(100 + i), reason: `infra ${i}` });
    await seedJob(store, { kind: "fix", status: "queued", payload: { repo: "acme/story", runId: "1" }, lastError: "waiting: getaddrinfo ENOTFOUND api.github.com", attempts: 0, at: hoursAgo(1) });
    await seedDelivery(store, { id: failedDelivery, event: "pull_request", payload: fixtureJson("pull_request.opened.json"), status: "failed", error: "SQLITE_BUSY: database is locked", attempts: 5, at: hoursAgo(2) });
    await seedDelivery(store, { id: "0b7d2c10-processed", event: "ping", payload: { zen: "hi" }, status: "ignored", note: "no handler for ping", at: hoursAgo(3) });
    ({ cookie } = await login());
    csrf = csrfOf(await (await request("/fixloop", { cookie })).text());
  });

  test("every page answers under the session with the frame's tabs; unknown ids are 404 and POSTs to pages 405", async () => {
    for (const path of ["/fixloop", "/fixloop/attempts", "/fixloop/runs", "/fixloop/prs", "/fixloop/jobs", "/fixloop/deliveries"]) {
      const page = await get(path);
      expect(page.status, path).toBe(200);
      for (const tab of ["Overview", "Attempts", "Runs", "PRs", "Jobs", "Deliveries"]) expect(page.text).toContain(`>${tab}</a>`);
      expect(page.text).toMatch(/aria-current="page"/);
    }
    expect((await get("/fixloop/attempts/no-such-attempt")).status).toBe(404);
    expect((await get("/fixloop/runs/999999")).status).toBe(404);
    expect((await get("/fixloop/prs/999999")).status).toBe(404);
    expect((await get("/fixloop/deliveries/nope")).status).toBe(404);
    expect((await postForm("/fixloop/attempts", { csrf }, { cookie })).status).toBe(405);
  });

  test("attempts filter by repo, status and variant, page by 25 keeping the filters, and ignore values they do not know", async () => {
    const count = (text: string) => text.match(/<tr data-attempt=/g)?.length ?? 0;
    expect(count((await get("/fixloop/attempts?repo=acme%2Fapi")).text)).toBe(1);
    expect(count((await get("/fixloop/attempts?status=failed&variant=alpha")).text)).toBe(2);
    const first = await get("/fixloop/attempts?repo=acme%2Fpaged");
    expect(count(first.text)).toBe(25);
    expect(first.text).toContain("1–25 of 27");
    expect(first.text).toContain('href="/fixloop/attempts?repo=acme%2Fpaged&amp;page=2"');
    const second = await get("/fixloop/attempts?repo=acme%2Fpaged&page=2");
    expect(count(second.text)).toBe(2);
    expect(second.text).toContain("26–27 of 27");
    // The selected filter is kept in the form.
    expect(second.text).toContain('<option value="acme/paged" selected>');
    const evil = await get(`/fixloop/attempts?repo=${encodeURIComponent("<script>x</script>")}&status=bogus`);
    expect(evil.status).toBe(200);
    expect(evil.text).not.toContain("<script>x");
    expect(count(evil.text)).toBe(25);
  });

  test("an attempt's page tells its story: trigger run, context, diff, PR, CI verdicts, feedback and attribution, linked here and to GitHub", async () => {
    const page = await get(`/fixloop/attempts/${storyId}`);
    expect(page.status).toBe(200);
    const text = page.text;
    expect(text).toContain(`href="/fixloop/run?provider=github-actions&amp;run=${storyRun}&amp;repo=acme%2Fstory"`);
    expect(text).toContain(`href="https://github.com/acme/story/actions/runs/${storyRun}"`);
    expect(text).toContain("AssertionError: expected [ &#39;&#39; ] to deeply equal []");
    expect(text).toContain('<span class="add">+  if (input.trim() === &quot;&quot;) return [];</span>');
    expect(text).toContain('href="/fixloop/pr?repo=acme%2Fstory&amp;number=501"');
    expect(text).toContain('href="https://github.com/acme/story/pull/501"');
    expect(text).toMatch(/<table class="data stack" id="verdicts">[\s\S]*?success[\s\S]*?<\/table>/);
    expect(text).toMatch(/<tr data-feedback="\d+">[\s\S]*?fixloop_pr_merged/);
    expect(text).toMatch(/id="links">[\s\S]*?authored[\s\S]*?1\.00/);
  });

  test("a run and a PR named by their GitHub ids open their pages here, or GitHub when fixloop never saw them; both list the attempt", async () => {
    const run = await get(`/fixloop/run?provider=github-actions&run=${storyRun}&repo=acme%2Fstory`);
    expect(run.status).toBe(303);
    expect(run.location).toMatch(/^\/fixloop\/runs\/\d+$/);
    const runPage = await get(run.location!);
    expect(runPage.text).toContain(`data-attempt="${storyId}"`);
    expect(runPage.text).toContain(`https://github.com/acme/story/actions/runs/${storyRun}`);
    const unknown = await get("/fixloop/run?provider=github-actions&run=123&repo=acme%2Fstory");
    expect(unknown.location).toBe("https://github.com/acme/story/actions/runs/123");
    const pr = await get("/fixloop/pr?repo=acme%2Fstory&number=501");
    expect(pr.location).toMatch(/^\/fixloop\/prs\/\d+$/);
    const prPage = await get(pr.location!);
    expect(prPage.text).toContain(`data-attempt="${storyId}"`);
    expect(prPage.text).toMatch(/id="runs">[\s\S]*?success/);
    expect((await get("/fixloop/pr?repo=acme%2Fstory&number=9")).location).toBe("https://github.com/acme/story/pull/9");
    expect((await get(`/fixloop/pr?repo=${encodeURIComponent("evil/<x>")}&number=9`)).status).toBe(404);
  });

  test("jobs: waiting ones show their reason and can be run now; a retry from the jobs page lands back there", async () => {
    const waiting = await get("/fixloop/jobs?status=waiting");
    expect(waiting.text).toContain("getaddrinfo ENOTFOUND api.github.com");
    expect(waiting.text).toContain(">Run now</button>");
    const id = /data-job="(\d+)"/.exec(waiting.text)![1];
    const response = await postForm(`/fixloop/jobs/${id}/retry`, { csrf, back: "jobs" }, { cookie });
    expect(response.headers.get("location")).toBe(`/fixloop/jobs?retried=${id}`);
    const [job] = await server.store.db.select().from(jobs).where(eq(jobs.id, Number(id)));
    expect(job).toMatchObject({ status: "queued", lastError: null });
  });

  test("deliveries: a failed one is listed with its error and replayed through the inbox; a second replay changes nothing", async () => {
    const list = await get("/fixloop/deliveries?status=failed");
    expect(list.text).toContain("SQLITE_BUSY: database is locked");
    expect(list.text).toContain(`action="/fixloop/deliveries/${failedDelivery}/replay"`);
    expect(list.text).not.toContain('data-delivery="0b7d2c10-processed"');
    expect((await postForm(`/fixloop/deliveries/${failedDelivery}/replay`, {}, { cookie })).status).toBe(403);
    const replay = await postForm(`/fixloop/deliveries/${failedDelivery}/replay`, { csrf }, { cookie });
    expect(replay.status).toBe(303);
    expect(replay.headers.get("location")).toBe(`/fixloop/deliveries/${failedDelivery}?replayed=processed`);
    const [row] = await server.store.db.select().from(deliveries).where(eq(deliveries.id, failedDelivery));
    expect(row).toMatchObject({ status: "processed", error: null });
    const page = await get(replay.headers.get("location")!);
    expect(page.text).toContain("Replayed: the delivery was processed.");
    expect(page.text).not.toContain(`/replay"`);
    const again = await postForm(`/fixloop/deliveries/${failedDelivery}/replay`, { csrf }, { cookie });
    expect(again.headers.get("location")).toBe(`/fixloop/deliveries/${failedDelivery}?replayed=duplicate`);
    expect((await postForm("/fixloop/deliveries/unknown-id/replay", { csrf }, { cookie })).status).toBe(404);
  });

  test("empty tiles say what would fill them", async () => {
    const empty = await startTestServer();
    try {
      const emptyCookie = await sessionOn(empty.url);
      const page = await (await fetch(`${empty.url}/fixloop`, { headers: { cookie: emptyCookie } })).text();
      expect(page).toContain("None yet: one starts when CI goes red");
      expect(page).toContain("Measured when the repository&#39;s CI finishes on a fix branch.");
      expect(page).toContain("No fix attempts yet, so no variant has a record.");
    } finally {
      await empty.close();
    }
  });

  test("the overview shows a banner for each service /readyz finds failing or missing", async () => {
    const readiness: ReadinessCheck = {
      report: async () => ({
        ok: false,
        checkedAt: new Date().toISOString(),
        checks: {
          database: { state: "ok", detail: "SELECT 1 answered", ms: 1 },
          tensorzero: { state: "not configured", detail: "", ms: 0 },
          github: { state: "failing", detail: "GET https://api.github.com/zen: getaddrinfo ENOTFOUND api.github.com", ms: 3 },
        },
      }),
    };
    const banner = await startTestServer({ readiness });
    try {
      const bannerCookie = await sessionOn(banner.url);
      for (const path of ["/fixloop", "/fixloop/jobs"]) {
        const page = await (await fetch(`${banner.url}${path}`, { headers: { cookie: bannerCookie } })).text();
        expect(page).toMatch(/<div class="banner banner-bad" role="alert" data-banner="bad">\s*<strong>GitHub cannot be reached: fix jobs wait until it can<\/strong><div class="detail">GET https:\/\/api\.github\.com\/zen: getaddrinfo ENOTFOUND api\.github\.com<\/div>/);
        expect(page).toContain("No TensorZero gateway configured (TENSORZERO_URL): fix jobs wait");
      }
    } finally {
      await banner.close();
    }
  });
});

describe("sessions", () => {
  const start = new Date("2024-05-01T10:00:00Z");
  test("expire, resist tampering, end on revoke, and die with the process salt", () => {
    const signer = createSessionSigner("token", { ttlMs: HOUR });
    const { session, value } = signer.issue(start);
    expect(signer.verify(value, new Date(start.getTime() + HOUR - 1))).toEqual(session);
    expect(signer.verify(value, new Date(start.getTime() + HOUR))).toBeNull();
    expect(signer.verify(undefined, start)).toBeNull();
    expect(createSessionSigner("token", { ttlMs: HOUR }).verify(value, start)).toBeNull();
    expect(signer.csrfMatches(session, signer.csrfToken(session))).toBe(true);
    expect(signer.csrfMatches(session, `${signer.csrfToken(session)}=`)).toBe(false);
    expect(signer.csrfMatches(session, null)).toBe(false);
    signer.revoke(session, start);
    expect(signer.verify(value, start)).toBeNull();
  });
});

describe("stats", () => {
  let store: TempStore;
  beforeAll(async () => {
    store = await createTempStore();
  });
  afterAll(() => store.dispose());

  test("the daily series counts attempts and true outcomes per UTC day, zeros between, nothing outside the window", async () => {
    const now = new Date("2024-05-31T12:00:00Z");
    const a = await seedAttempt(store, { repo: "acme/x", variant: "v", status: "ci_passed", createdAt: new Date("2024-05-30T09:00:00Z") });
    await seedFeedback(store, { attemptId: a, metric: METRICS.ciPassed, value: true, at: new Date("2024-05-31T01:00:00Z") });
    await seedFeedback(store, { attemptId: a, metric: METRICS.prMerged, value: true, at: new Date("2024-05-31T02:00:00Z") });
    const b = await seedAttempt(store, { repo: "acme/x", variant: "v", status: "ci_failed", createdAt: new Date("2024-05-30T23:59:00Z") });
    await seedFeedback(store, { attemptId: b, metric: METRICS.ciPassed, value: false, at: new Date("2024-05-31T03:00:00Z") });
    await seedAttempt(store, { repo: "acme/x", variant: "v", status: "skipped", createdAt: new Date("2024-05-01T23:00:00Z") });
    await seedAttempt(store, { repo: "acme/x", variant: "v", status: "skipped", createdAt: new Date("2024-05-02T00:00:00Z") });

    const series = await dailyOutcomes(store.db, { days: 30, now });
    expect(series).toHaveLength(30);
    expect(series[0].day).toBe("2024-05-02");
    expect(series[29]).toEqual({ day: "2024-05-31", opened: 0, ciPassed: 1, merged: 1 });
    expect(series[28]).toEqual({ day: "2024-05-30", opened: 2, ciPassed: 0, merged: 0 });
    expect(series[0]).toEqual({ day: "2024-05-02", opened: 1, ciPassed: 0, merged: 0 });
    expect(series.reduce((sum, p) => sum + p.opened, 0)).toBe(3);

    // Older than the window: a merged fix of another variant, later reverted.
    const c = await seedAttempt(store, { repo: "acme/x", variant: "w", status: "ci_passed", createdAt: new Date("2024-04-01T09:00:00Z"), prNumber: 9 });
    await seedFeedback(store, { attemptId: c, metric: METRICS.prMerged, value: true, at: new Date("2024-04-02T09:00:00Z") });
    await seedFeedback(store, { attemptId: c, metric: METRICS.prReverted, value: true, at: new Date("2024-04-03T09:00:00Z") });
    expect(await dailyOutcomes(store.db, { days: 30, now })).toEqual(series);

    const stats = await variantStats(store.db);
    expect(stats.map((s) => s.variant)).toEqual(["v", "w"]);
    const [v, w] = stats;
    expect(v.outcomes[METRICS.ciPassed]).toEqual({ hits: 1, total: 2 });
    expect(v.outcomes[METRICS.prReverted]).toEqual({ hits: 0, total: 1 });
    expect(w.outcomes[METRICS.prReverted]).toEqual({ hits: 1, total: 1 });
    expect(w.outcomes[METRICS.prMerged]).toEqual({ hits: 1, total: 1 });
    expect(v.byStatus).toEqual({ ci_passed: 1, ci_failed: 1, skipped: 2 });
    expect(w.withPr).toBe(1);
    const since = await variantStats(store.db, { since: "2024-05-30T00:00:00Z" });
    expect(since.map((s) => [s.variant, s.attempts])).toEqual([["v", 2]]);
    expect((await recentAttempts(store.db, { limit: 2 })).map((r) => r.createdAt)).toEqual(["2024-05-30T23:59:00.000Z", "2024-05-30T09:00:00.000Z"]);
  });
});

describe("rendering helpers", () => {
  test("html escapes interpolations but not nested markup", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    expect(html`<p>${"<i>"}${html`<b>${"&"}</b>`}${null}${["<", html`<br>`]}</p>`.text).toBe("<p>&lt;i&gt;<b>&amp;</b>&lt;<br></p>");
  });

  test("rates read as counts with a share, or a dash", () => {
    expect(formatRate({ hits: 7, total: 9 })).toBe("7/9 · 78%");
    expect(formatRate({ hits: 0, total: 0 })).toBe("–");
  });

  test("the y axis uses round steps and the chart draws a bar per non-zero value", () => {
    expect(niceScale(0)).toEqual({ step: 1, top: 1 });
    expect(niceScale(3)).toEqual({ step: 1, top: 3 });
    expect(niceScale(7)).toEqual({ step: 2, top: 8 });
    expect(niceScale(23)).toEqual({ step: 5, top: 25 });
    expect(niceScale(140)).toEqual({ step: 50, top: 150 });
    const svg = renderChart([
      { day: "2024-05-01", opened: 4, ciPassed: 2, merged: 0 },
      { day: "2024-05-02", opened: 0, ciPassed: 0, merged: 1 },
    ]).text;
    expect(svg.match(/<rect class="bar /g)).toHaveLength(3);
    expect(svg).toContain("<title>May 1: 4 attempts opened</title>");
    expect(svg).toContain("May 1 to May 2: 4 attempts opened, 2 ci passed, 1 merged.");
  });
});
