/**
 * Fault: the worker process dies (SIGKILL) in the middle of a fix job. A real
 * child process runs the fix worker on the libSQL file this test's server
 * writes; GitHub and TensorZero are loopback fakes. The fake GitHub holds one
 * publishing request open (after doing its work, as GitHub would have) until
 * the child is killed; a second child with a short lease takes the job over.
 * Expected: the job finishes once: one branch, one PR, one label call, one
 * inference, the attempt awaiting CI with the PR number, one feedback row per
 * metric, which the outbox then sends once.
 */
import { afterEach, describe, expect, test } from "vitest";
import { drainFeedbackOutbox } from "../../src/outcomes/outbox.js";
import { getJob } from "../../src/queue/index.js";
import { commitLinks, feedback, fixAttempts, jobs } from "../../src/store/schema.js";
import { startTestServer, testPrivateKey, type TestServer } from "../helpers.js";
import { startWorkerProcess, type WorkerProcess } from "./support/child.js";
import { startFakeGitHub, type FakeGitHub, type RecordedRequest } from "./support/fake-github.js";
import { startFakeTensorZero, type FakeTensorZero } from "./support/fake-tensorzero.js";
import { JOB_LOG, MODEL_ANSWER, REPO_CONFIG, REPO_FILES, RUN_ID, redRunPayload, report, silentLog, waitFor } from "./support/scenario.js";

const LEASE_MS = 1_000;
const POLL_MS = 100;

let server: TestServer | undefined;
let github: FakeGitHub | undefined;
let gateway: FakeTensorZero | undefined;
const children: WorkerProcess[] = [];

afterEach(async () => {
  for (const worker of children.splice(0)) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGKILL");
  await github?.close();
  await gateway?.close();
  await server?.close();
  server = github = gateway = undefined;
});

function startWorker(name: string): WorkerProcess {
  const worker = startWorkerProcess({
    WORKER_NAME: name,
    DATABASE_URL: server!.store.url,
    GITHUB_BASE_URL: github!.url,
    TENSORZERO_URL: gateway!.url,
    PRIVATE_KEY: testPrivateKey(),
    FIXLOOP_LEASE_MS: String(LEASE_MS),
    FIXLOOP_POLL_MS: String(POLL_MS),
    LOG_LEVEL: "warn",
  });
  children.push(worker);
  return worker;
}

