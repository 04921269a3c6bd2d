import { readFileSync } from "node:fs";
import { join } from "node:path";
import { asc } from "drizzle-orm";
import nock from "nock";
import { ProbotOctokit } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backfillRepository, type BackfillProgress } from "../src/backfill/backfill.js";
import { runBackfillCommand } from "../src/cli/backfill.js";
import { createRepoOctokit, type GitHubLog } from "../src/github/auth.js";
import { CACHE_HIT_HEADER, installConditionalRequestCache } from "../src/github/conditional-cache.js";
import { countCachedResponses } from "../src/store/http-cache.js";
import { ciRuns, httpCache, prOutcomes } from "../src/store/schema.js";
import { createTempStore, fixture, testPrivateKey, type TempStore } from "./helpers.js";

const API = "https://api.github.com";
const REPO_ID = 640012345;
const TOKEN = "test-token-0123";
const NOW = new Date("2024-06-01T00:00:00Z");
const SINCE = "2024-05-25T00:00:00.000Z";

const SHA = {
  A: "a1f3c5e7b9d2f4a6c8e0b1d3f5a7c9e2b4d6f8a0",
  B: "b2e4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a3c5e7b9",
  C: "c3d5f7a9b1e2c4d6f8a0b2c3e5d7f9a1b3c5d7e9",
  D: "d4c6e8f0a2b3d5f7a9c1e2f4b6d8f0a1c3e5f7b2",
  E: "e5b7d9f1a3c4e6b8d0f2a3c5e7f9b1d2f4a6c8e1",
  F: "f6a8c0e2b4d5f7a9c1e3b4d6f8a0c2e3b5d7f9a2",
  G: "07b9d1f3a5c6e8b0d2f4a5c7e9b1d3f4a6c8e0b3",
};
/** The order the backfill first meets the commits: PR heads, merge commits, then run SHAs already seen. */
const COMMITS_IN_ORDER = [SHA.A, SHA.B, SHA.C, SHA.D, SHA.E, SHA.F, SHA.G];

const rateHeaders = (remaining: number) => ({
  "x-ratelimit-limit": "5000",
  "x-ratelimit-remaining": String(remaining),
  "x-ratelimit-reset": "1717203600",
  "x-ratelimit-used": String(5000 - remaining),
  "x-ratelimit-resource": "core",
});

interface Page {
  path: string;
  query: Record<string, string>;
  body: unknown;
  etag: string;
  link?: string;
}

/** What a full run of the 11 pages leaves of the budget (the mocks count down from 4990). */
const REMAINING_AFTER_FIRST_RUN = 4980;

const PULLS_QUERY = { state: "all", sort: "updated", direction: "desc", per_page: "100" };
const pullsUrl = (page: number) =>
  `${API}/repositories/${REPO_ID}/pulls?state=all&sort=updated&direction=desc&per_page=100&page=${page}`;
const runsUrl = (page: number) => `${API}/repositories/${REPO_ID}/actions/runs?created=%3E%3D2024-05-25&per_page=100&page=${page}`;

/** Every GET a full backfill of acme/widgets since 2024-05-25 makes, in order, as GitHub answers them. */
function repositoryPages(): Page[] {
  const suitesByCommit = fixture<Record<string, unknown>>("api/check-suites.by-commit.json");
  return [
    {
      path: "/repos/acme/widgets/pulls",
      query: PULLS_QUERY,
      body: fixture("api/pulls.page1.json"),
      etag: 'W/"pulls-1-8c3f"',
      link: `<${pullsUrl(2)}>; rel="next", <${pullsUrl(3)}>; rel="last"`,
    },
    {
      path: `/repositories/${REPO_ID}/pulls`,
      query: { ...PULLS_QUERY, page: "2" },
      body: fixture("api/pulls.page2.json"),
      etag: 'W/"pulls-2-41aa"',
      // Page 3 exists; the backfill must not ask for it (its PRs are older than --since). It is not mocked.
      link: `<${pullsUrl(1)}>; rel="prev", <${pullsUrl(3)}>; rel="next", <${pullsUrl(3)}>; rel="last", <${pullsUrl(1)}>; rel="first"`,
    },
    {
      path: "/repos/acme/widgets/actions/runs",
      query: { created: ">=2024-05-25", per_page: "100" },
      body: fixture("api/actions-runs.page1.json"),
      etag: 'W/"runs-1-77d0"',
      link: `<${runsUrl(2)}>; rel="next", <${runsUrl(2)}>; rel="last"`,
    },
    {
      path: `/repositories/${REPO_ID}/actions/runs`,
      query: { created: ">=2024-05-25", per_page: "100", page: "2" },
      body: fixture("api/actions-runs.page2.json"),
      etag: 'W/"runs-2-02be"',
      link: `<${runsUrl(1)}>; rel="prev", <${runsUrl(1)}>; rel="first"`,
    },
    ...COMMITS_IN_ORDER.map((sha) => ({
      path: `/repos/acme/widgets/commits/${sha}/check-suites`,
      query: { per_page: "100" },
      body: suitesByCommit[sha],
      etag: `W/"suites-${sha.slice(0, 7)}"`,
    })),
  ];
}

