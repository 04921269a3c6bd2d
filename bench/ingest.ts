/**
 * `npm run bench:ingest`: fixloop's webhook ingest against a bare Probot app
 * with a no-op handler, in the same run, on loopback.
 *
 * Two baselines (see bench/ingest-server.ts):
 *   probot run   what a Probot user runs: `probot run` for
 *                `(app) => app.onAny(async () => {})`, i.e. Probot's Server
 *                with its request log at LOG_LEVEL info. The PASS/FAIL target
 *                is measured against this one.
 *   probot mw    Probot's createNodeMiddleware alone on node:http (no server
 *                handlers, no request log): a stricter reference, printed beside.
 * All three servers log as Probot's getLog does (LOG_FORMAT=json) to stdout,
 * which is /dev/null here. At info fixloop writes one line per processed
 * delivery (from its inbox thread), none per request.
 *
 * Each server runs in its own child process; the load generator (autocannon)
 * stays here. All get the same signed ~19 KB `workflow_run` delivery with a
 * unique X-GitHub-Delivery per request (time-based, as GitHub's are: see
 * deliveryIds), at 1, 10 and 50 connections, for a
 * fixed time per level after a warm-up. A level is run in a few short turns
 * whose order rotates, so background load on the machine falls on all alike.
 * After each fixloop turn the bench waits until its inbox is empty, so the
 * processing fixloop defers under load does not run in another one's turn.
 *
 * The delivery is a completed, failed run (conclusion "failure", attempt 1,
 * not on a fix branch, one PR): every delivery is stored in `deliveries` and
 * `ci_runs` (the same run id with the same content, so after the first the
 * stored row is updated in place, as for a redelivery; a real run's later
 * events change its status) and asks for a fix job; the job's dedup key is the
 * same for all of them, so the first enqueues it and every later one finds it
 * by that key (one read, no insert). The run carries its PR number, so no PR
 * lookup by SHA is made. fixloop's fix worker is not started.
 *
 * At the end of each turn no new requests are started and the ones in flight
 * are answered (nothing is cut off), so after each fixloop level the rows
 * added to `deliveries` must equal the 2xx answers the load generator got.
 *
 * Knobs (environment): BENCH_SECONDS (5), BENCH_ROUNDS (4), BENCH_WARMUP_SECONDS (3),
 * BENCH_CONNECTIONS ("1,10,50"), LOG_LEVEL (info), BENCH_CPU_PROF=1 (CPU
 * profiles of the three servers into bench/out/cpu-<server>/), BENCH_INBOX_THREAD=0
 * (fixloop processes on the request thread too), BENCH_TRANSACTION_MS
 * (the processor's batch transaction length; 0: one delivery at a time),
 * BENCH_DELIVERY_IDS (github: time-based like GitHub's, the default; random:
 * UUIDv4).
 *
 * "cpu µs" (the server process's user + system CPU per answered request) is
 * the steadier figure on a shared machine; req/s and latency move with
 * whatever else runs. "main µs" is the part of it spent on the thread that
 * answers HTTP (Linux's /proc/thread-self, 10 ms ticks): fixloop's
 * acknowledgements are bounded by that thread, its processing runs on another.
 */
