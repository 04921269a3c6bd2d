/**
 * Cold start of the Lambda bundle with and without `--enable-source-maps`:
 * fresh Node processes, alternating, each importing the bundle and answering
 * one event (the webhook's /healthz: Probot starts, nothing else runs), then
 * formatting one error stack (the moment Node reads the source map). Prints
 * the medians, so serverless.yml can keep source maps only where they pay.
 *
 *   npm run package:lambda && npx tsx bench/lambda-cold-start.ts [dist/lambda] [runs]
 *
 * Needs `unzip`. Quote `uptime`'s load average with the figures.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const packageDir = resolve(process.argv[2] ?? "dist/lambda");
const runs = Number(process.argv[3] ?? 15);
const dir = mkdtempSync(join(tmpdir(), "fixloop-cold-"));
execFileSync("unzip", ["-q", join(packageDir, "fixloop.zip"), "-d", dir]);
const bundle = join(dir, "src", "lambda.mjs");

const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  APP_ID: "1",
  PRIVATE_KEY: privateKey,
  WEBHOOK_SECRET: "cold-start-bench-secret",
  LOG_LEVEL: "fatal",
  LOG_FORMAT: "json" as const,
  DATABASE_URL: "http://127.0.0.1:9",
  FIXLOOP_QUEUE: "sqs",
  FIXLOOP_SQS_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/fixloop-bench-jobs",
  AWS_REGION: "eu-west-1",
  NODE_NO_WARNINGS: "1",
};
const script = `
  const t0 = performance.now();
  const m = await import(${JSON.stringify(bundle)});
  const imported = performance.now();
  await m.webhook({ version: "2.0", rawPath: "/healthz", requestContext: { http: { method: "GET" } } });
  const answered = performance.now();
  void new Error("stack").stack;
  const stacked = performance.now();
  process.stdout.write(JSON.stringify({ importMs: imported - t0, firstEventMs: answered - t0, firstStackMs: stacked - answered }));
`;

type Sample = { importMs: number; firstEventMs: number; firstStackMs: number; processMs: number };
function sample(sourceMaps: boolean): Sample {
  const started = performance.now();
  const out = execFileSync(process.execPath, [...(sourceMaps ? ["--enable-source-maps"] : []), "--input-type=module", "-e", script], { cwd: dir, env });
  return { ...(JSON.parse(out.toString()) as Omit<Sample, "processMs">), processMs: performance.now() - started };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const samples: Record<"off" | "on", Sample[]> = { off: [], on: [] };
sample(false); // warm the file cache
for (let i = 0; i < runs; i++) {
  samples.off.push(sample(false));
  samples.on.push(sample(true));
}
rmSync(dir, { recursive: true, force: true });

console.log(`Lambda bundle cold start, ${runs} fresh processes each, medians (ms); node ${process.version}`);
console.log("source maps | import | first event (process start → /healthz answered) | first stack trace | whole process");
for (const key of ["off", "on"] as const) {
  const s = samples[key];
  const m = (k: keyof Sample) => median(s.map((x) => x[k])).toFixed(0).padStart(6);
  console.log(`${key.padEnd(11)} | ${m("importMs")} | ${m("firstEventMs")} | ${m("firstStackMs")} | ${m("processMs")}`);
}
const cost = median(samples.on.map((x) => x.processMs)) - median(samples.off.map((x) => x.processMs));
console.log(`--enable-source-maps costs ${cost.toFixed(0)} ms of a cold process here`);
