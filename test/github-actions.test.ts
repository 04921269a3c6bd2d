import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import nock from "nock";
import { ProbotOctokit } from "probot";
import { describe, expect, it } from "vitest";
import {
  changedFilesOfCommit,
  latestRunOnBranch,
  listCheckRunsForSuite,
  listFailedJobs,
  LogDownloadError,
  LogsUnavailableError,
  rerunFailedJobs,
  streamJobLogs,
} from "../src/github/actions.js";
import { fixture } from "./helpers.js";

const API = "https://api.github.com";
const BLOB_HOST = "https://productionresultssa3.blob.core.windows.net";
const repo = { owner: "acme", repo: "widgets" };

function testOctokit(baseUrl?: string) {
  return new ProbotOctokit({ auth: { token: "test" }, retry: { enabled: false }, throttle: { enabled: false }, ...(baseUrl ? { baseUrl } : {}) });
}

/** Fails instead of hanging when a step waits for a log body the test has not released yet. */
async function within<T>(promise: Promise<T>, what: string, timeoutMs = 2000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen: the log was buffered or stalled`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function nextChunk(iterator: AsyncIterator<Buffer>): Promise<IteratorResult<Buffer>> {
  return within(iterator.next(), "the next chunk");
}

describe("listFailedJobs", () => {
  it("walks every page of the latest attempt and keeps failed, timed-out and cancelled jobs with their failing steps", async () => {
    const page2 = `${API}/repositories/700100/actions/runs/9120304501/jobs?filter=latest&per_page=100&page=2`;
    const scope = nock(API)
      .get("/repos/acme/widgets/actions/runs/9120304501/jobs")
      .query({ filter: "latest", per_page: "100" })
      .reply(200, fixture("api/actions/run-jobs.page1.json"), { link: `<${page2}>; rel="next", <${page2}>; rel="last"` })
      .get("/repositories/700100/actions/runs/9120304501/jobs")
      .query({ filter: "latest", per_page: "100", page: "2" })
      .reply(200, fixture("api/actions/run-jobs.page2.json"));

    const jobs = await listFailedJobs(testOctokit(), { ...repo, runId: 9120304501 });

    expect(scope.isDone()).toBe(true);
    expect(jobs.map((job) => [job.name, job.conclusion, job.failingSteps])).toEqual([
      ["test (20)", "failure", ["Run npm test"]],
      ["test (22)", "failure", ["Run npm test"]],
      ["e2e", "cancelled", ["Run npx playwright test"]],
    ]);
    expect(jobs[0]).toMatchObject({
      id: 25061001002,
      htmlUrl: "https://github.com/acme/widgets/actions/runs/9120304501/job/25061001002",
      startedAt: "2025-03-14T09:12:05Z",
      completedAt: "2025-03-14T09:14:41Z",
      runAttempt: 1,
      runnerName: "GitHub Actions 12",
    });
    expect(jobs[0].steps).toHaveLength(7);
    expect(jobs[0].steps[4]).toEqual({ name: "Run npm test", number: 5, conclusion: "failure" });
  });

  it("reads one attempt's jobs when the attempt is given", async () => {
    const scope = nock(API)
      .get("/repos/acme/widgets/actions/runs/9120304501/attempts/2/jobs")
      .query({ per_page: "100" })
      .reply(200, fixture("api/actions/run-jobs.page2.json"));

    const jobs = await listFailedJobs(testOctokit(), { ...repo, runId: 9120304501, attempt: 2 });

    expect(scope.isDone()).toBe(true);
    expect(jobs.map((job) => job.id)).toEqual([25061001003, 25061001004]);
  });
});

describe("streamJobLogs", () => {
  it("follows the 302 to the blob host without the token and hands back the log before it has all arrived", async () => {
    const lines = readFileSync(new URL("../fixtures/api/actions/job-log.txt", import.meta.url), "utf8");
    const [firstHalf, secondHalf] = [lines.slice(0, 200), lines.slice(200)];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const source = new Readable({ read() {} });
    source.push(firstHalf);
    void gate.then(() => {
      source.push(secondHalf);
      source.push(null);
    });

    const location = `${BLOB_HOST}/actionsresults-1/logs/job/25061001002.txt?rsct=text%2Fplain&se=2025-03-14T09%3A30%3A00Z&sig=c2lnbmF0dXJl`;
    const api = nock(API, { reqheaders: { authorization: "token test" } })
      .get("/repos/acme/widgets/actions/jobs/25061001002/logs")
      .reply(302, "", { location });
    const blob = nock(BLOB_HOST, { badheaders: ["authorization"] })
      .get("/actionsresults-1/logs/job/25061001002.txt")
      .query(true)
      .reply(200, () => source, { "content-type": "text/plain" });

    const stream = await within(streamJobLogs(testOctokit(), { ...repo, jobId: 25061001002 }), "getting the stream");
    expect(stream).toBeInstanceOf(Readable);

    const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const first = await nextChunk(iterator);
    // The source has not finished yet: whatever arrived came through unbuffered.
    expect(first.done).toBe(false);
    let received = Buffer.from(first.value).toString("utf8");
    expect(firstHalf.startsWith(received)).toBe(true);

    release();
    for (let chunk = await nextChunk(iterator); !chunk.done; chunk = await nextChunk(iterator)) received += Buffer.from(chunk.value).toString("utf8");
    expect(received).toBe(lines);
    expect(api.isDone() && blob.isDone()).toBe(true);
  });

  it.each([404, 410])("turns a %i from the API (logs expired or deleted) into LogsUnavailableError", async (status) => {
    nock(API).get("/repos/acme/widgets/actions/jobs/7/logs").reply(status, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });

    const error = await streamJobLogs(testOctokit(), { ...repo, jobId: 7 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LogsUnavailableError);
    expect(error).toMatchObject({ jobId: 7, status });
  });

  it("treats a 404 from the blob host as unavailable, and other blob failures as download errors", async () => {
    nock(API)
      .get("/repos/acme/widgets/actions/jobs/8/logs")
      .reply(302, "", { location: `${BLOB_HOST}/logs/8.txt?sig=a` })
      .get("/repos/acme/widgets/actions/jobs/9/logs")
      .reply(302, "", { location: `${BLOB_HOST}/logs/9.txt?sig=b` });
    nock(BLOB_HOST).get("/logs/8.txt").query(true).reply(404, "BlobNotFound").get("/logs/9.txt").query(true).reply(403, "AuthenticationFailed");

    await expect(streamJobLogs(testOctokit(), { ...repo, jobId: 8 })).rejects.toBeInstanceOf(LogsUnavailableError);
    const error = await streamJobLogs(testOctokit(), { ...repo, jobId: 9 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogDownloadError);
    expect(error).toMatchObject({ status: 403 });
  });

  it("works against real HTTP servers: Node's fetch hands back the 302 and the blob host never sees the token", async () => {
    const blobRequests: IncomingHttpHeaders[] = [];
    const blobServer = createServer((req, res) => {
      blobRequests.push(req.headers);
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("line one\n");
      setTimeout(() => res.end("line two\n"), 20);
    });
    blobServer.listen(0, "127.0.0.1");
    await once(blobServer, "listening");
    const blobPort = (blobServer.address() as AddressInfo).port;
    const apiServer = createServer((req, res) => {
      if (req.url === "/repos/acme/widgets/actions/jobs/11/logs" && req.headers.authorization === "token test") {
        res.writeHead(302, { location: `http://127.0.0.1:${blobPort}/blob/11.txt?sig=x` });
        res.end();
      } else {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: "Not Found" }));
      }
    });
    apiServer.listen(0, "127.0.0.1");
    await once(apiServer, "listening");
    const apiPort = (apiServer.address() as AddressInfo).port;
    try {
      const stream = await streamJobLogs(testOctokit(`http://127.0.0.1:${apiPort}`), { ...repo, jobId: 11 });
      let text = "";
      for await (const chunk of stream) text += Buffer.from(chunk as Uint8Array).toString("utf8");
      expect(text).toBe("line one\nline two\n");
      expect(blobRequests).toHaveLength(1);
      expect(blobRequests[0].authorization).toBeUndefined();
    } finally {
      blobServer.close();
      apiServer.close();
    }
  });
});

