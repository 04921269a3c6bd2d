/**
 * `npm run bench:context`: quality on the labelled corpus of real logs against
 * the tail / grep / diff-with-passing baselines (bench/context-corpus.ts, skip
 * with --no-corpus), then throughput and memory of the failure-context builder
 * on a large GitHub Actions job log, without and with a passing log of the
 * same size as baseline (--no-baseline skips the second).
 *
 * Generates a ~50 MB log in a temp dir (setup steps, a lint step's flood of
 * warnings, thousands of passing tests with coloured output, `[ERROR]` lines that
 * passing tests log, React warnings with stacks of long paths, long lines past the
 * 4,096 characters kept, one printed credential, and a real failure near the end),
 * then reads it from a
 * file stream several times and reports MB/s (median, and the best run) plus peak RSS and heap
 * growth while reading. Each speed configuration runs in a child process of its own,
 * so its RSS is the builder's, not the corpus's or the generator's; with a baseline it
 * reports the baseline read, the failing log against it, and both together. Options: --mb <size> (default 50), --runs <n> (default 5),
 * --keep (leave the generated log in place for a look with `fixloop context`).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { BaselineLines, buildFailureContext, estimateTokens } from "../src/fix/context/index.js";

const args = process.argv.slice(2);
const argument = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  const value = at >= 0 ? Number(args[at + 1]) : fallback;
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const TARGET_MB = argument("mb", 50);
const RUNS = argument("runs", 5);
const KEEP = args.includes("--keep");
const CORPUS = !args.includes("--no-corpus");
const WITH_BASELINE = !args.includes("--no-baseline");
const E = "\x1b";

/** A handle on the garbage collector without a command-line flag, to tell retained memory from garbage. */
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** Deterministic pseudo-random numbers, so every run of the bench reads the same log. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

class TimestampedWriter {
  private ms = Date.UTC(2024, 4, 1, 12, 0, 0);
  private buffer: string[] = [];
  private bufferChars = 0;
  bytes = 0;

  constructor(private readonly out: NodeJS.WritableStream) {}

  async line(text: string): Promise<void> {
    this.ms += 3;
    const stamp = new Date(this.ms).toISOString().replace("Z", "0000Z");
    const line = `${stamp} ${text}\n`;
    this.buffer.push(line);
    this.bufferChars += line.length;
    if (this.bufferChars >= 1 << 16) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const chunk = this.buffer.join("");
    this.buffer = [];
    this.bufferChars = 0;
    this.bytes += Buffer.byteLength(chunk);
    if (!this.out.write(chunk)) await once(this.out, "drain");
  }
}

