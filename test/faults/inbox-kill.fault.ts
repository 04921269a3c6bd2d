/**
 * Fault: the server dies (SIGKILL) under load, between acknowledging
 * deliveries and processing them. A real child process runs fixloop's server
 * (ingress → inbox, processor beside it) on a libSQL file; 16 requests at a
 * time send signed red `workflow_run` deliveries (some ids sent twice, some
 * runs under two ids) and the child is killed after a point drawn from a
 * fixed seed, several times over. Each time a new child takes over the same
 * file with a short delivery lease. Expected, in the end: every delivery
 * that was acknowledged (202, or 200 duplicate) is stored and processed, none
 * is lost, none is stored or processed twice (one row per id, one run row per
 * run, one fix job per run), and nothing is left waiting.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { afterEach, expect, test } from "vitest";
import { openStore, type Store } from "../../src/store/db.js";
import { ciRuns, deliveries, jobs } from "../../src/store/schema.js";
import { sign, testPrivateKey, WEBHOOK_SECRET } from "../helpers.js";
import { startWorkerProcess, type WorkerProcess } from "./support/child.js";
import { rawRequest } from "./support/http.js";
import { mapLimited, redRunPayload, report, shaOf, shuffled, waitFor } from "./support/scenario.js";

const SERVER_ENTRY = fileURLToPath(new URL("./support/server-child.ts", import.meta.url));
const LEASE_MS = 500;
const IN_FLIGHT = 16;
const DELIVERIES = 600;
const DISTINCT_RUNS = 150;
const KILLS = 3;
const SEED = 20261207;

const children: WorkerProcess[] = [];
let dir: string | undefined;
let store: Store | undefined;

afterEach(() => {
  for (const child of children.splice(0)) if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill("SIGKILL");
  store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  store = dir = undefined;
});

async function startServer(url: string): Promise<{ process: WorkerProcess; baseUrl: string }> {
  const child = startWorkerProcess(
    { DATABASE_URL: url, WEBHOOK_SECRET, PRIVATE_KEY: testPrivateKey(), FIXLOOP_DELIVERY_LEASE_MS: String(LEASE_MS), LOG_LEVEL: "error" },
    SERVER_ENTRY,
  );
  children.push(child);
  await child.ready;
  const baseUrl = /ready (http:\/\/\S+)/.exec(child.output())?.[1];
  if (!baseUrl) throw new Error(`the server did not say where it listens:\n${child.output()}`);
  return { process: child, baseUrl };
}

/** A small deterministic generator, so each run kills at the same points. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

test("SIGKILL at random points under load: every acknowledged delivery is processed once, none lost", async () => {
  dir = mkdtempSync(join(tmpdir(), "fixloop-inbox-kill-"));
  const url = `file:${join(dir, "fixloop.db")}`;
  const runIds = Array.from({ length: DISTINCT_RUNS }, (_, i) => 9_300_000_000 + i);
  const bodies = runIds.map((runId, i) => JSON.stringify(redRunPayload({ runId, headSha: shaOf(0xdead0000 + i) })));
  // Delivery i carries run i % DISTINCT_RUNS; every 10th id is also sent a second time (a redelivery).
  const sends = shuffled(
    Array.from({ length: DELIVERIES }, (_, i) => ({ id: `kill-${i}`, run: i % DISTINCT_RUNS })).flatMap((s, i) => (i % 10 === 0 ? [s, s] : [s])),
    SEED,
  );
  const draw = random(SEED);
  const killAfter = Array.from({ length: KILLS }, () => 20 + Math.floor(draw() * (sends.length / (KILLS + 1) - 20)));

  const acknowledged = new Set<string>();
  const refused = new Map<number, number>();
  let next = 0;
  const killedAt: number[] = [];
  for (let round = 0; round <= KILLS; round++) {
    const { process: child, baseUrl } = await startServer(url);
    const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
    const last = round < KILLS ? Math.min(sends.length, next + killAfter[round]) : sends.length;
    const batch = sends.slice(next, last);
    let answered = 0;
    let killed = false;
    await mapLimited(batch, IN_FLIGHT, async (send) => {
      const body = bodies[send.run];
      try {
        const response = await rawRequest(baseUrl, {
          method: "POST",
          path: "/api/github/webhooks",
          agent,
          headers: {
            "content-type": "application/json",
            "content-length": String(Buffer.byteLength(body)),
            "x-github-event": "workflow_run",
            "x-github-delivery": send.id,
            "x-hub-signature-256": sign(body),
          },
          body: Buffer.from(body),
        });
        if (response.status === 202 || response.status === 200) acknowledged.add(send.id);
        else refused.set(response.status, (refused.get(response.status) ?? 0) + 1);
      } catch {
        // Cut off by the kill: never acknowledged, so GitHub would redeliver it; not counted here.
      }
      answered += 1;
      // The kill lands while requests are in flight and the processor is busy.
      if (round < KILLS && !killed && answered >= batch.length - IN_FLIGHT) {
        killed = true;
        child.child.kill("SIGKILL");
        killedAt.push(acknowledged.size);
      }
    });
    agent.destroy();
    if (round < KILLS) await child.exited;
    next = last;
  }

  // The last server (still running) finishes what the dead ones left, once their leases run out.
  store = await openStore({ url });
  const db = store.db;
  await waitFor("the inbox to empty", async () => {
    const [row] = await db.select({ waiting: sql<number>`count(*)` }).from(deliveries).where(sql`${deliveries.status} = 'received'`);
    return Number(row.waiting) === 0;
  }, 30_000);

  const rows = await db.select({ id: deliveries.id, status: deliveries.status, attempts: deliveries.attempts }).from(deliveries);
  const stored = new Set(rows.map((r) => r.id));
  const lost = [...acknowledged].filter((id) => !stored.has(id));
  const notProcessed = rows.filter((r) => r.status !== "processed");
  const retaken = rows.filter((r) => r.attempts > 1).length;
  const [runs] = await db.select({ n: sql<number>`count(*)`, distinct: sql<number>`count(distinct ${ciRuns.runId})` }).from(ciRuns);
  const jobRows = await db.select({ dedupKey: jobs.dedupKey }).from(jobs);
  const runsAcknowledged = new Set(sends.filter((s) => acknowledged.has(s.id)).map((s) => s.run)).size;

  report(
    "inbox SIGKILL",
    `${sends.length} requests (${DELIVERIES} ids, ${DISTINCT_RUNS} runs, ${IN_FLIGHT} in flight), ${KILLS} kills after ${killedAt.join(", ")} acknowledged; ` +
      `acknowledged ${acknowledged.size} ids, refused ${JSON.stringify(Object.fromEntries(refused))}; stored ${rows.length}, lost ${lost.length}, ` +
      `not processed ${notProcessed.length}, taken over after a kill ${retaken}; ci_runs ${runs.n} (${runs.distinct} distinct) for ${runsAcknowledged} runs acknowledged; ` +
      `fix jobs ${jobRows.length} (${new Set(jobRows.map((j) => j.dedupKey)).size} distinct)`,
  );

  expect(killedAt).toHaveLength(KILLS);
  expect(lost).toEqual([]);
  expect(notProcessed).toEqual([]);
  // Nothing stored that nobody sent, nothing twice.
  expect(rows.length).toBe(stored.size);
  expect(rows.every((r) => r.id.startsWith("kill-"))).toBe(true);
  expect(Number(runs.n)).toBe(Number(runs.distinct));
  expect(Number(runs.n)).toBeGreaterThanOrEqual(runsAcknowledged);
  expect(jobRows.length).toBe(new Set(jobRows.map((j) => j.dedupKey)).size);
  expect(jobRows.length).toBe(Number(runs.n));
}, 240_000);