import { fork, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { DEFAULT_WEBHOOK_PATH } from "../src/http/webhooks.js";
import type { BenchServerKind, ChildMessage, ParentMessage, ServerStats } from "./ingest-server.js";
import { deliveryHeaders, loadBenchDelivery, type SignedDelivery } from "./payloads.js";

const TARGET = { connections: 10, ratio: 0.75, p99Ms: 50 } as const;
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT_DIR = fileURLToPath(new URL("./out/", import.meta.url));
/** autocannon's own stop is only a safety net; a turn ends by draining (see runLoad). */
const SAFETY_SECONDS = 30;

function numberFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

const SECONDS = numberFromEnv("BENCH_SECONDS", 5);
const WARMUP_SECONDS = numberFromEnv("BENCH_WARMUP_SECONDS", 3);
const ROUNDS = Math.max(1, Math.round(numberFromEnv("BENCH_ROUNDS", 4)));
const LEVELS = (process.env.BENCH_CONNECTIONS ?? "1,10,50").split(",").map((s) => Number(s.trim()));
if (LEVELS.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error("BENCH_CONNECTIONS must list positive integers");
const CPU_PROF = process.env.BENCH_CPU_PROF === "1";
/** Length of the sustained run (acknowledged and processed per second, then the catch-up). 0 skips it. */
const SUSTAIN_SECONDS = Number(process.env.BENCH_SUSTAIN_SECONDS ?? 30);
const DELIVERY_IDS = process.env.BENCH_DELIVERY_IDS ?? "github";
if (DELIVERY_IDS !== "github" && DELIVERY_IDS !== "random") throw new Error('BENCH_DELIVERY_IDS must be "github" or "random"');

/** 100-ns intervals from the UUID epoch (1582-10-15) to the Unix epoch. */
const UUID_EPOCH_OFFSET = 0x01b21dd213814000n;

/**
 * X-GitHub-Delivery ids as GitHub sends them: version-1 (time-based) UUIDs,
 * e.g. 72d3162e-cc78-11e3-81ab-4c9367dc0958 in GitHub's "Delivery headers"
 * documentation, whose first field is the low 32 bits of the time. Ids sent a
 * moment apart therefore sort next to each other, and so do their entries in
 * the inbox's index on the delivery id. Random (v4) ids would land each new
 * entry on a random leaf of that index, one more page read and written per
 * delivery, which real traffic does not cost (BENCH_DELIVERY_IDS=random shows
 * how much). Strictly increasing within this process, so never repeated.
 */
function deliveryIds(): () => string {
  if (DELIVERY_IDS === "random") return randomUUID;
  const clockSequence = randomBytes(2);
  clockSequence[0] = (clockSequence[0] & 0x3f) | 0x80; // the RFC 4122 variant
  const clockSequenceAndNode = `${clockSequence.toString("hex")}-${randomBytes(6).toString("hex")}`;
  let last = 0n;
  return () => {
    const now = BigInt(Date.now()) * 10_000n + UUID_EPOCH_OFFSET;
    last = now > last ? now : last + 1n;
    const timeLow = (last & 0xffff_ffffn).toString(16).padStart(8, "0");
    const timeMid = ((last >> 32n) & 0xffffn).toString(16).padStart(4, "0");
    const versionAndTimeHigh = (((last >> 48n) & 0x0fffn) | 0x1000n).toString(16).padStart(4, "0");
    return `${timeLow}-${timeMid}-${versionAndTimeHigh}-${clockSequenceAndNode}`;
  };
}
const nextDeliveryId = deliveryIds();
const TARGET_PROCESSED_PER_SEC = 2_000;
/** Probot's own default for `probot run`; fixloop and both baselines get the same. */
const LOG_LEVEL = process.env.LOG_LEVEL || "info";
const LABELS: Record<BenchServerKind, string> = { "probot-run": "probot run", "probot-mw": "probot mw", fixloop: "fixloop" };

// ---- child servers -----------------------------------------------------------

interface BenchServer {
  kind: BenchServerKind;
  url: string;
  child: ChildProcess;
}

function nextMessage<T extends ChildMessage["type"]>(child: ChildProcess, type: T): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ChildMessage) => {
      if (message.type !== type) return;
      cleanup();
      resolve(message as Extract<ChildMessage, { type: T }>);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`bench server exited (code ${code}) while waiting for "${type}"`));
    };
    const cleanup = () => {
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

async function startServer(kind: BenchServerKind, env: Record<string, string>): Promise<BenchServer> {
  const profileDir = `${OUT_DIR}cpu-${kind}`;
  const profile = CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  if (CPU_PROF) mkdirSync(profileDir, { recursive: true });
  const child = fork(fileURLToPath(new URL("./ingest-server.ts", import.meta.url)), [kind], {
    cwd: ROOT,
    execArgv: ["--import", "tsx", ...profile],
    env: { ...process.env, ...env },
    // stdout is where Probot's logger writes: /dev/null, so log lines are made and written but shown nowhere.
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const ready = await nextMessage(child, "ready");
  return { kind, url: ready.url, child };
}

async function serverStats(server: BenchServer): Promise<ServerStats> {
  const reply = nextMessage(server.child, "stats");
  server.child.send({ type: "stats" } satisfies ParentMessage);
  const { type: _type, ...stats } = await reply;
  return stats;
}

/**
 * Asks the server for its counts until every delivery it stored is processed,
 * or a minute passed; returns the last counts.
 */
async function untilProcessed(server: BenchServer, from: ServerStats): Promise<ServerStats> {
  const deadline = performance.now() + CATCH_UP_LIMIT_SECONDS * 1000;
  let stats = from;
  while (stats.deliveries! - stats.processed! > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    stats = await serverStats(server);
  }
  return stats;
}

/**
 * After a turn: fixloop's processing deferred under load must not run during
 * the next server's turn and slow that one down. Its CPU still counts in
 * fixloop's cpu µs, which covers the whole level.
 */
async function settleBacklog(server: BenchServer): Promise<void> {
  if (server.kind === "fixloop") await untilProcessed(server, await serverStats(server));
}

async function stopServer(server: BenchServer): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => server.child.once("exit", () => resolve()));
  server.child.send({ type: "stop" } satisfies ParentMessage);
  await exited;
}

// ---- load ----------------------------------------------------------------------

/** What one stretch of load against one server saw. */
interface LoadSlice {
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  latenciesMs: number[];
}

interface LoadResult {
  connections: number;
  seconds: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** The server process's CPU time (user + system) per request answered: what the work costs, whatever else runs on the machine. */
  cpuUsPerRequest: number;
  /** Of which the request (main) thread's; NaN when the platform cannot tell. */
  requestThreadCpuUsPerRequest: number;
}

/** autocannon 9's client keeps these as plain fields; lowering the cap lets in-flight requests finish. */
interface DrainableClient extends autocannon.Client {
  reqsMade: number;
  responseMax: number | undefined;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

/**
 * Drives `connections` keep-alive connections for `seconds`, then stops
 * starting requests and waits for the answers still due, so every request
 * sent is either answered or counted as an error.
 */
function runLoad(url: string, delivery: SignedDelivery, connections: number, seconds: number): Promise<LoadSlice> {
  const latenciesMs: number[] = [];
  const clients: DrainableClient[] = [];
  let ok = 0;
  let non2xx = 0;
  let lastAnswerAt = 0;
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    const drainTimer = setTimeout(() => {
      for (const client of clients) client.responseMax = client.reqsMade;
    }, seconds * 1000);
    autocannon(
      {
        url: `${url}${DEFAULT_WEBHOOK_PATH}`,
        method: "POST",
        connections,
        pipelining: 1,
        duration: seconds + SAFETY_SECONDS,
        timeout: 10,
        sampleInt: 100,
        headers: deliveryHeaders(delivery, "set-per-request"),
        body: delivery.body,
        requests: [
          {
            setupRequest: (request) => {
              request.headers = { ...request.headers, "x-github-delivery": nextDeliveryId() };
              return request;
            },
          },
        ],
        setupClient: (client) => {
          clients.push(client as DrainableClient);
          client.on("response", (status: number, _bytes: number, responseTime: number) => {
            lastAnswerAt = performance.now();
            latenciesMs.push(responseTime);
            if (status >= 200 && status < 300) ok += 1;
            else non2xx += 1;
          });
        },
      },
      (error, result) => {
        clearTimeout(drainTimer);
        if (error) return reject(error);
        const elapsed = ((lastAnswerAt || performance.now()) - startedAt) / 1000;
        resolve({ ok, non2xx, errors: result.errors, timeouts: result.timeouts, seconds: elapsed, latenciesMs });
      },
    );
  });
}