/** `passing`: the same job's green run (another seed, no failure at the end), to serve as baseline. */
async function generateLog(path: string, targetBytes: number, passing = false): Promise<void> {
  const out = createWriteStream(path);
  const w = new TimestampedWriter(out);
  const random = rng(passing ? 7 : 42);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];

  await w.line("\uFEFFCurrent runner version: '2.316.1'");
  for (const line of ["##[group]Operating System", "Ubuntu", "22.04.4", "LTS", "##[endgroup]", "Complete job name: test"]) await w.line(line);
  for (const line of ["##[group]Run actions/checkout@v4", "with:", "  repository: acme/widgets", "  token: ***", "##[endgroup]", "Syncing repository: acme/widgets"]) await w.line(line);
  for (const line of ["##[group]Run npm ci", "npm ci", "shell: /usr/bin/bash -e {0}", "##[endgroup]"]) await w.line(line);
  for (let i = 0; i < 3000; i += 1) {
    await w.line(`npm WARN deprecated ${pick(["inflight@1.0.6", "glob@7.2.3", "rimraf@3.0.2", "abab@2.0.6"])}: This module is not supported, and leaks memory.`);
  }
  await w.line("added 1412 packages, and audited 1413 packages in 19s");
  // A lint step that passes with warnings: thousands of `line:col  warning` lines, which have the
  // shape of eslint's errors, under long absolute paths; the passing run prints them too.
  for (const line of ["##[group]Run npm run lint", "npm run lint", "shell: /usr/bin/bash -e {0}", "##[endgroup]", "> widgets@1.4.0 lint", "> eslint src"]) await w.line(line);
  const rules = ["@typescript-eslint/no-unused-vars", "@typescript-eslint/no-explicit-any", "react-hooks/exhaustive-deps", "import/no-cycle"];
  let warnings = 0;
  for (let file = 0; file < 1500; file += 1) {
    await w.line("");
    await w.line(`/home/runner/work/widgets/widgets/src/${pick(["cart", "pricing", "api", "auth", "search"])}/components/Feature${file}View.tsx`);
    const count = 1 + Math.floor(random() * 4);
    for (let k = 0; k < count; k += 1) {
      warnings += 1;
      await w.line(`  ${10 + Math.floor(random() * 300)}:${1 + Math.floor(random() * 40)}  ${E}[33mwarning${E}[39m  '${pick(["props", "state", "result", "item"])}${k}' is ${pick(["defined but never used", "assigned a value but never used"])}  ${E}[2m${pick(rules)}${E}[22m`);
    }
  }
  await w.line(`${E}[33m${E}[1m✖ ${warnings} problems (0 errors, ${warnings} warnings)${E}[22m${E}[39m`);
  for (const line of ["##[group]Run npm test", "npm test", "shell: /usr/bin/bash -e {0}", "env:", "  CI: true", "##[endgroup]", "> widgets@1.4.0 test", "> jest --ci"]) await w.line(line);

  const modules = ["cart", "pricing", "api", "auth", "search", "orders", "billing", "util", "report", "sync"];
  const failureReserve = 64 * 1024;
  let suite = 0;
  while (w.bytes + failureReserve < targetBytes) {
    suite += 1;
    const mod = pick(modules);
    await w.line(`${E}[1m${E}[32mPASS${E}[39m${E}[22m src/${mod}/feature${suite}.test.ts (${(random() * 3).toFixed(3)} s)`);
    await w.line(`  ${mod} feature ${suite}`);
    const tests = 5 + Math.floor(random() * 20);
    for (let t = 0; t < tests; t += 1) {
      await w.line(`    ${E}[32m✓${E}[39m ${E}[2m${pick(["handles", "rejects", "formats", "computes", "retries", "caches"])} case ${t} of feature ${suite} (${Math.floor(random() * 40)} ms)${E}[22m`);
    }
    if (suite % 7 === 0) {
      await w.line("  console.log");
      await w.line(`    fetched ${Math.floor(random() * 500)} rows from fixture db in ${Math.floor(random() * 90)}ms`);
      await w.line(`      at Object.<anonymous> (src/${mod}/feature${suite}.test.ts:${10 + Math.floor(random() * 80)}:13)`);
    }
    if (suite % 23 === 0) {
      // Error output of tests that pass anyway (expected-error paths): noise that looks like errors.
      await w.line("  console.error");
      await w.line(`    Error: simulated upstream failure for request ${suite}`);
      await w.line(`        at handle (/home/runner/work/widgets/widgets/src/${mod}/handler.ts:${20 + (suite % 50)}:11)`);
      await w.line("        at processTicksAndRejections (node:internal/process/task_queues:95:5)");
    }
    {
      // Integration tests whose code logs errors it recovers from (a retried connection, a rejected
      // input): `[ERROR]` lines printed by passing tests, in the passing run as well.
      const at = `2024-05-01 12:${String(suite % 60).padStart(2, "0")}:${String(Math.floor(random() * 60)).padStart(2, "0")}`;
      await w.line(`    [ERROR] ${at} ${pick(["db", "queue", "cache"])}: connect ECONNREFUSED 127.0.0.1:${5400 + (suite % 90)} (attempt ${1 + (suite % 3)} of 5, retrying)`);
      await w.line(`    [WARN] ${at} ${mod}: request ${suite} took ${Math.floor(random() * 900)} ms (slow threshold 250 ms)`);
      if (suite % 2 === 0) await w.line(`    [ERROR] ${at} ${mod}: validation failed for order ${suite}: "quantity" must be a positive integer`);
    }
    if (suite % 11 === 0) {
      // React's warnings through console.error, with a component stack of long paths.
      await w.line("  console.error");
      await w.line(`    Warning: An update to ${mod[0].toUpperCase()}${mod.slice(1)}Panel inside a test was not wrapped in act(...).`);
      for (let frame = 0; frame < 6; frame += 1) {
        await w.line(`        at ${pick(["Panel", "Row", "List", "Form", "Provider"])}${frame} (/home/runner/work/widgets/widgets/node_modules/react-dom/cjs/react-dom.development.js:${1000 + Math.floor(random() * 28000)}:${5 + frame})`);
      }
    }
    if (suite % 97 === 0) {
      // Long lines: a snapshot diff printed as one JSON line, and a minified bundle's source line past the 4,096 characters kept.
      const items = Array.from({ length: 60 }, (_, k) => `{"id":${suite * 100 + k},"sku":"W-${(suite * 7919 + k) % 100000}","price":${(random() * 100).toFixed(2)}}`);
      await w.line(`    snapshot ${suite}: [${items.join(",")}]`);
      if (suite % 291 === 0) await w.line(`    at eval (webpack:///./src/${mod}/bundle.min.js?${"x".repeat(8)}:1:${"a=function(b){return b*2};".repeat(400)})`);
    }
    if (suite % 50 === 0) {
      await w.line("(node:2817) ExperimentalWarning: VM Modules is an experimental feature and might change at any time");
      await w.line("(Use `node --trace-warnings ...` to show where the warning was created)");
    }
    if (suite === 500) {
      // A credential a test helper printed by mistake; it must not reach the output.
      await w.line(`    debug: using GITHUB_TOKEN=ghp_${"A1b2C3d4E5".repeat(3)}aBcDeF for fixture download`);
    }
  }

  if (passing) {
    for (const line of [`Test Suites: ${suite} passed, ${suite} total`, "Post job cleanup.", "Cleaning up orphan processes"]) await w.line(line);
    await w.flush();
    out.end();
    await once(out, "finish");
    return;
  }
  await w.line(`${E}[1m${E}[31mFAIL${E}[39m${E}[22m src/pricing/discount.test.ts`);
  for (const line of [
    "  discount",
    "    ✓ keeps full price without a code (2 ms)",
    "    ✕ applies a percentage code (5 ms)",
    "",
    "  ● discount › applies a percentage code",
    "",
    "    expect(received).toBe(expected) // Object.is equality",
    "",
    "    Expected: 90",
    "    Received: 100",
    "",
    "      18 |   it(\"applies a percentage code\", () => {",
    "      19 |     const total = applyCode(cart(100), \"TEN\");",
    "    > 20 |     expect(total).toBe(90);",
    "         |                   ^",
    "      21 |   });",
    "",
    "      at Object.<anonymous> (src/pricing/discount.test.ts:20:19)",
    "",
    `Test Suites: 1 failed, ${suite} passed, ${suite + 1} total`,
    "Tests:       1 failed, many passed",
    "##[error]Process completed with exit code 1.",
    "Post job cleanup.",
    "Cleaning up orphan processes",
  ]) {
    await w.line(line);
  }
  await w.flush();
  out.end();
  await once(out, "finish");
}

