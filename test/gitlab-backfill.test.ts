import nock from "nock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { parseGitlabProject, runGitlabBackfillCommand, type GitlabBackfillIo } from "../src/cli/backfill-gitlab.js";
import { createGitlabClient, GitlabApiError } from "../src/forges/gitlab-api.js";
import { mergeRequestOfRef } from "../src/forges/gitlab-backfill.js";
import { ciRuns, prOutcomes } from "../src/store/schema.js";
import { createTempStore, type TempStore } from "./helpers.js";

const GITLAB = "https://gitlab.example.com";
const PROJECT = "acme/platform/widgets";
const API = `/api/v4/projects/${encodeURIComponent(PROJECT)}`;
const NOW = new Date("2024-06-01T00:00:00Z");
const SINCE = "2024-05-02T00:00:00.000Z";

let store: TempStore;
let out: string;
let err: string;
let waits: number[];

function io(env: NodeJS.ProcessEnv = { GITLAB_TOKEN: "glpat-test", GITLAB_URL: GITLAB }): GitlabBackfillIo {
  return {
    env,
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    openStore: async () => store,
    now: NOW,
    clientOptions: { sleep: async (ms) => void waits.push(ms), now: () => NOW.getTime() },
  };
}

beforeEach(async () => {
  store = await createTempStore();
  // The command closes the store it opened; the test reads it after, through a second handle.
  out = "";
  err = "";
  waits = [];
});
afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  store.dispose();
});

/** GET /projects/:id/merge_requests items, as GitLab's API documents them (the fields fixloop reads, plus a few). */
function mr(iid: number, state: string, extra: Record<string, unknown> = {}) {
  return {
    id: 1000 + iid,
    iid,
    project_id: 42,
    title: `MR ${iid}`,
    state,
    draft: false,
    author: { id: 7, username: "dev", name: "Dev" },
    source_branch: `feature-${iid}`,
    target_branch: "main",
    source_project_id: 42,
    target_project_id: 42,
    sha: `${String(iid).repeat(40)}`.slice(0, 40),
    merge_commit_sha: state === "merged" ? "c".repeat(40) : null,
    squash_commit_sha: null,
    created_at: "2024-05-10T10:00:00.000Z",
    updated_at: "2024-05-11T10:00:00.000Z",
    merged_at: state === "merged" ? "2024-05-11T10:00:00.000Z" : null,
    closed_at: null,
    web_url: `${GITLAB}/${PROJECT}/-/merge_requests/${iid}`,
    ...extra,
  };
}

function pipeline(id: number, status: string, ref = "main") {
  return { id, iid: id - 100, project_id: 42, sha: "a".repeat(40), ref, status, source: "push", created_at: "2024-05-12T08:00:00.000Z", updated_at: "2024-05-12T08:10:00.000Z", web_url: `${GITLAB}/${PROJECT}/-/pipelines/${id}` };
}