function summarise(connections: number, slices: LoadSlice[], before: ServerStats, after: ServerStats): LoadResult {
  const sum = (pick: (s: LoadSlice) => number) => slices.reduce((total, slice) => total + pick(slice), 0);
  const latencies = slices.flatMap((s) => s.latenciesMs).sort((a, b) => a - b);
  const seconds = sum((s) => s.seconds);
  const ok = sum((s) => s.ok);
  return {
    connections,
    seconds,
    ok,
    non2xx: sum((s) => s.non2xx),
    errors: sum((s) => s.errors),
    timeouts: sum((s) => s.timeouts),
    reqPerSec: ok / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuUsPerRequest: (after.cpuMicros - before.cpuMicros) / (after.answered - before.answered),
    requestThreadCpuUsPerRequest:
      after.requestThreadCpuMicros === null || before.requestThreadCpuMicros === null
        ? Number.NaN
        : (after.requestThreadCpuMicros - before.requestThreadCpuMicros) / (after.answered - before.answered),
  };
}

// ---- report --------------------------------------------------------------------

interface LevelReport {
  connections: number;
  results: Record<BenchServerKind, LoadResult>;
  /** Rows fixloop added to `deliveries` during the level. */
  stored: number;
  /** fixloop req/s over each baseline's req/s. */
  ratio: { run: number; mw: number };
}

