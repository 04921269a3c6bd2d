/**
 * Stale commits: a newer push to the failing branch (or the PR's head moving)
 * cancels the fix for the older commit, whether its job is still queued or
 * already running. Recorded deliveries from fixtures/, GitHub through nock.
 */
import nock from "nock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { stopWork } from "../src/commands/store.js";
import { fixJobHandlers, type FixDeps, type Octokit } from "../src/fix/pipeline.js";
import { recordBranchHead } from "../src/fix/supersede.js";
import { createLibsqlQueue, createWorker, listJobs } from "../src/queue/index.js";
import { branchHeads, fixAttempts } from "../src/store/schema.js";
import { fixture, silentLog, startTestServer, type TestServer } from "./helpers.js";

const API = "https://api.github.com";
const REPO = "/repos/acme/widgets";
const HEAD = "8f4c2a1d9e3b7c6a5f4e3d2c1b0a9f8e7d6c5b4a";
const NEWER = "9a0b1c2d3e4f5061728394a5b6c7d8e9f0a1b2c3";

let server: TestServer;
let requests: string[];

beforeEach(async () => {
  server = await startTestServer();
  requests = [];
});
afterEach(async () => {
  await server.close();
});

function worker() {
  const deps: FixDeps = {
    store: server.store,
    github: async (id) => (await server.probot.auth(id!)) as Octokit,
    model: null,
    queue: createLibsqlQueue(server.store),
    log: silentLog(),
  };
  return createWorker({ store: server.store, handlers: fixJobHandlers(deps), concurrency: 1, log: silentLog() });
}

function github() {
  const scope = nock(API);
  scope.on("request", (req: { method: string; path: string }) => requests.push(`${req.method} ${req.path}`));
  return scope;
}

function mockTokenAndConfig() {
  github().post("/app/installations/48213377/access_tokens").reply(201, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" });
  github().get(`${REPO}/contents/.github%2Ffixloop.yml`).reply(200, "rerun_first: false\n", { "content-type": "text/plain" });
}

function pushTo(branch: string, before: string, after: string) {
  const pr = fixture<{ repository: unknown; installation: unknown }>("pull_request.opened.json");
  return {
    ref: `refs/heads/${branch}`,
    before,
    after,
    commits: [
      {
        id: after,
        message: "Handle blank input",
        timestamp: "2024-05-02T12:20:00Z",
        author: { name: "Octo Dev", email: "octodev@users.noreply.github.com", username: "octodev" },
        added: [],
        modified: ["src/parser.ts"],
        removed: [],
      },
    ],
    head_commit: null,
    repository: pr.repository,
    installation: pr.installation,
    sender: { login: "octodev" },
  };
}

async function redRunQueued() {
  await server.post("pull_request", fixture("pull_request.opened.json"));
  await server.post("workflow_run", fixture("workflow_run.completed.json"));
  const [job] = await listJobs(server.store, { kind: "fix" });
  expect(job.status).toBe("queued");
  return job;
}

describe("a newer commit supersedes the fix for the older one", () => {
  test("a push while the fix job is queued: the job ends superseded, nothing is read, no PR is opened", async () => {
    const job = await redRunQueued();
    const answer = await server.deliver("push", pushTo("fix-widget-parser", HEAD, NEWER));
    expect(answer).toMatchObject({ status: "processed", note: expect.stringContaining(`superseded fix job(s) ${job.id}`) });
    const [after] = await listJobs(server.store, { kind: "fix" });
    expect(after.status).toBe("skipped");
    expect((after.result as { reason: string }).reason).toMatch(/^superseded: fix-widget-parser moved on \(now at 9a0b1c2\); the failure may be gone$/);

    expect(await worker().runDue()).toBe(0);
    expect(requests).toEqual([]);
    expect(await server.store.db.select().from(fixAttempts)).toEqual([]);
  });

  test("the PR's head moves (synchronize, as for a fork PR): the queued fix ends superseded", async () => {
    await redRunQueued();
    const sync = fixture<{ action: string; before?: string; after?: string; pull_request: { head: { sha: string }; updated_at: string } }>("pull_request.synchronize.json");
    sync.before = HEAD;
    sync.pull_request.head.sha = NEWER;
    sync.after = NEWER;
    sync.pull_request.updated_at = "2024-05-02T12:30:00Z";
    const answer = await server.deliver("pull_request", sync);
    expect(answer).toMatchObject({ note: expect.stringMatching(/^superseded fix job\(s\) \d+$/) });
    const [job] = await listJobs(server.store, { kind: "fix" });
    expect(job.status).toBe("skipped");
    expect((job.result as { reason: string }).reason).toMatch(/^superseded: the head of PR #42 moved on/);
  });

  test("a push to another branch, or of the same commit, cancels nothing", async () => {
    await redRunQueued();
    await server.post("push", pushTo("main", "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", NEWER));
    await server.post("push", pushTo("fix-widget-parser", "0".repeat(40), HEAD));
    const [job] = await listJobs(server.store, { kind: "fix" });
    expect(job.status).toBe("queued");
  });

  test("the branch moved while the job was running: its guard ends the attempt superseded before any log is read", async () => {
    await redRunQueued();
    // Recorded as if the push arrived after the job was claimed (the queued job was not there to cancel).
    await recordBranchHead(server.store.db, { repo: "acme/widgets", branch: "fix-widget-parser", sha: NEWER, before: HEAD });
    mockTokenAndConfig();
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    expect(requests.filter((r) => !r.includes("access_tokens") && !r.includes("fixloop.yml"))).toEqual([]);
    const [attempt] = await server.store.db.select().from(fixAttempts);
    expect(attempt).toMatchObject({ status: "skipped", reason: expect.stringMatching(/^superseded: fix-widget-parser moved on to 9a0b1c2 after 8f4c2a1 failed/) });
  });

  test("a late delivery of an older push does not move the branch head back", async () => {
    const db = server.store.db;
    await recordBranchHead(db, { repo: "acme/widgets", branch: "b", sha: NEWER, before: HEAD });
    expect(await recordBranchHead(db, { repo: "acme/widgets", branch: "b", sha: HEAD, before: "0".repeat(40) })).toBe(false);
    expect((await db.select().from(branchHeads))[0].sha).toBe(NEWER);
  });

  test("a stop recorded while the job waited: the guard skips it with the stop's reason", async () => {
    await redRunQueued();
    await stopWork(server.store.db, "acme/widgets", { scope: "pr", prNumber: 42 }, { login: "octodev", commentId: 1 });
    mockTokenAndConfig();
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    const [attempt] = await server.store.db.select().from(fixAttempts);
    expect(attempt).toMatchObject({ status: "skipped", reason: "stopped: @octodev asked fixloop to stop on PR #42 (/fixloop stop)" });
  });
});
