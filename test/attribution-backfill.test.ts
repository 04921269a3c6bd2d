import { join } from "node:path";
import { asc, eq } from "drizzle-orm";
import nock from "nock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { runAttributeBackfill } from "../src/cli/attribute.js";
import { createRepoOctokit } from "../src/github/auth.js";
import { backfillAttribution, cursorKey, readAttributionCursor } from "../src/outcomes/attribution-backfill.js";
import { openStore } from "../src/store/db.js";
import { commitLinks, fixAttempts, httpCache, prOutcomes } from "../src/store/schema.js";
import { createTempStore, type TempStore } from "./helpers.js";

const API = "https://api.github.com";
const TOKEN = "test-token-attribution";
const REPO = "acme/widgets";
const SINCE = "2024-06-01T00:00:00.000Z";
const NOW = new Date("2024-06-02T00:00:00Z");
const ATTEMPT = "attempt-backfill-1";

const SHA = {
  fix: "f".repeat(40),
  c1: "c1".repeat(20),
  c2: "c2".repeat(20),
  c3: "c3".repeat(20),
  c4: "c4".repeat(20),
};

/** A commit as GET /repos/{owner}/{repo}/commits lists it. */
function listed(sha: string, date: string, message: string, author = { login: "jane", email: "jane@example.com" }) {
  return {
    sha,
    commit: { message, author: { name: author.login, email: author.email, date }, committer: { name: "GitHub", email: "noreply@github.com", date } },
    author: { login: author.login },
    parents: [{ sha: "0".repeat(40) }],
  };
}

const C1 = listed(SHA.c1, "2024-06-01T09:00:00Z", "Add a cache\n\nCo-Authored-By: Claude <noreply@anthropic.com>");
const C2 = listed(SHA.c2, "2024-06-01T10:10:00Z", "Tidy the fixed parser");
const C3 = listed(SHA.c3, "2024-06-01T10:20:00Z", "fixloop: fix CI on main (#57)");
const C4 = listed(SHA.c4, "2024-06-01T11:00:00Z", "Unrelated change");

const detail = (sha: string, files: string[]) => ({ sha, files: files.map((filename) => ({ filename, status: "modified" })) });

async function seed(store: TempStore) {
  await store.db.insert(fixAttempts).values({
    id: ATTEMPT,
    repoSlug: REPO,
    chainId: "chain-1",
    triggerProvider: "github-actions",
    triggerRunId: "9001",
    headSha: "0".repeat(40),
    status: "ci_passed",
    variant: "gpt_4o_mini",
    fixBranch: "fixloop/run-9001",
    fixCommitSha: SHA.fix,
    prNumber: 57,
    changedFiles: ["src/app.ts"],
    createdAt: "2024-06-01T10:00:00.000Z",
    updatedAt: "2024-06-01T10:30:00.000Z",
  });
  await store.db.insert(prOutcomes).values({
    provider: "github",
    repoSlug: REPO,
    prNumber: 57,
    state: "merged",
    headRef: "fixloop/run-9001",
    headSha: SHA.fix,
    baseRef: "main",
    mergeCommitSha: SHA.c3,
    updatedAt: "2024-06-01T10:20:00.000Z",
    rawJson: {},
    recordedAt: "2024-06-01T10:20:00.000Z",
  });
}

async function tokenOctokit() {
  const log = { debug() {}, info() {}, warn() {}, error() {} };
  return (await createRepoOctokit({ credentials: { kind: "token", token: TOKEN }, repo: REPO, log, octokitOptions: { retry: { enabled: false } } })).octokit;
}

const unmatched: string[] = [];
const onNoMatch = (req: { method?: string; path?: string }) => unmatched.push(`${req.method} ${req.path}`);

let store: TempStore;
beforeEach(async () => {
  store = await createTempStore();
  await seed(store);
  unmatched.length = 0;
  nock.emitter.on("no match", onNoMatch);
});
afterEach(() => {
  nock.emitter.removeListener("no match", onNoMatch);
  store.dispose();
});

async function links() {
  return (await store.db.select().from(commitLinks).orderBy(asc(commitLinks.commitSha), asc(commitLinks.sessionId))).map((l) => [
    l.commitSha.slice(0, 2),
    l.sessionId,
    l.linkType,
    l.confidence,
  ]);
}