interface Mocked {
  scope: nock.Scope;
  requested: string[];
}

const documentedHeaders = {
  authorization: `token ${TOKEN}`,
  accept: "application/vnd.github.v3+json",
  "user-agent": (value: string) => value.startsWith("fixloop "),
};

/**
 * "fresh": GitHub answers 200 with an ETag, and no request may carry If-None-Match.
 * "conditional": every request must carry the stored ETag; GitHub answers 304.
 * "no-etag": 200 without validators (some proxies strip them).
 */
function mockPages(pages: Page[], mode: "fresh" | "conditional" | "no-etag"): Mocked {
  const requested: string[] = [];
  const scope = nock(API, {
    reqheaders: documentedHeaders,
    ...(mode === "conditional" ? {} : { badheaders: ["if-none-match", "if-modified-since"] }),
  });
  let remaining = 4990;
  for (const page of pages) {
    const interceptor = scope.get(page.path).query(page.query);
    const headers = { ...rateHeaders(remaining--), ...(page.link ? { link: page.link } : {}) };
    if (mode === "conditional") {
      // A 304 carries the ETag again but no body and no Link: the cache has to supply them. It costs no rate limit.
      interceptor.matchHeader("if-none-match", page.etag).reply(304, "", { ...rateHeaders(REMAINING_AFTER_FIRST_RUN), etag: page.etag });
    } else if (mode === "fresh") {
      interceptor.reply(200, page.body as nock.Body, { ...headers, etag: page.etag });
    } else {
      interceptor.reply(200, page.body as nock.Body, headers);
    }
  }
  scope.on("request", (req: { path: string }) => requested.push(req.path));
  return { scope, requested };
}