interface RunResult {
  /** Wall time of the whole run: the baseline read (if any) and the failing log. */
  seconds: number;
  /** Wall time of reading the baseline alone (0 without one). */
  baselineSeconds: number;
  /** CPU time of this process during the run (user + system): the steadier figure on a shared machine. */
  cpuSeconds: number;
  peakRss: number;
  peakHeapDelta: number;
  /** Heap still in use after the run and a full collection, the result included. */
  retainedHeapDelta: number;
}

type Context = Awaited<ReturnType<typeof buildFailureContext>>;

async function measure(path: string, baselinePath: string | null): Promise<{ result: RunResult; context: Context }> {
  collectGarbage();
  const baseHeap = process.memoryUsage().heapUsed;
  let peakRss = process.memoryUsage().rss;
  let peakHeap = baseHeap;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    if (usage.rss > peakRss) peakRss = usage.rss;
    if (usage.heapUsed > peakHeap) peakHeap = usage.heapUsed;
  }, 5);
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  // With a baseline, the time includes reading the passing log: what a fix job pays.
  const baseline = baselinePath ? await BaselineLines.fromLog(createReadStream(baselinePath)) : null;
  const baselineSeconds = (performance.now() - started) / 1000;
  const context = await buildFailureContext(createReadStream(path), { baseline });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  clearInterval(sampler);
  const usage = process.memoryUsage();
  peakRss = Math.max(peakRss, usage.rss);
  peakHeap = Math.max(peakHeap, usage.heapUsed);
  collectGarbage();
  const retainedHeapDelta = process.memoryUsage().heapUsed - baseHeap;
  return { result: { seconds, baselineSeconds, cpuSeconds, peakRss, peakHeapDelta: peakHeap - baseHeap, retainedHeapDelta }, context };
}

const mb = (bytes: number) => bytes / (1024 * 1024);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");

/**
 * The speed half, run in a child process of its own (see speedChild) so that its RSS is the
 * builder's and the runtime's, not the corpus's nor the log generator's.
 */
async function speedRuns(path: string, baselinePath: string | null, label: string): Promise<void> {
  console.log("");
  console.log(`---- ${label}`);
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--speed-child", path, baselinePath ?? "-", "--runs", String(RUNS)], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`the speed run (${label}) exited with ${code}`);
}