const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
const pad = (value: string | number, width: number) => String(value).padStart(width);

function resultLine(level: number, kind: BenchServerKind, r: LoadResult, stored: string): string {
  return [
    pad(level, 11),
    `  ${LABELS[kind].padEnd(12)}`,
    pad(fmt(r.reqPerSec, 1), 9),
    pad(fmt(r.p50Ms, 2), 9),
    pad(fmt(r.p99Ms, 2), 9),
    pad(fmt(r.cpuUsPerRequest, 0), 9),
    pad(fmt(r.requestThreadCpuUsPerRequest, 0), 9),
    pad(r.ok, 8),
    pad(r.non2xx, 8),
    pad(r.errors, 7),
    pad(stored, 8),
  ].join("");
}

function problems(kind: BenchServerKind, r: LoadResult): string | null {
  return r.non2xx > 0 || r.errors > 0 ? `${LABELS[kind]}: ${r.non2xx} non-2xx answers and ${r.errors} errors` : null;
}

function lostOrExtra(level: LevelReport): string | null {
  const found = SERVER_ORDER.map((kind) => problems(kind, level.results[kind])).filter((p): p is string => p !== null);
  if (level.stored !== level.results.fixloop.ok) found.push(`${level.stored} rows stored for ${level.results.fixloop.ok} deliveries acknowledged`);
  return found.length > 0 ? found.join("; ") : null;
}

interface SustainedReport {
  connections: number;
  seconds: number;
  acknowledged: number;
  stored: number;
  acknowledgedPerSec: number;
  /** Deliveries settled from the start of the load until the backlog was gone, per second of that time. */
  processedPerSec: number;
  /** Deliveries waiting when the load stopped, and how long the processor took to finish them. */
  backlogAtStop: number;
  catchUpSeconds: number;
  backlogAfterCatchUp: number;
}

const CATCH_UP_LIMIT_SECONDS = 60;

/**
 * fixloop alone at the target concurrency for SUSTAIN_SECONDS with its
 * processor running, then no load until the inbox is empty (or a minute
 * passed): acknowledged vs stored, and how many deliveries per second the
 * processor settled over the whole stretch.
 */
async function runSustained(server: BenchServer, delivery: SignedDelivery): Promise<SustainedReport> {
  const before = await serverStats(server);
  const startedAt = performance.now();
  const load = await runLoad(server.url, delivery, TARGET.connections, SUSTAIN_SECONDS);
  const atStop = await serverStats(server);
  const stopAt = performance.now();
  const now = await untilProcessed(server, atStop);
  const doneAt = performance.now();
  const report: SustainedReport = {
    connections: TARGET.connections,
    seconds: load.seconds,
    acknowledged: load.ok,
    stored: atStop.deliveries! - before.deliveries!,
    acknowledgedPerSec: load.ok / load.seconds,
    processedPerSec: (now.processed! - before.processed!) / ((doneAt - startedAt) / 1000),
    backlogAtStop: atStop.deliveries! - atStop.processed!,
    catchUpSeconds: (doneAt - stopAt) / 1000,
    backlogAfterCatchUp: now.deliveries! - now.processed!,
  };
  console.log(
    `\nsustained: fixloop alone, ${report.connections} connections for ${fmt(report.seconds, 1)} s with the inbox processor running\n` +
      `  acknowledged ${report.acknowledged} (${fmt(report.acknowledgedPerSec, 0)}/s), stored ${report.stored}` +
      `${report.stored === report.acknowledged ? " = acknowledged" : "  MISMATCH"}\n` +
      `  backlog when the load stopped ${report.backlogAtStop}, gone ${fmt(report.catchUpSeconds, 1)} s later` +
      `${report.backlogAfterCatchUp > 0 ? ` (NOT gone: ${report.backlogAfterCatchUp} left after ${CATCH_UP_LIMIT_SECONDS} s)` : ""}\n` +
      `  processed ${fmt(report.processedPerSec, 0)} deliveries/s sustained over load + catch-up (target ≥ ${TARGET_PROCESSED_PER_SEC}/s)`,
  );
  return report;
}