describe("attribute backfill", () => {
  test("first run: lists since --since, fetches files only where a fix is recent, links; second run asks only for newer commits", async () => {
    const first = nock(API, { reqheaders: { authorization: `token ${TOKEN}` } })
      .get("/repos/acme/widgets")
      .reply(200, { full_name: "acme/widgets", default_branch: "main" }, { etag: 'W/"repo-1"' })
      .get("/repos/acme/widgets/commits")
      .query({ since: "2024-06-01T00:00:00Z", per_page: "100" })
      .reply(200, [C3, C2, C1], { etag: 'W/"commits-1"' })
      // C1 predates the fix: its files are never asked for.
      .get(`/repos/acme/widgets/commits/${SHA.c2}`)
      .reply(200, detail(SHA.c2, ["src/app.ts"]))
      .get(`/repos/acme/widgets/commits/${SHA.c3}`)
      .reply(200, detail(SHA.c3, ["src/app.ts"]));

    const progress: string[] = [];
    const summary = await backfillAttribution({
      store,
      octokitFor: () => tokenOctokit(),
      repos: [REPO],
      since: SINCE,
      now: NOW,
      batchSize: 2,
      onProgress: (p) => progress.push(`${p.phase} ${p.done}/${p.total}`),
    });
    expect(unmatched).toEqual([]);
    expect(first.isDone()).toBe(true);
    expect(summary.repos).toEqual([
      expect.objectContaining({
        repo: REPO,
        listedSince: SINCE,
        resumedFromCursor: false,
        commitsListed: 3,
        commitsAttributed: 3,
        filesFetched: 2,
        linksWritten: 3,
        authoredRecorded: 1,
        prsUpdated: 1,
        error: null,
      }),
    ]);
    expect(summary.requests).toBe(4);
    expect(progress).toContain("commits 3/3");
    expect(await links()).toEqual([
      ["c1", "agent:claude", "co-authored", 0.9],
      ["c2", ATTEMPT, "inferred-by-touch", 0.9],
      ["c3", ATTEMPT, "authored", 0.9],
      ["ff", ATTEMPT, "authored", 1],
    ]);
    const [pr] = await store.db.select().from(prOutcomes).where(eq(prOutcomes.prNumber, 57));
    expect(pr.linkedSessionIds).toEqual([ATTEMPT]);
    const cursor = await readAttributionCursor(store.db, REPO);
    expect(cursor).toMatchObject({ committedAt: "2024-06-01T10:20:00.000Z", shas: [SHA.c3] });
    const [cursorRow] = await store.db.select().from(httpCache).where(eq(httpCache.key, cursorKey(REPO)));
    expect(cursorRow).toBeDefined();

    // Second run, through the CLI: the repo answer is a 304 from the cache; commits are listed from the cursor on.
    const second = nock(API, { reqheaders: { authorization: `token ${TOKEN}` } })
      .get("/repos/acme/gone")
      .reply(404, { message: "Not Found" })
      .get("/repos/acme/widgets")
      .matchHeader("if-none-match", 'W/"repo-1"')
      .reply(304, "", { etag: 'W/"repo-1"' })
      .get("/repos/acme/widgets/commits")
      .query({ since: "2024-06-01T10:20:00Z", per_page: "100" })
      .reply(200, [C4, C3])
      .get(`/repos/acme/widgets/commits/${SHA.c4}`)
      .reply(200, detail(SHA.c4, ["src/other.ts"]));
    let out = "";
    let err = "";
    const report = await runAttributeBackfill(
      { repo: ["acme/gone", REPO], since: "30d", json: true },
      {
        stdout: { write: (chunk: string) => (out += chunk) },
        stderr: { write: (chunk: string) => (err += chunk) },
        openStore: () => openStore({ url: `file:${join(store.dir, "fixloop.db")}` }),
        env: { GITHUB_TOKEN: TOKEN },
        octokitOptions: { retry: { enabled: false } },
        now: NOW,
      },
    );
    expect(unmatched).toEqual([]);
    expect(second.isDone()).toBe(true);
    expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(report)));
    // One repository failing does not stop the others.
    expect(report.repos[0]).toMatchObject({ repo: "acme/gone", error: expect.stringMatching(/Not Found/) });
    expect(err).toMatch(/acme\/gone stopped/);
    expect(report.repos[1]).toMatchObject({
      repo: REPO,
      listedSince: "2024-06-01T10:20:00.000Z",
      resumedFromCursor: true,
      commitsListed: 2,
      commitsAttributed: 1,
      filesFetched: 1,
      linksWritten: 0,
      authoredRecorded: 0,
      prsUpdated: 0,
      error: null,
    });
    expect(report.notModified).toBe(1);
    // Nothing new to link: C4 touched another file.
    expect(await links()).toHaveLength(4);
    expect(await readAttributionCursor(store.db, REPO)).toMatchObject({ committedAt: "2024-06-01T11:00:00.000Z", shas: [SHA.c4] });
  });

  test("an interrupted run resumes after the last commit it attributed", async () => {
    nock(API)
      .get("/repos/acme/widgets")
      .reply(200, { full_name: "acme/widgets", default_branch: "main" })
      .get("/repos/acme/widgets/commits")
      .query({ since: "2024-06-01T00:00:00Z", per_page: "100" })
      .reply(200, [C3, C2, C1])
      .get(`/repos/acme/widgets/commits/${SHA.c2}`)
      .reply(200, detail(SHA.c2, ["src/app.ts"]))
      .get(`/repos/acme/widgets/commits/${SHA.c3}`)
      .reply(502, { message: "Server Error" });
    const broken = await backfillAttribution({ store, octokitFor: () => tokenOctokit(), repos: [REPO], since: SINCE, now: NOW, batchSize: 1 });
    expect(broken.repos[0]).toMatchObject({ commitsAttributed: 2, error: expect.stringMatching(/Server Error/) });
    expect(await readAttributionCursor(store.db, REPO)).toMatchObject({ committedAt: "2024-06-01T10:10:00.000Z", shas: [SHA.c2] });

    const resumed = nock(API)
      .get("/repos/acme/widgets")
      .reply(200, { full_name: "acme/widgets", default_branch: "main" })
      .get("/repos/acme/widgets/commits")
      .query({ since: "2024-06-01T10:10:00Z", per_page: "100" })
      .reply(200, [C3, C2])
      .get(`/repos/acme/widgets/commits/${SHA.c3}`)
      .reply(200, detail(SHA.c3, ["src/app.ts"]));
    const done = await backfillAttribution({ store, octokitFor: () => tokenOctokit(), repos: [REPO], since: SINCE, now: NOW, batchSize: 1 });
    expect(unmatched).toEqual([]);
    expect(resumed.isDone()).toBe(true);
    expect(done.repos[0]).toMatchObject({ resumedFromCursor: true, commitsListed: 2, commitsAttributed: 1, error: null });
    expect(await links()).toEqual([
      ["c1", "agent:claude", "co-authored", 0.9],
      ["c2", ATTEMPT, "inferred-by-touch", 0.9],
      ["c3", ATTEMPT, "authored", 0.9],
      ["ff", ATTEMPT, "authored", 1],
    ]);
  });
});