async function speedChild(path: string, baselinePath: string | null): Promise<void> {
  const size = (await stat(path)).size;
  const baselineSize = baselinePath ? (await stat(baselinePath)).size : 0;
  collectGarbage();
  const rssBefore = process.memoryUsage().rss;
  console.log(`child process ${process.pid}: RSS before reading ${mb(rssBefore).toFixed(0)} MB (the runtime and the builder's code)`);
  const results: RunResult[] = [];
  let last: Context | null = null;
  for (let run = 1; run <= RUNS; run += 1) {
    const { result, context } = await measure(path, baselinePath);
    results.push(result);
    last = context;
    const parts = [`run ${run}: ${result.seconds.toFixed(3)} s`];
    if (baselinePath) {
      const failingSeconds = result.seconds - result.baselineSeconds;
      parts.push(`baseline ${(mb(baselineSize) / result.baselineSeconds).toFixed(0)} MB/s, failing log ${(mb(size) / failingSeconds).toFixed(0)} MB/s, both ${(mb(size + baselineSize) / result.seconds).toFixed(0)} MB/s wall`);
    } else {
      parts.push(`${(mb(size) / result.seconds).toFixed(0)} MB/s wall`);
    }
    parts.push(`${(mb(size + baselineSize) / result.cpuSeconds).toFixed(0)} MB/s per CPU second`);
    parts.push(`peak RSS ${mb(result.peakRss).toFixed(0)} MB, peak heap +${mb(result.peakHeapDelta).toFixed(1)} MB, retained ${(Math.max(0, result.retainedHeapDelta) / 1024).toFixed(0)} KB`);
    console.log(parts.join(", "));
  }
  const wall = median(results.map((r) => mb(size + baselineSize) / r.seconds));
  const cpu = median(results.map((r) => mb(size + baselineSize) / r.cpuSeconds));
  const what = baselinePath ? `the failing log and its baseline (${mb(size + baselineSize).toFixed(0)} MB read)` : `the failing log (${mb(size).toFixed(0)} MB)`;
  console.log(`median throughput over ${RUNS} runs, ${what}: ${wall.toFixed(0)} MB/s wall, ${cpu.toFixed(0)} MB/s per CPU second; load average ${load()}`);
  // On a shared machine the best run is the steadiest figure to compare builds by (the others lose time to other processes).
  const best = Math.max(...results.map((r) => mb(size + baselineSize) / r.cpuSeconds));
  console.log(`best of ${RUNS} runs: ${Math.max(...results.map((r) => mb(size + baselineSize) / r.seconds)).toFixed(0)} MB/s wall, ${best.toFixed(0)} MB/s per CPU second`);
  if (baselinePath) {
    const failingOnly = median(results.map((r) => mb(size) / (r.seconds - r.baselineSeconds)));
    const baselineOnly = median(results.map((r) => mb(baselineSize) / r.baselineSeconds));
    const failingPerTotal = median(results.map((r) => mb(size) / r.seconds));
    console.log(`  of which: baseline read ${baselineOnly.toFixed(0)} MB/s, failing log against it ${failingOnly.toFixed(0)} MB/s; failing log bytes over the total time ${failingPerTotal.toFixed(0)} MB/s`);
  }
  const peakRss = Math.max(...results.map((r) => r.peakRss));
  console.log(`peak RSS: ${mb(peakRss).toFixed(0)} MB sampled, ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB process maxRSS (getrusage), ${mb(rssBefore).toFixed(0)} MB before reading`);
  console.log(`peak heap growth while reading: ${mb(Math.max(...results.map((r) => r.peakHeapDelta))).toFixed(1)} MB; heap retained after a run: ${(Math.max(0, ...results.map((r) => r.retainedHeapDelta)) / 1024).toFixed(0)} KB at most`);
  if (last) {
    console.log(`class=${last.class} step=${JSON.stringify(last.failingStep)} tokens≈${estimateTokens(last.context)} redactions=${last.redactions} truncated=${last.truncated} baseline_used=${last.baselineUsed} shared_lines_dropped=${last.sharedLinesDropped}`);
    console.log(`first error line: ${last.errorLines[0] ?? "-"}`);
    if (last.context.includes("ghp_")) throw new Error("a token reached the context");
  }
}

async function main(): Promise<void> {
  const child = args.indexOf("--speed-child");
  if (child >= 0) {
    const baseline = args[child + 2];
    await speedChild(args[child + 1], baseline && baseline !== "-" ? baseline : null);
    return;
  }
  // Loaded only here: the speed children never hold the corpus.
  if (CORPUS) await (await import("./context-corpus.js")).runCorpusBench();
  const dir = await mkdtemp(join(tmpdir(), "fixloop-bench-context-"));
  const path = join(dir, "job.log");
  const passingPath = join(dir, "passing.log");
  try {
    const generationStarted = performance.now();
    await generateLog(path, TARGET_MB * 1024 * 1024);
    if (WITH_BASELINE) await generateLog(passingPath, TARGET_MB * 1024 * 1024, true);
    const size = (await stat(path)).size;
    console.log("");
    console.log(`log: ${path} (${mb(size).toFixed(1)} MB${WITH_BASELINE ? `, and a passing log of ${mb((await stat(passingPath)).size).toFixed(1)} MB` : ""}, generated in ${((performance.now() - generationStarted) / 1000).toFixed(1)} s); load average ${load()}`);
    await speedRuns(path, null, "failing log alone");
    if (WITH_BASELINE) await speedRuns(path, passingPath, "failing log with the passing log as baseline");
  } finally {
    if (KEEP) console.log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

await main();