describe("listCheckRunsForSuite", () => {
  it("returns every run's output and reads annotations only for failed runs that have some", async () => {
    const scope = nock(API)
      .get("/repos/acme/widgets/check-suites/23456789999/check-runs")
      .query({ per_page: "100" })
      .reply(200, fixture("api/actions/check-runs.json"))
      .get("/repos/acme/widgets/check-runs/31000000002/annotations")
      .query({ per_page: "100" })
      .reply(200, fixture("api/actions/check-run-annotations.json"));

    const runs = await listCheckRunsForSuite(testOctokit(), { ...repo, checkSuiteId: 23456789999 });

    expect(scope.isDone()).toBe(true);
    expect(runs.map((run) => [run.name, run.conclusion, run.annotations.length])).toEqual([
      ["build", "success", 0],
      ["typecheck", "failure", 2],
      ["unit tests", "failure", 0],
    ]);
    const typecheck = runs[1];
    expect(typecheck.appSlug).toBe("circleci-checks");
    expect(typecheck.output.title).toBe("2 type errors");
    expect(typecheck.output.text).toContain("src/parser.ts(42,7): error TS2322");
    expect(typecheck.annotations[0]).toEqual({
      path: "src/parser.ts",
      start_line: 42,
      end_line: 42,
      annotation_level: "failure",
      message: "Type 'string' is not assignable to type 'number'.",
      title: "TS2322",
    });
    expect(runs[0].output.text).toBeNull();
  });
});

