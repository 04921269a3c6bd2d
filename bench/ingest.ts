/**
 * `npm run bench:ingest`: fixloop's webhook ingest against a bare Probot app
 * with a no-op handler, in the same run, on loopback.
 *
 * Each server runs in its own child process (bench/ingest-server.ts); the
 * load generator (autocannon) stays here. Both get the same signed ~19 KB
 * `workflow_run` delivery with a unique X-GitHub-Delivery per request, at 1,
 * 10 and 50 connections, for a fixed time per level after a warm-up. A
 * level is run in a few short alternating turns (bare, fixloop, fixloop,
 * bare, …) so background load on the machine falls on both alike.
 *
 * At the end of each turn no new requests are started and the ones in flight
 * are answered (nothing is cut off), so after each fixloop level the rows
 * added to `deliveries` must equal the 2xx answers the load generator got.
 *
 * Knobs (environment): BENCH_SECONDS (5), BENCH_ROUNDS (4), BENCH_WARMUP_SECONDS (3),
 * BENCH_CONNECTIONS ("1,10,50"), BENCH_CPU_PROF=1 (CPU profiles of both
 * servers into bench/out/cpu-<server>/).
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
    stdio: ["ignore", "inherit", "inherit", "ipc"],
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
              request.headers = { ...request.headers, "x-github-delivery": randomUUID() };
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
  };
}

// ---- report --------------------------------------------------------------------

interface LevelReport {
  connections: number;
  bare: LoadResult;
  fixloop: LoadResult;
  stored: number;
  ratio: number;
}

const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
const pad = (value: string | number, width: number) => String(value).padStart(width);

function resultLine(level: number, name: string, r: LoadResult, stored: string): string {
  return [
    pad(level, 11),
    `  ${name.padEnd(12)}`,
    pad(fmt(r.reqPerSec, 1), 9),
    pad(fmt(r.p50Ms, 2), 9),
    pad(fmt(r.p99Ms, 2), 9),
    pad(fmt(r.cpuUsPerRequest, 0), 9),
    pad(r.ok, 8),
    pad(r.non2xx, 8),
    pad(r.errors, 7),
    pad(stored, 8),
  ].join("");
}

function lostOrExtra(level: LevelReport): string | null {
  const { fixloop, stored } = level;
  if (fixloop.non2xx > 0 || fixloop.errors > 0) return `${fixloop.non2xx} non-2xx answers and ${fixloop.errors} errors`;
  if (stored !== fixloop.ok) return `${stored} rows stored for ${fixloop.ok} deliveries acknowledged`;
  return null;
}

async function main(): Promise<void> {
  const secret = randomBytes(20).toString("hex");
  const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const env = { BENCH_WEBHOOK_SECRET: secret, BENCH_PRIVATE_KEY: privateKey };
  const delivery = loadBenchDelivery(secret);

  const servers = await Promise.all([startServer("bare", env), startServer("fixloop", env)]);
  const [bare, fixloop] = servers;
  const stopAll = () => Promise.all(servers.map(stopServer));
  try {
    console.log(
      `ingest benchmark: POST ${DEFAULT_WEBHOOK_PATH}, ${delivery.event} ${delivery.body.length.toLocaleString("en")} bytes, ` +
        `signed, unique delivery ids; node ${process.version}`,
    );
    console.log(`bare probot ${bare.url}   fixloop ${fixloop.url} (fresh temp libSQL file)`);
    console.log(
      `${WARMUP_SECONDS} s warm-up each at ${TARGET.connections} connections, then ${SECONDS} s per server and level ` +
        `in ${ROUNDS} alternating turns\n`,
    );

    for (const server of servers) await runLoad(server.url, delivery, TARGET.connections, WARMUP_SECONDS);

    console.log(
      `${pad("connections", 11)}  ${"server".padEnd(12)}${pad("req/s", 9)}${pad("p50 ms", 9)}${pad("p99 ms", 9)}${pad("cpu µs", 9)}` +
        `${pad("2xx", 8)}${pad("non-2xx", 8)}${pad("errors", 7)}${pad("stored", 8)}`,
    );
    const levels: LevelReport[] = [];
    const sliceSeconds = SECONDS / ROUNDS;
    for (const connections of LEVELS) {
      // Short turns, alternating who goes first: load from elsewhere on the machine hits both alike.
      const slices: Record<BenchServerKind, LoadSlice[]> = { bare: [], fixloop: [] };
      const before = { bare: await serverStats(bare), fixloop: await serverStats(fixloop) };
      for (let round = 0; round < ROUNDS; round++) {
        for (const server of round % 2 === 0 ? [bare, fixloop] : [fixloop, bare]) {
          slices[server.kind].push(await runLoad(server.url, delivery, connections, sliceSeconds));
        }
      }
      const after = { bare: await serverStats(bare), fixloop: await serverStats(fixloop) };
      const bareResult = summarise(connections, slices.bare, before.bare, after.bare);
      const fixloopResult = summarise(connections, slices.fixloop, before.fixloop, after.fixloop);
      const level: LevelReport = {
        connections,
        bare: bareResult,
        fixloop: fixloopResult,
        stored: after.fixloop.deliveries! - before.fixloop.deliveries!,
        ratio: fixloopResult.reqPerSec / bareResult.reqPerSec,
      };
      levels.push(level);
      console.log(resultLine(connections, "bare probot", level.bare, "-"));
      console.log(resultLine(connections, "fixloop", level.fixloop, String(level.stored)));
      const mismatch = lostOrExtra(level);
      console.log(`${pad("", 13)}ratio fixloop/bare ${fmt(level.ratio, 2)}×${mismatch ? `   MISMATCH: ${mismatch}` : "   stored = acknowledged"}`);
    }

    const final = await serverStats(fixloop);
    const statuses = Object.entries(final.byStatus).map(([status, n]) => `${status} ${n}`).join(", ");
    console.log(`\ncpu µs = server CPU time (user + system) per request answered, from the server process itself`);
    console.log(`fixloop deliveries table after the run (warm-up included): ${final.deliveries} rows (${statuses})`);

    const target = levels.find((l) => l.connections === TARGET.connections);
    const failures: string[] = [];
    if (!target) failures.push(`no level at ${TARGET.connections} connections was run`);
    else {
      if (!(target.ratio >= TARGET.ratio)) failures.push(`ratio ${fmt(target.ratio, 2)}× < ${TARGET.ratio}×`);
      if (!(target.fixloop.p99Ms <= TARGET.p99Ms)) failures.push(`p99 ${fmt(target.fixloop.p99Ms, 2)} ms > ${TARGET.p99Ms} ms`);
    }
    for (const level of levels) {
      const mismatch = lostOrExtra(level);
      if (mismatch) failures.push(`at ${level.connections} connections: ${mismatch}`);
    }
    const summary = target
      ? `at ${TARGET.connections} connections fixloop ${fmt(target.fixloop.reqPerSec, 0)} req/s = ${fmt(target.ratio, 2)}× bare Probot ` +
        `(target ≥ ${TARGET.ratio}×), p99 ${fmt(target.fixloop.p99Ms, 2)} ms (target ≤ ${TARGET.p99Ms} ms)`
      : "";
    if (failures.length === 0) {
      console.log(`PASS: ${summary}; every acknowledged delivery stored, none extra, at every level`);
    } else {
      console.log(`FAIL: ${failures.join("; ")}${summary ? ` (${summary})` : ""}`);
      process.exitCode = 1;
    }

    mkdirSync(OUT_DIR, { recursive: true });
    const report = { at: new Date().toISOString(), node: process.version, bytes: delivery.body.length, seconds: SECONDS, levels, pass: failures.length === 0, failures };
    writeFileSync(`${OUT_DIR}ingest.json`, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
