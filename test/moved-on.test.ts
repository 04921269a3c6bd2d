/**
 * #15 stale commits, open fix PRs: a fix PR built on a commit the branch has
 * moved past waits for the new head's run of the same workflow. Green (or red
 * another way): the PR is closed with "the branch moved on; the failure may
 * be gone". Red the same way: the chain continues on the new head (its next
 * attempt is enqueued on the new commit; publishing it closes the old PR as
 * superseded, as pipeline.ts does for every next attempt). Redeliveries do
 * nothing twice. GitHub through nock; the real app, store and worker.
 */
import { readFileSync } from "node:fs";
import type { InStatement } from "@libsql/client";
import { eq } from "drizzle-orm";
import nock from "nock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { buildFailureContext } from "../src/fix/context/index.js";
import { hasStaleFixPrs, MOVED_ON_JOB, MOVED_ON_NOTE } from "../src/fix/moved-on.js";
import { triggerFromWorkflowRun } from "../src/handlers/fix-trigger.js";
import type { WorkflowRunPayload } from "../src/ingest/map.js";
import { fixJobHandlers, type Octokit } from "../src/fix/pipeline.js";
import { createLibsqlQueue, createWorker, listJobs } from "../src/queue/index.js";
import { fixAttempts } from "../src/store/schema.js";
import { createTransactionScope, storeOnClient, TransactionMemo } from "../src/store/transaction-scope.js";
import { countingTransactionStatements, fixture, silentLog, startTestServer, type TestServer } from "./helpers.js";

const API = "https://api.github.com";
const BLOBS = "https://pipelines.actions.githubusercontent.com";
const REPO = "/repos/acme/widgets";
const OLD = "0ld0000000000000000000000000000000000001".replace(/[^0-9a-f]/g, "0");
const NEW_HEAD = "8f4c2a1d9e3b7c6a5f4e3d2c1b0a9f8e7d6c5b4a";
const RUN_ID = 9120304501;
const JOB_ID = 25550001;
const LOG = readFileSync(new URL("../fixtures/e2e/job-log.txt", import.meta.url), "utf8");

let server: TestServer;

beforeEach(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
  server = await startTestServer();
});
afterEach(async () => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  await server.close();
  expect(pending).toEqual([]);
});

async function staleFixPr(firstErrorLine: string | null) {
  const at = new Date(Date.now() - 3_600_000).toISOString();
  await server.store.db.insert(fixAttempts).values({
    id: "stale-attempt",
    repoSlug: "acme/widgets",
    installationId: 48213377,
    chainId: `acme/widgets@${OLD}#CI`,
    attemptNumber: 1,
    triggerProvider: "github-actions",
    triggerRunId: "9120300001",
    workflowName: "CI",
    headSha: OLD,
    headBranch: "fix-widget-parser",
    status: "awaiting_ci",
    episodeId: "0192e5a4-1111-7000-8000-000000000001",
    fixBranch: "fixloop/run-9120300001",
    prNumber: 77,
    failureSummary: { failingStep: "Run npm test", firstErrorLine, job: "test", sameFailureJobs: [] },
    createdAt: at,
    updatedAt: at,
  });
}

function runOnNewHead(conclusion: "success" | "failure") {
  const payload = fixture<{ workflow_run: Record<string, unknown> }>("workflow_run.completed.json");
  payload.workflow_run.conclusion = conclusion;
  return payload;
}

/** Runs the fix-moved-on jobs due (the fix jobs they enqueue are only looked at). */
async function runJobs() {
  const deps = { store: server.store, github: async (id: number | null) => (await server.probot.auth(id!)) as Octokit, model: null, queue: createLibsqlQueue(server.store), log: silentLog() };
  const handlers = { [MOVED_ON_JOB]: fixJobHandlers(deps)[MOVED_ON_JOB] };
  const worker = createWorker({ store: server.store, handlers, concurrency: 1, log: silentLog() });
  await worker.runDue();
  await worker.stop();
}