describe("fixloop backfill --provider gitlab", () => {
  test("reads merge requests and pipelines page by page into the webhook's rows", async () => {
    const token = (value: string) => value === "glpat-test";
    nock(GITLAB, { reqheaders: { "private-token": token } })
      .get(`${API}/merge_requests`)
      .query({ per_page: "100", updated_after: SINCE, order_by: "updated_at", sort: "desc", state: "all" })
      .reply(200, [mr(3, "merged"), mr(2, "opened")], { "x-total": "3", link: `<${GITLAB}${API}/merge_requests?page=2&per_page=100>; rel="next", <${GITLAB}${API}/merge_requests?page=2&per_page=100>; rel="last"` })
      .get(`${API}/merge_requests`)
      .query({ page: "2", per_page: "100" })
      .reply(200, [mr(1, "closed", { closed_at: "2024-05-11T09:00:00.000Z" })], { "x-total": "3" })
      .get(`${API}/pipelines`)
      .query({ per_page: "100", updated_after: SINCE, order_by: "updated_at", sort: "desc" })
      .reply(200, [pipeline(201, "failed", "refs/merge-requests/2/head"), pipeline(200, "success"), { id: "not-a-pipeline" }]);

    const summary = await runGitlabBackfillCommand({ repo: PROJECT, since: "30d" }, io());
    expect(summary).toMatchObject({
      project: PROJECT,
      since: SINCE,
      mergeRequests: { seen: 3, written: 3, stale: 0, malformed: 0 },
      pipelines: { seen: 3, written: 2, malformed: 1 },
      requests: 3,
    });
    expect(out).toContain(`backfill ${PROJECT} on ${GITLAB}/api/v4 since ${SINCE}`);
    expect(out).toContain("pipelines:      3 read, 2 written, 1 malformed");
    expect(err).toBe("merge requests: 3 read\npipelines: 3 read\n");

    const reader = await createTempStoreReader();
    const prs = await reader.db.select().from(prOutcomes);
    expect(prs.map((p) => [p.provider, p.prNumber, p.state, p.author]).sort()).toEqual([
      ["gitlab", 1, "closed", "dev"],
      ["gitlab", 2, "open", "dev"],
      ["gitlab", 3, "merged", "dev"],
    ]);
    const runs = await reader.db.select().from(ciRuns);
    expect(runs.map((r) => [r.provider, r.runId, r.status, r.prNumbers]).sort()).toEqual([
      ["gitlab-ci", "200", "success", []],
      ["gitlab-ci", "201", "failure", [2]],
    ]);
    reader.close();
  });

  test("honours Retry-After on 429 and pauses until RateLimit-Reset when the budget is spent", async () => {
    const reset = Math.floor(NOW.getTime() / 1000) + 7;
    nock(GITLAB)
      .get(`${API}/merge_requests`)
      .query(true)
      .reply(429, { message: "429 Too Many Requests" }, { "retry-after": "3" })
      .get(`${API}/merge_requests`)
      .query(true)
      .reply(200, [mr(1, "opened")], { "ratelimit-remaining": "0", "ratelimit-reset": String(reset) })
      .get(`${API}/pipelines`)
      .query(true)
      .reply(200, []);
    const summary = await runGitlabBackfillCommand({ repo: PROJECT, since: "30d", json: true }, io());
    expect(waits).toEqual([3000, 7000]);
    expect(summary).toMatchObject({ requests: 3, waitedMs: 10_000, mergeRequests: { written: 1 } });
    expect(JSON.parse(out)).toMatchObject({ project: PROJECT, waitedMs: 10_000 });
  });

  test("a 5xx is retried with backoff; a 404 is said plainly and stops", async () => {
    nock(GITLAB).get(`${API}/merge_requests`).query(true).reply(502, "bad gateway").get(`${API}/merge_requests`).query(true).reply(404, { message: "404 Project Not Found" });
    const failed = runGitlabBackfillCommand({ repo: PROJECT, since: "30d" }, io());
    await expect(failed).rejects.toThrow(/GitLab answered 404 \(no such project, or the token cannot see it\)/);
    expect(waits).toEqual([1000]);
  });

  test("without GITLAB_TOKEN, or with a path that is no project, it says what to do", async () => {
    await expect(runGitlabBackfillCommand({ repo: PROJECT, since: "30d" }, io({}))).rejects.toThrow(/GITLAB_TOKEN is not set/);
    expect(() => parseGitlabProject("widgets")).toThrow(/group\/project/);
    expect(parseGitlabProject("group/sub/project")).toBe("group/sub/project");
    expect(() => createGitlabClient({ token: "" })).toThrow(GitlabApiError);
  });

  test("merge-request pipelines name their MR in the ref", () => {
    expect(mergeRequestOfRef("refs/merge-requests/12/head")).toBe(12);
    expect(mergeRequestOfRef("refs/merge-requests/12/merge")).toBe(12);
    expect(mergeRequestOfRef("main")).toBeNull();
  });
});

async function createTempStoreReader() {
  const { openStore } = await import("../src/store/db.js");
  return openStore({ url: `file:${store.dir}/fixloop.db` });
}