/** Resolves with the held request, or rejects with the child's output if it ends or stalls first. */
async function heldWithin(held: Promise<{ request: RecordedRequest }>, worker: WorkerProcess, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no held request within ${ms} ms; worker output:\n${worker.output()}`)), ms);
  });
  const ended = worker.exited.then(({ code, signal }) => {
    throw new Error(`worker ended (code ${code}, signal ${signal}) before the held request:\n${worker.output()}`);
  });
  try {
    return await Promise.race([held, stalled, ended]);
  } finally {
    clearTimeout(timer);
  }
}

const KILL_POINTS = [
  { name: "creating the branch ref", path: /\/git\/refs$/ },
  { name: "opening the pull request", path: /\/pulls$/ },
];

describe("worker killed with SIGKILL mid-job", () => {
  test.each(KILL_POINTS)("killed while $name: after restart the job finishes once", async ({ name, path }) => {
    github = await startFakeGitHub({ files: REPO_FILES, config: REPO_CONFIG, jobLog: JOB_LOG });
    gateway = await startFakeTensorZero(() => MODEL_ANSWER);
    server = await startTestServer();
    const delivered = await server.deliver("workflow_run", redRunPayload());
    expect(delivered.note).toMatch(/^fix job \d+ enqueued$/);
    const db = server.store.db;
    const [job] = await db.select().from(jobs);

    // First worker: runs the job until GitHub has done the write but not answered it, then dies.
    const held = github.holdNext((request) => request.method === "POST" && path.test(request.path));
    const first = startWorker("first");
    const startedAt = performance.now();
    const { request: heldRequest } = await heldWithin(held, first, 60_000);
    const atKill = await getJob(server.store, job.id);
    const [attemptAtKill] = await db.select().from(fixAttempts);
    first.child.kill("SIGKILL");
    const firstExit = await first.exited;
    const killedAt = performance.now();
    expect(firstExit.signal).toBe("SIGKILL");
    expect(atKill).toMatchObject({ status: "running", attempts: 1 });
    expect(atKill?.leaseOwner).toMatch(/^first:/);
    expect(attemptAtKill.status).toBe("publishing");
    const requestsBeforeKill = github.requests.length;

    // Second worker: waits out the dead worker's lease, takes the job over and finishes it.
    const second = startWorker("second");
    await second.ready;
    const done = await waitFor(`job ${job.id} done by the second worker`, async () => {
      const row = await getJob(server!.store, job.id);
      if (row && (row.status === "failed" || row.status === "dead")) throw new Error(`job ${row.status}: ${row.lastError}\n${second.output()}`);
      return row?.status === "done" ? row : null;
    }, 60_000);
    const finishedAt = performance.now();
    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);

    const attempts = await db.select().from(fixAttempts);
    const outbox = await db.select().from(feedback);
    const links = await db.select().from(commitLinks);
    const refsCreated = github.count("POST", /\/git\/refs$/);
    const pullsCreated = github.count("POST", /\/pulls$/);
    const labelCalls = github.count("POST", /\/issues\/\d+\/labels$/);
    const resumeReads = github.requests.slice(requestsBeforeKill).filter((r) => r.method === "GET" && /\/git\/ref\/|\/pulls$/.test(r.path)).length;

    // The outbox sends the one feedback row, once.
    const firstDrain = await drainFeedbackOutbox({ store: server.store, gateway: { url: gateway.url }, log: silentLog() });
    const secondDrain = await drainFeedbackOutbox({ store: server.store, gateway: { url: gateway.url }, log: silentLog() });

    report(
      `SIGKILL while ${name}`,
      `held ${heldRequest.method} ${heldRequest.path} (effect done, answer withheld) → killed pid ${first.pid} (${firstExit.signal}); second worker finished the job ${Math.round(finishedAt - killedAt)} ms after the kill (lease ${LEASE_MS} ms); ` +
        `job ${done.status} after ${done.attempts} claims; GitHub: ${refsCreated} ref created (${github.refs.size} branch: ${[...github.refs.keys()].join(", ")}), ${pullsCreated} PR create call(s) → ${github.pulls.length} PR (#${github.pulls.map((p) => p.number).join(", #")}), ${labelCalls} label call(s), ${resumeReads} resume read(s), ${github.unexpected.length} unexpected request(s); ` +
        `inferences ${gateway.inferences.length}; attempts ${attempts.length} (${attempts.map((a) => `${a.status} PR #${a.prNumber}`).join(", ")}); feedback rows ${outbox.map((f) => `${f.metricName}=${String(f.value)}`).join(", ")}; drains sent ${firstDrain.sent} then ${secondDrain.sent}, gateway got ${gateway.feedback.length}; whole run ${Math.round(finishedAt - startedAt)} ms`,
    );

    expect(done.attempts).toBe(2);
    expect(done.leaseOwner).toMatch(/^second:/);
    expect(github.unexpected).toEqual([]);
    expect(refsCreated).toBe(1);
    expect([...github.refs.keys()]).toEqual([`refs/heads/fixloop/run-${RUN_ID}`]);
    expect(pullsCreated).toBe(1);
    expect(github.pulls).toHaveLength(1);
    expect(github.pulls[0]).toMatchObject({ head: `fixloop/run-${RUN_ID}`, draft: true, state: "open", labels: ["fixloop"] });
    expect(labelCalls).toBe(1);
    expect(resumeReads).toBeGreaterThan(0);
    // The model's answer was stored before publishing: the takeover does not pay for a second inference.
    expect(gateway.inferences).toHaveLength(1);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      status: "awaiting_ci",
      prNumber: github.pulls[0].number,
      fixBranch: `fixloop/run-${RUN_ID}`,
      fixCommitSha: github.refs.get(`refs/heads/fixloop/run-${RUN_ID}`),
      inferenceId: gateway.inferences[0].inferenceId,
    });
    expect(outbox.map((f) => [f.metricName, f.value, f.targetId])).toEqual([["fixloop_patch_applied", true, gateway.inferences[0].inferenceId]]);
    expect(links).toHaveLength(1);
    expect(firstDrain.sent).toBe(1);
    expect(secondDrain.sent).toBe(0);
    expect(gateway.feedback.map((f) => [f.body.metric_name, f.body.inference_id, f.body.value])).toEqual([["fixloop_patch_applied", gateway.inferences[0].inferenceId, true]]);
  });
});