describe("run and commit reads", () => {
  it("re-runs the failed jobs of a run", async () => {
    const scope = nock(API).post("/repos/acme/widgets/actions/runs/9120304501/rerun-failed-jobs").reply(201, {});
    await rerunFailedJobs(testOctokit(), { ...repo, runId: 9120304501 });
    expect(scope.isDone()).toBe(true);
  });

  it("finds the newest completed run of a workflow on a branch", async () => {
    const scope = nock(API)
      .get("/repos/acme/widgets/actions/workflows/61234567/runs")
      .query({ branch: "main", status: "completed", per_page: "1" })
      .reply(200, fixture("api/actions/workflow-runs.latest.json"));

    const run = await latestRunOnBranch(testOctokit(), { ...repo, workflowId: 61234567, branch: "main" });

    expect(scope.isDone()).toBe(true);
    expect(run).toEqual({
      id: 9120200077,
      headSha: "3b1f0e9d8c7a6b5e4f3d2c1b0a9e8d7c6b5a4f3e",
      headBranch: "main",
      event: "push",
      conclusion: "failure",
      runAttempt: 2,
      htmlUrl: "https://github.com/acme/widgets/actions/runs/9120200077",
      createdAt: "2025-03-14T08:02:11Z",
      updatedAt: "2025-03-14T08:06:40Z",
    });
  });

  it("answers null when the branch has no completed run of the workflow (file name as workflow id)", async () => {
    nock(API)
      .get("/repos/acme/widgets/actions/workflows/ci.yml/runs")
      .query({ branch: "release/2.x", status: "completed", per_page: "1" })
      .reply(200, { total_count: 0, workflow_runs: [] });
    expect(await latestRunOnBranch(testOctokit(), { ...repo, workflowId: "ci.yml", branch: "release/2.x" })).toBeNull();
  });

  it("lists the paths a commit changed, in one request", async () => {
    const scope = nock(API)
      .get("/repos/acme/widgets/commits/d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3")
      .query({ per_page: "100" })
      .reply(200, fixture("api/git/commit-with-files.json"));

    const paths = await changedFilesOfCommit(testOctokit(), { ...repo, sha: "d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3" });

    expect(scope.isDone()).toBe(true);
    expect(paths).toEqual(["src/parser.ts", "docs/parser.md"]);
  });
});