/** The order of the first turn; later turns rotate it. */
const SERVER_ORDER: BenchServerKind[] = ["probot-run", "fixloop", "probot-mw"];

async function main(): Promise<void> {
  const secret = randomBytes(20).toString("hex");
  const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  // What each server reads, as `probot run` and `npm start` read their environment.
  const env = {
    APP_ID: "1",
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: secret,
    WEBHOOK_PATH: DEFAULT_WEBHOOK_PATH,
    LOG_LEVEL,
    LOG_FORMAT: "json",
  };
  const delivery = loadBenchDelivery(secret);

  const servers = await Promise.all(SERVER_ORDER.map((kind) => startServer(kind, env)));
  const byKind = Object.fromEntries(servers.map((s) => [s.kind, s])) as Record<BenchServerKind, BenchServer>;
  const stopAll = () => Promise.all(servers.map(stopServer));
  try {
    console.log(
      `ingest benchmark: POST ${DEFAULT_WEBHOOK_PATH}, ${delivery.event} ${delivery.body.length.toLocaleString("en")} bytes ` +
        `(completed, failure: stored + fix job looked up by dedup key), signed, unique delivery ids (${DELIVERY_IDS === "github" ? "time-based, as GitHub's" : "random UUIDv4"}); node ${process.version}`,
    );
    console.log(`LOG_LEVEL=${LOG_LEVEL} LOG_FORMAT=json for all three, stdout to /dev/null`);
    console.log(`  probot run  ${byKind["probot-run"].url}  Probot's run(): Server + pino-http request log, no-op onAny app  (the target baseline)`);
    console.log(`  probot mw   ${byKind["probot-mw"].url}  createNodeMiddleware on node:http, no-op onAny app, no request log`);
    console.log(`  fixloop     ${byKind.fixloop.url}  fixloop's server + app, fresh temp libSQL file; logs one line per processed delivery at info`);
    console.log(
      `${WARMUP_SECONDS} s warm-up each at ${TARGET.connections} connections, then ${SECONDS} s per server and level ` +
        `in ${ROUNDS} turns of rotating order\n`,
    );

    for (const server of servers) {
      await runLoad(server.url, delivery, TARGET.connections, WARMUP_SECONDS);
      await settleBacklog(server);
    }

    console.log(
      `${pad("connections", 11)}  ${"server".padEnd(12)}${pad("req/s", 9)}${pad("p50 ms", 9)}${pad("p99 ms", 9)}${pad("cpu µs", 9)}${pad("main µs", 9)}` +
        `${pad("2xx", 8)}${pad("non-2xx", 8)}${pad("errors", 7)}${pad("stored", 8)}`,
    );
    const levels: LevelReport[] = [];
    const sliceSeconds = SECONDS / ROUNDS;
    const allStats = async () => {
      const stats = await Promise.all(servers.map(serverStats));
      return Object.fromEntries(servers.map((s, i) => [s.kind, stats[i]])) as Record<BenchServerKind, ServerStats>;
    };
    for (const connections of LEVELS) {
      // Short turns in rotating order: load from elsewhere on the machine hits all alike.
      const slices = Object.fromEntries(SERVER_ORDER.map((kind) => [kind, [] as LoadSlice[]])) as Record<BenchServerKind, LoadSlice[]>;
      const before = await allStats();
      for (let round = 0; round < ROUNDS; round++) {
        const order = [...servers.slice(round % servers.length), ...servers.slice(0, round % servers.length)];
        for (const server of round % 2 === 0 ? order : order.reverse()) {
          slices[server.kind].push(await runLoad(server.url, delivery, connections, sliceSeconds));
          await settleBacklog(server);
        }
      }
      const after = await allStats();
      const results = Object.fromEntries(
        SERVER_ORDER.map((kind) => [kind, summarise(connections, slices[kind], before[kind], after[kind])]),
      ) as Record<BenchServerKind, LoadResult>;
      const level: LevelReport = {
        connections,
        results,
        stored: after.fixloop.deliveries! - before.fixloop.deliveries!,
        ratio: {
          run: results.fixloop.reqPerSec / results["probot-run"].reqPerSec,
          mw: results.fixloop.reqPerSec / results["probot-mw"].reqPerSec,
        },
      };
      levels.push(level);
      console.log(resultLine(connections, "probot-run", results["probot-run"], "-"));
      console.log(resultLine(connections, "probot-mw", results["probot-mw"], "-"));
      console.log(resultLine(connections, "fixloop", results.fixloop, String(level.stored)));
      const mismatch = lostOrExtra(level);
      const cpu = (kind: BenchServerKind) => results.fixloop.cpuUsPerRequest / results[kind].cpuUsPerRequest;
      console.log(
        `${pad("", 13)}fixloop/probot run ${fmt(level.ratio.run, 2)}× req/s (${fmt(cpu("probot-run"), 1)}× cpu), ` +
          `fixloop/probot mw ${fmt(level.ratio.mw, 2)}× req/s (${fmt(cpu("probot-mw"), 1)}× cpu)` +
          `${mismatch ? `   MISMATCH: ${mismatch}` : "   stored = acknowledged"}`,
      );
    }

    const sustained = SUSTAIN_SECONDS > 0 ? await runSustained(byKind.fixloop, delivery) : null;

    const final = await serverStats(byKind.fixloop);
    const statuses = Object.entries(final.byStatus).map(([status, n]) => `${status} ${n}`).join(", ");
    console.log(`\ncpu µs = server CPU time (user + system) per request answered, from the server process itself; main µs = of which the HTTP (main) thread's`);
    console.log(`fixloop deliveries table after the run (warm-up included): ${final.deliveries} rows (${statuses})`);

    const target = levels.find((l) => l.connections === TARGET.connections);
    const failures: string[] = [];
    if (!target) failures.push(`no level at ${TARGET.connections} connections was run`);
    else {
      if (!(target.ratio.run >= TARGET.ratio)) failures.push(`ratio ${fmt(target.ratio.run, 2)}× < ${TARGET.ratio}×`);
      if (!(target.results.fixloop.p99Ms <= TARGET.p99Ms)) failures.push(`p99 ${fmt(target.results.fixloop.p99Ms, 2)} ms > ${TARGET.p99Ms} ms`);
    }
    for (const level of levels) {
      const mismatch = lostOrExtra(level);
      if (mismatch) failures.push(`at ${level.connections} connections: ${mismatch}`);
    }
    if (sustained) {
      if (!(sustained.processedPerSec >= TARGET_PROCESSED_PER_SEC)) {
        failures.push(`sustained processing ${fmt(sustained.processedPerSec, 0)}/s < ${TARGET_PROCESSED_PER_SEC}/s`);
      }
      if (sustained.backlogAfterCatchUp > 0) failures.push(`${sustained.backlogAfterCatchUp} deliveries still unprocessed after the catch-up window`);
      if (sustained.stored !== sustained.acknowledged) failures.push(`sustained run: ${sustained.stored} stored for ${sustained.acknowledged} acknowledged`);
    }
    const summary = target
      ? `at ${TARGET.connections} connections fixloop ${fmt(target.results.fixloop.reqPerSec, 0)} req/s = ` +
        `${fmt(target.ratio.run, 2)}× probot run (target ≥ ${TARGET.ratio}×; ${fmt(target.ratio.mw, 2)}× the middleware alone), ` +
        `p99 ${fmt(target.results.fixloop.p99Ms, 2)} ms (target ≤ ${TARGET.p99Ms} ms)`
      : "";
    if (failures.length === 0) {
      console.log(`PASS: ${summary}; every acknowledged delivery stored, none extra, at every level`);
    } else {
      console.log(`FAIL: ${failures.join("; ")}${summary ? ` (${summary})` : ""}`);
      process.exitCode = 1;
    }

    mkdirSync(OUT_DIR, { recursive: true });
    const report = {
      at: new Date().toISOString(),
      node: process.version,
      bytes: delivery.body.length,
      seconds: SECONDS,
      logLevel: LOG_LEVEL,
      targetBaseline: "probot-run",
      levels,
      sustained,
      pass: failures.length === 0,
      failures,
    };
    writeFileSync(`${OUT_DIR}ingest.json`, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