function mockToken() {
  nock(API).post("/app/installations/48213377/access_tokens").reply(201, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" });
}

function mockFailureReads() {
  nock(API)
    .get(`${REPO}/actions/runs/${RUN_ID}/attempts/1/jobs`)
    .query(true)
    .reply(200, { total_count: 1, jobs: [{ id: JOB_ID, run_id: RUN_ID, run_attempt: 1, name: "test", status: "completed", conclusion: "failure", steps: [{ name: "Run npm test", number: 4, status: "completed", conclusion: "failure" }] }] });
  nock(API).get(`${REPO}/actions/jobs/${JOB_ID}/logs`).reply(302, "", { location: `${BLOBS}/logs/${JOB_ID}?sig=s` });
  nock(BLOBS).get(`/logs/${JOB_ID}`).query(true).reply(200, LOG, { "content-type": "text/plain" });
}

/** The moved-on comment and the close of PR #77; returns the comment bodies. */
function mockCloseStalePr(): string[] {
  const bodies: string[] = [];
  nock(API).get(`${REPO}/issues/77/comments`).query(true).reply(200, []);
  nock(API)
    .post(`${REPO}/issues/77/comments`, (body) => {
      bodies.push(body.body);
      return true;
    })
    .reply(201, { id: 1, html_url: "https://github.com/acme/widgets/pull/77#issuecomment-1" });
  nock(API).patch(`${REPO}/pulls/77`, { state: "closed" }).reply(200, { number: 77, state: "closed" });
  return bodies;
}

async function staleAttempt() {
  const [row] = await server.store.db.select().from(fixAttempts).where(eq(fixAttempts.id, "stale-attempt"));
  return row;
}

describe("an open fix PR for an older commit of the branch", () => {
  test("the new head's run passes: the PR is closed with a comment; a redelivery does nothing more", async () => {
    await staleFixPr("AssertionError: expected [ '' ] to deeply equal []");
    const payload = runOnNewHead("success");
    const first = await server.deliver("workflow_run", payload, { id: "delivery-green" });
    expect(first.note).toMatch(/fix-moved-on job \d+ enqueued/);
    mockToken();
    const comments = mockCloseStalePr();
    await runJobs();
    expect(nock.pendingMocks()).toEqual([]);
    expect((await listJobs(server.store, { kind: MOVED_ON_JOB }))[0].status).toBe("done");
    expect(comments).toHaveLength(1);
    expect(comments[0]).toMatch(/^<!-- fixloop:moved-on-stale-attempt -->\n/);
    expect(comments[0]).toContain(MOVED_ON_NOTE);
    expect(comments[0]).toContain("passed");
    expect((await staleAttempt()).reason).toMatch(/^superseded: fix-widget-parser moved on to 8f4c2a1/);

    // GitHub's redelivery (same id) and the same run told again (new id): nothing enqueued, nothing asked of GitHub.
    expect((await server.deliver("workflow_run", payload, { id: "delivery-green" })).status).toBe("duplicate");
    const again = await server.deliver("workflow_run", payload, { id: "delivery-green-2" });
    expect(again.note ?? "").not.toMatch(/enqueued/);
    await runJobs();
    expect(await listJobs(server.store, { kind: "fix" })).toHaveLength(0);
  });

  test("the new head's run fails the same way: the chain continues on the new head, the old PR is left for the next attempt to supersede", async () => {
    const context = await buildFailureContext(LOG, { budgetTokens: 500, conclusion: "failure" });
    await staleFixPr(context.errorLines[0].replace(/\d+/g, "7"));
    await server.post("pull_request", fixture("pull_request.opened.json"));
    const delivered = await server.deliver("workflow_run", runOnNewHead("failure"), { id: "delivery-red" });
    expect(delivered.note).toMatch(/fix-moved-on job \d+ enqueued/);
    mockToken();
    mockFailureReads();
    nock(API).get(`${REPO}/contents/.github%2Ffixloop.yml`).reply(200, "max_attempts: 3\n", { "content-type": "text/plain" });
    await runJobs();
    const fixJobs = await listJobs(server.store, { kind: "fix" });
    expect(fixJobs).toHaveLength(1);
    expect(fixJobs[0].payload).toMatchObject({
      headSha: NEW_HEAD,
      continuation: { chainId: `acme/widgets@${OLD}#CI`, attemptNumber: 2, previousAttemptId: "stale-attempt", episodeId: "0192e5a4-1111-7000-8000-000000000001", baseBranch: "fix-widget-parser", chainRunId: "9120300001" },
    });
    expect((await staleAttempt()).reason).toBeNull();
    // Redelivered: the same job, not a second one.
    expect((await server.deliver("workflow_run", runOnNewHead("failure"), { id: "delivery-red" })).status).toBe("duplicate");
  });

  test("the new head's run fails another way: the old PR is closed and the failure gets its own chain", async () => {
    await staleFixPr("TypeError: cannot read properties of undefined (reading 'trim')");
    await server.post("pull_request", fixture("pull_request.opened.json"));
    await server.deliver("workflow_run", runOnNewHead("failure"), { id: "delivery-red-2" });
    mockToken();
    mockFailureReads();
    const comments = mockCloseStalePr();
    await runJobs();
    expect(comments).toHaveLength(1);
    expect(comments[0]).toContain("fails another way");
    const fixJobs = await listJobs(server.store, { kind: "fix" });
    expect(fixJobs).toHaveLength(1);
    expect(fixJobs[0].payload).not.toHaveProperty("continuation");
  });
});

describe("the stale fix PR check at ingest, inside a write transaction", () => {
  test("reads the branches with an open fix PR once; runs on other branches are answered without a statement", async () => {
    await staleFixPr(null);
    const counted = countingTransactionStatements(server.store.client, 'from "fix_attempts"');
    const scope = createTransactionScope(counted.client);
    const { db } = storeOnClient(server.store, scope.client);
    const payload = runOnNewHead("success");
    const run = triggerFromWorkflowRun(payload, payload.workflow_run as WorkflowRunPayload);
    expect(run).toMatchObject({ repo: "acme/widgets", headBranch: "fix-widget-parser", workflowName: "CI", headSha: NEW_HEAD });

    const answers = await scope.run(async () => {
      const memo = new TransactionMemo();
      return {
        // SQLite's lower() on both sides, as the check itself compares.
        newHead: await hasStaleFixPrs(db, { ...run, repo: "ACME/Widgets" }, memo),
        sameHead: await hasStaleFixPrs(db, { ...run, headSha: OLD }, memo),
        otherBranch: await hasStaleFixPrs(db, { ...run, headBranch: "main" }, memo),
        otherRepo: await hasStaleFixPrs(db, { ...run, repo: "acme/gadgets" }, memo),
      };
    });
    expect(answers).toEqual({ newHead: true, sameHead: false, otherBranch: false, otherRepo: false });
    // The open branches once, then the full check for the two runs on that branch only.
    expect(counted.count()).toBe(3);
    // Without a transaction every run is checked in full, as before.
    expect(await hasStaleFixPrs(server.store.db, { ...run, repo: "ACME/Widgets" })).toBe(true);
  });
});

describe("the stale fix PR check reads only attempts awaiting their CI", () => {
  test("its statements (the branches with an open fix PR, the check with and without a workflow name) use the partial index on awaiting rows, not a scan of every attempt", async () => {
    // Record the SQL hasStaleFixPrs sends (through Drizzle's prepared statements), then ask SQLite how it runs each.
    const seen: { sql: string; args: unknown }[] = [];
    const base = server.store.client;
    const recording = new Proxy(base, {
      get(target, property, receiver) {
        if (property === "execute") {
          return (stmt: InStatement) => {
            if (typeof stmt !== "string" && stmt.sql.includes("fix_attempts")) seen.push({ sql: stmt.sql, args: stmt.args });
            return target.execute(stmt);
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
    const { db } = storeOnClient(server.store, recording as typeof base);
    const payload = fixture("workflow_run.completed.json") as Record<string, unknown>;
    const trigger = { ...triggerFromWorkflowRun(payload, payload.workflow_run as WorkflowRunPayload), headSha: NEW_HEAD };
    // The memo's list of branches with an open fix PR, then the check itself, with and without a workflow name.
    await hasStaleFixPrs(db, trigger, new TransactionMemo());
    await hasStaleFixPrs(db, trigger);
    await hasStaleFixPrs(db, { ...trigger, workflowName: null });
    expect(seen).toHaveLength(3);
    for (const { sql, args } of seen) {
      const plan = await base.execute({ sql: `EXPLAIN QUERY PLAN ${sql}`, args: args as never });
      const steps = plan.rows.map((row) => String(row.detail));
      expect(steps.join(" | ")).toMatch(/fix_attempts USING INDEX fix_attempts_awaiting_ci_idx/);
      expect(steps.filter((step) => /^SCAN fix_attempts$/.test(step))).toEqual([]);
    }
  });
});