function recordingLog(): GitHubLog & { lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  return { lines, debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") };
}

async function tokenOctokit(log: GitHubLog = recordingLog(), octokitOptions: Record<string, unknown> = {}) {
  const { octokit } = await createRepoOctokit({
    credentials: { kind: "token", token: TOKEN },
    repo: "acme/widgets",
    log,
    // Production throttle handlers, with retry-after counted in milliseconds instead of seconds.
    octokitOptions: { throttle: { retryAfterBaseValue: 5 }, retry: { retryAfterBaseValue: 5 }, ...octokitOptions },
  });
  return octokit;
}

async function tableSnapshot(store: TempStore) {
  return {
    prs: await store.db.select().from(prOutcomes).orderBy(asc(prOutcomes.prNumber)),
    runs: await store.db.select().from(ciRuns).orderBy(asc(ciRuns.provider), asc(ciRuns.runId)),
  };
}

const unmatched: string[] = [];
const onNoMatch = (req: { method?: string; path?: string; href?: string }) => unmatched.push(`${req.method} ${req.path ?? req.href}`);

let store: TempStore;
beforeEach(async () => {
  store = await createTempStore();
  unmatched.length = 0;
  nock.emitter.on("no match", onNoMatch);
});
afterEach(() => {
  nock.emitter.removeListener("no match", onNoMatch);
  store.dispose();
});

function expectAllMocksUsed() {
  expect(nock.pendingMocks()).toEqual([]);
  expect(nock.isDone()).toBe(true);
  expect(unmatched).toEqual([]);
}

describe("backfillRepository", () => {
  it("walks PR pages down to --since, runs across pages, and non-Actions check suites of the commits seen", async () => {
    const mocked = mockPages(repositoryPages(), "fresh");
    const progress: BackfillProgress[] = [];
    const summary = await backfillRepository({
      octokit: await tokenOctokit(),
      store,
      repo: "acme/widgets",
      since: SINCE,
      now: NOW,
      onProgress: (p) => progress.push(p),
    });
    expectAllMocksUsed();
    // The page after the cutoff was never asked for.
    expect(mocked.requested.some((path) => path.includes("page=3"))).toBe(false);
    expect(mocked.requested).toHaveLength(11);

    const { prs, runs } = await tableSnapshot(store);
    expect(prs.map((p) => [p.prNumber, p.state])).toEqual([
      [53, "open"],
      [54, "merged"],
      [55, "closed"],
      [56, "merged"],
      [57, "open"],
    ]);
    const pr56 = prs.find((p) => p.prNumber === 56);
    expect(pr56).toMatchObject({ repoSlug: "acme/widgets", headSha: SHA.B, mergeCommitSha: SHA.C, author: "maya-k", baseRef: "main" });
    expect(prs.find((p) => p.prNumber === 54)).toMatchObject({ isFork: true, headRepoSlug: "outside-dev/widgets" });
    expect(prs.find((p) => p.prNumber === 53)).toMatchObject({ draft: true, author: "dependabot[bot]" });
    // An unmerged PR keeps GitHub's test-merge SHA out of merge_commit_sha.
    expect(prs.find((p) => p.prNumber === 55)?.mergeCommitSha).toBeNull();

    const actions = runs.filter((r) => r.provider === "github-actions");
    expect(actions.map((r) => [r.runId, r.status, r.runAttempt])).toEqual([
      ["9310000001", "failure", 1],
      ["9310000002", "success", 1],
      ["9310000003", "success", 2],
      ["9310000004", "failure", 1],
      ["9310000005", "in_progress", 1],
    ]);
    // The fork PR's run carries no pull_requests; it is linked to #54 by head SHA.
    expect(actions.find((r) => r.runId === "9310000001")?.prNumbers).toEqual([54]);

    const checks = runs.filter((r) => r.provider === "github-checks");
    expect(checks.map((r) => [r.runId, r.appSlug, r.commitSha, r.status])).toEqual([
      ["24000000102", "circleci-checks", SHA.A, "in_progress"],
      ["24000000202", "circleci-checks", SHA.B, "success"],
      ["24000000301", "circleci-checks", SHA.C, "failure"],
      ["24000000601", "circleci-checks", SHA.F, "success"],
    ]);
    expect(runs.some((r) => r.provider === "github-checks" && r.appSlug === "github-actions")).toBe(false);

    expect(summary).toMatchObject({
      repo: "acme/widgets",
      since: SINCE,
      pullRequests: { seen: 5, written: 5, unchanged: 0, stale: 0, malformed: 0 },
      workflowRuns: { seen: 5, written: 5, unchanged: 0, truncatedQueries: [] },
      checkSuites: { seen: 4, written: 4, commits: 7, actionsSkipped: 4, missingCommits: 0, skippedReason: null },
      requests: 11,
      notModified: 0,
      rateLimit: { limit: 5000, remaining: REMAINING_AFTER_FIRST_RUN, resource: "core", resetAt: "2024-06-01T01:00:00.000Z" },
    });
    expect(await countCachedResponses(store.db)).toBe(11);
    const finished = progress.filter((p) => p.finished).map((p) => [p.phase, p.done]);
    expect(finished).toEqual([
      ["pulls", 5],
      ["workflow-runs", 5],
      ["check-suites", 7],
    ]);
  });

  it("re-runs with If-None-Match: every page is a 304, rows are untouched, nothing is duplicated", async () => {
    mockPages(repositoryPages(), "fresh");
    const octokit = await tokenOctokit();
    await backfillRepository({ octokit, store, repo: "acme/widgets", since: SINCE, now: NOW });
    expectAllMocksUsed();
    const before = await tableSnapshot(store);

    const mocked = mockPages(repositoryPages(), "conditional");
    // A fresh client (a new CLI run): the ETags come from the store, not from memory.
    const summary = await backfillRepository({ octokit: await tokenOctokit(), store, repo: "acme/widgets", since: SINCE, now: NOW });
    expectAllMocksUsed();
    expect(mocked.requested).toHaveLength(11);
    expect(summary).toMatchObject({
      pullRequests: { seen: 5, written: 0, unchanged: 5 },
      workflowRuns: { seen: 5, written: 0, unchanged: 5 },
      checkSuites: { seen: 4, written: 0, unchanged: 4, actionsSkipped: 4, commits: 7 },
      requests: 11,
      notModified: 11,
    });
    expect(summary.rateLimit?.remaining).toBe(REMAINING_AFTER_FIRST_RUN);
    expect(await tableSnapshot(store)).toEqual(before);
    expect(before.prs).toHaveLength(5);
    expect(before.runs).toHaveLength(9);
  });

  it("is idempotent without validators too, and moves a row forward when GitHub has news", async () => {
    mockPages(repositoryPages(), "no-etag");
    await backfillRepository({ octokit: await tokenOctokit(), store, repo: "acme/widgets", since: SINCE, now: NOW });
    expectAllMocksUsed();
    expect(await countCachedResponses(store.db)).toBe(0);
    const first = await tableSnapshot(store);

    const pages = repositoryPages();
    const prs = pages[0].body as { number: number; state: string; updated_at: string; merged_at: string | null; closed_at: string | null }[];
    // #57 was merged since the first run.
    Object.assign(prs[0], { state: "closed", updated_at: "2024-05-31T18:00:00Z", merged_at: "2024-05-31T18:00:00Z", closed_at: "2024-05-31T18:00:00Z" });
    mockPages(pages, "no-etag");
    const summary = await backfillRepository({ octokit: await tokenOctokit(), store, repo: "acme/widgets", since: SINCE, now: NOW });
    expectAllMocksUsed();
    expect(summary.pullRequests).toMatchObject({ seen: 5, written: 1, unchanged: 4 });
    expect(summary.workflowRuns).toMatchObject({ written: 0, unchanged: 5 });
    expect(summary.checkSuites).toMatchObject({ written: 0, unchanged: 4 });

    const second = await tableSnapshot(store);
    expect(second.prs).toHaveLength(first.prs.length);
    expect(second.runs).toEqual(first.runs);
    expect(second.prs.find((p) => p.prNumber === 57)?.state).toBe("merged");
    expect(second.prs.filter((p) => p.prNumber !== 57)).toEqual(first.prs.filter((p) => p.prNumber !== 57));
  });

  it("waits out a secondary rate limit and retries (production handlers, short waits)", async () => {
    const log = recordingLog();
    const scope = nock(API, { reqheaders: documentedHeaders })
      .get("/repos/acme/widgets/pulls")
      .query(PULLS_QUERY)
      .reply(403, fixture("api/secondary-rate-limit.json"), { "retry-after": "1", ...rateHeaders(4990), "content-type": "application/json" })
      .get("/repos/acme/widgets/pulls")
      .query(PULLS_QUERY)
      .reply(200, fixture("api/pulls.page1.json"), rateHeaders(4989))
      .get("/repos/acme/widgets/actions/runs")
      .query({ created: ">=2024-05-25", per_page: "100" })
      .reply(200, { total_count: 0, workflow_runs: [] }, rateHeaders(4988));
    const summary = await backfillRepository({
      octokit: await tokenOctokit(log),
      store,
      repo: "acme/widgets",
      since: SINCE,
      now: NOW,
      checkSuites: false,
      log,
    });
    expect(scope.isDone()).toBe(true);
    expectAllMocksUsed();
    expect(log.lines).toContain(`warn: Secondary rate limit on GET ${API}/repos/acme/widgets/pulls?state=all&sort=updated&direction=desc&per_page=100: retrying in 1s`);
    expect(summary.pullRequests.written).toBe(3);
    // The refused request and its retry both went over the wire.
    expect(summary.requests).toBe(3);
    expect(summary.checkSuites.skippedReason).toBe("not asked for");
  });

  it("gives up after two retries of a secondary rate limit", async () => {
    const log = recordingLog();
    nock(API)
      .get("/repos/acme/widgets/pulls")
      .query(PULLS_QUERY)
      .times(3)
      .reply(403, fixture("api/secondary-rate-limit.json"), { "retry-after": "1", "content-type": "application/json" });
    await expect(
      backfillRepository({ octokit: await tokenOctokit(log), store, repo: "acme/widgets", since: SINCE, now: NOW, log }),
    ).rejects.toMatchObject({ status: 403 });
    expectAllMocksUsed();
    expect(log.lines.filter((l) => l.startsWith("warn: Secondary rate limit"))).toHaveLength(2);
    expect(log.lines.some((l) => l.startsWith("error: Secondary rate limit") && l.includes("after 2 retries"))).toBe(true);
  });

  it("reads a run window over GitHub's 1,000-result cap in smaller date windows", async () => {
    const runs = fixture<{ workflow_runs: unknown[] }>("api/actions-runs.page1.json").workflow_runs;
    const scope = nock(API)
      .get("/repos/acme/widgets/pulls")
      .query(PULLS_QUERY)
      .reply(200, [])
      .get("/repos/acme/widgets/actions/runs")
      .query({ created: ">=2024-05-25", per_page: "100" })
      .reply(200, { total_count: 1500, workflow_runs: runs })
      // Newest half first, open-ended so runs created during the backfill are included.
      .get("/repos/acme/widgets/actions/runs")
      .query({ created: ">=2024-05-29", per_page: "100" })
      .reply(200, { total_count: 2, workflow_runs: runs.slice(0, 2) })
      .get("/repos/acme/widgets/actions/runs")
      .query({ created: "2024-05-25..2024-05-28", per_page: "100" })
      .reply(200, { total_count: 1, workflow_runs: runs.slice(2) });
    const summary = await backfillRepository({
      octokit: await tokenOctokit(),
      store,
      repo: "acme/widgets",
      since: SINCE,
      now: NOW,
      checkSuites: false,
    });
    expect(scope.isDone()).toBe(true);
    expectAllMocksUsed();
    expect(summary.workflowRuns).toMatchObject({ seen: 3, written: 3, truncatedQueries: [] });
  });

  it("records check suites as skipped when GitHub refuses them, and keeps what it read", async () => {
    const pages = repositoryPages().slice(0, 4);
    mockPages(pages, "fresh");
    nock(API)
      .get(`/repos/acme/widgets/commits/${SHA.A}/check-suites`)
      .query({ per_page: "100" })
      .reply(403, { message: "Resource not accessible by integration", documentation_url: "https://docs.github.com/rest/checks/suites#list-check-suites-for-a-git-reference", status: "403" });
    const log = recordingLog();
    const summary = await backfillRepository({ octokit: await tokenOctokit(log), store, repo: "acme/widgets", since: SINCE, now: NOW, log });
    expectAllMocksUsed();
    expect(summary.checkSuites.skippedReason).toMatch(/Resource not accessible by integration/);
    expect(summary.pullRequests.written).toBe(5);
    expect(summary.workflowRuns.written).toBe(5);
    expect(log.lines.some((l) => l.startsWith("warn: GitHub refused check suites"))).toBe(true);
  });

  it("answers a 304 with the stored body and Link header, so pagination continues from the cache", async () => {
    const octokit = new ProbotOctokit({ auth: { token: TOKEN }, userAgent: "fixloop", throttle: { enabled: false }, retry: { enabled: false } });
    const params = { owner: "acme", repo: "widgets", state: "all", sort: "updated", direction: "desc", per_page: 100 } as const;
    installConditionalRequestCache(octokit, store.db);
    const [page1, page2] = repositoryPages();
    mockPages([page1, page2], "fresh");
    // Stop after two pages as the backfill does: the third page is never requested.
    const twoPages = async () => {
      const seen: { cache?: string; link?: string; count: number }[] = [];
      for await (const response of octokit.paginate.iterator("GET /repos/{owner}/{repo}/pulls", params)) {
        seen.push({ cache: response.headers[CACHE_HIT_HEADER] as string | undefined, link: response.headers.link, count: response.data.length });
        if (seen.length === 2) break;
      }
      return seen;
    };
    expect(await twoPages()).toEqual([
      { cache: undefined, link: page1.link, count: 3 },
      { cache: undefined, link: page2.link, count: 4 },
    ]);
    expectAllMocksUsed();

    mockPages([page1, page2], "conditional");
    const seen = await twoPages();
    expectAllMocksUsed();
    expect(seen).toEqual([
      { cache: "hit", link: page1.link, count: 3 },
      { cache: "hit", link: page2.link, count: 4 },
    ]);
    const rows = await store.db.select({ key: httpCache.key, etag: httpCache.etag }).from(httpCache).orderBy(asc(httpCache.key));
    expect(rows).toEqual([
      { key: `GET ${API}/repos/acme/widgets/pulls?state=all&sort=updated&direction=desc&per_page=100`, etag: page1.etag },
      { key: `GET ${pullsUrl(2)}`, etag: page2.etag },
    ]);
  });
});

describe("fixloop backfill (command)", () => {
  function capture() {
    let text = "";
    return { write: (chunk: string) => void (text += chunk), isTTY: false, get text() { return text; } };
  }

  it("authenticates as the app's installation on the repository and never stores the token", async () => {
    const installation = fixture<{ id: number; app_id: number }>("api/installation.json");
    const accessToken = fixture<{ token: string }>("api/installation-access-token.json");
    let jwt = "";
    let tokenRequestBody: unknown;
    const appScope = nock(API)
      .get("/repos/acme/widgets/installation")
      .matchHeader("authorization", (value: string) => {
        jwt = value.replace(/^bearer /, "");
        return /^bearer [\w-]+\.[\w-]+\.[\w-]+$/.test(value);
      })
      .reply(200, installation)
      .post(`/app/installations/${installation.id}/access_tokens`, (body: unknown) => {
        tokenRequestBody = body;
        return true;
      })
      .matchHeader("authorization", (value: string) => value.startsWith("bearer "))
      .reply(201, accessToken);
    const repoScope = nock(API, { reqheaders: { authorization: `token ${accessToken.token}` } })
      .get("/repos/acme/widgets/pulls")
      .query(PULLS_QUERY)
      .reply(200, fixture("api/pulls.page1.json"), { etag: 'W/"p1"', ...rateHeaders(4999) })
      .get("/repos/acme/widgets/actions/runs")
      .query({ created: ">=2024-05-25", per_page: "100" })
      .reply(200, fixture("api/actions-runs.page2.json"), { etag: 'W/"r1"', ...rateHeaders(4998) });

    const stdout = capture();
    const stderr = capture();
    const report = await runBackfillCommand(
      { repo: "acme/widgets", since: "7d", checkSuites: false, json: true },
      {
        env: { APP_ID: String(installation.app_id), PRIVATE_KEY: testPrivateKey().replace(/\n/g, "\\n"), GITHUB_TOKEN: "ignored-when-app-credentials-exist" },
        stdout,
        stderr,
        openStore: async () => ({ ...store, close() {} }),
        now: NOW,
      },
    );
    expect(appScope.isDone()).toBe(true);
    expect(repoScope.isDone()).toBe(true);
    expectAllMocksUsed();

    // The app JWT names the app as its issuer, per GitHub's documented claims.
    const claims = JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8")) as { iss: unknown; iat: number; exp: number };
    expect(String(claims.iss)).toBe(String(installation.app_id));
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(600);
    // No repositories or permissions asked for: the token gets the installation's own access.
    expect(tokenRequestBody === undefined || tokenRequestBody === "" || JSON.stringify(tokenRequestBody) === "{}").toBe(true);

    expect(report.identity).toEqual({ kind: "installation", appId: installation.app_id, installationId: installation.id });
    const printed = JSON.parse(stdout.text) as { summary: { pullRequests: { written: number }; workflowRuns: { written: number }; requests: number } };
    expect(printed.summary.pullRequests.written).toBe(3);
    expect(printed.summary.workflowRuns.written).toBe(2);
    // The installation token request counts too: it went over the wire on the backfill's behalf.
    expect(printed.summary.requests).toBe(3);
    expect(stderr.text).toBe("pull requests: 3 read\nworkflow runs: 2 read\n");

    // The token appears nowhere in the database files (cache rows included).
    const files = ["fixloop.db", "fixloop.db-wal"].map((f) => join(store.dir, f));
    for (const file of files) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch {
        continue;
      }
      expect(bytes.includes(accessToken.token)).toBe(false);
    }
    const keys = (await store.db.select({ key: httpCache.key }).from(httpCache)).map((r) => r.key);
    expect(keys.some((k) => k.includes("access_tokens") || k.includes("/installation"))).toBe(false);
  });

  it("uses GITHUB_TOKEN against a GitHub Enterprise base URL and prints a readable summary", async () => {
    const ghe = "https://ghe.example.com";
    const scope = nock(ghe, { reqheaders: { authorization: `token ${TOKEN}` } })
      .get("/api/v3/repos/acme/widgets/pulls")
      .query(PULLS_QUERY)
      .reply(200, fixture("api/pulls.page2.json"), rateHeaders(4100))
      .get("/api/v3/repos/acme/widgets/actions/runs")
      .query({ created: ">=2024-05-25", per_page: "100" })
      .reply(200, { total_count: 0, workflow_runs: [] }, rateHeaders(4099))
      .get(`/api/v3/repos/acme/widgets/commits/${SHA.E}/check-suites`)
      .query({ per_page: "100" })
      .reply(200, fixture<Record<string, unknown>>("api/check-suites.by-commit.json")[SHA.E] as nock.Body, rateHeaders(4098))
      .get(`/api/v3/repos/acme/widgets/commits/${SHA.F}/check-suites`)
      .query({ per_page: "100" })
      .reply(200, fixture<Record<string, unknown>>("api/check-suites.by-commit.json")[SHA.F] as nock.Body, rateHeaders(4097))
      .get(`/api/v3/repos/acme/widgets/commits/${SHA.G}/check-suites`)
      .query({ per_page: "100" })
      .reply(422, { message: "No commit found for SHA: " + SHA.G, documentation_url: "https://docs.github.com/rest/checks/suites#list-check-suites-for-a-git-reference", status: "422" }, rateHeaders(4096));
    const stdout = capture();
    const report = await runBackfillCommand(
      { repo: "acme/widgets", since: "2024-05-25", checkSuites: true },
      {
        env: { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: `${ghe}/api/v3/` },
        stdout,
        stderr: capture(),
        openStore: async () => ({ ...store, close() {} }),
        now: NOW,
      },
    );
    expect(scope.isDone()).toBe(true);
    expectAllMocksUsed();
    expect(report.identity).toEqual({ kind: "token" });
    expect(report.summary.checkSuites).toMatchObject({ commits: 3, missingCommits: 1, seen: 1, written: 1, actionsSkipped: 1 });
    expect(stdout.text).toBe(
      [
        "backfill acme/widgets since 2024-05-25T00:00:00.000Z (token)",
        "  pull requests: 2 read, 2 written, 0 unchanged",
        "  workflow runs: 0 read, 0 written, 0 unchanged",
        "  check suites:  1 read, 1 written, 0 unchanged over 3 commits, 1 Actions suites skipped, 1 commits gone",
        "  requests: 5, 304 not modified: 0, rate limit remaining: 4096/5000",
        "",
      ].join("\n"),
    );
    expect(stdout.text).not.toContain(TOKEN);
  });

  it("says which app is not installed when the installation lookup is a 404", async () => {
    nock(API).get("/repos/acme/widgets/installation").reply(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app", status: "404" });
    await expect(
      runBackfillCommand(
        { repo: "acme/widgets", since: "30d", checkSuites: false },
        { env: { APP_ID: "912345", PRIVATE_KEY: testPrivateKey() }, stdout: capture(), stderr: capture(), openStore: async () => store },
      ),
    ).rejects.toThrow("GitHub App 912345 is not installed on acme/widgets");
    expectAllMocksUsed();
  });
});
