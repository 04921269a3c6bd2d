/**
 * The Lambda package as CI builds it: `osls package` with no AWS account, no
 * credentials and no network, then the bundle from the zip is loaded in a
 * fresh Node process and invoked. This catches what the unit tests cannot:
 * a dependency esbuild cannot bundle, CommonJS/ESM mix-ups, a native module
 * sneaking in, a serverless.yml the framework refuses.
 */
import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { inflateRawSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { testPrivateKey } from "./helpers.js";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "..");

/** The entries of a zip archive, by name (stored or deflated, as the packager writes them). */
function unzip(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const end = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error("not a zip archive");
  const count = archive.readUInt16LE(end + 10);
  let at = archive.readUInt32LE(end + 16);
  for (let i = 0; i < count; i++) {
    if (archive.readUInt32LE(at) !== 0x02014b50) throw new Error("bad central directory entry");
    const method = archive.readUInt16LE(at + 10);
    const size = archive.readUInt32LE(at + 20);
    const nameLength = archive.readUInt16LE(at + 28);
    const extraLength = archive.readUInt16LE(at + 30);
    const commentLength = archive.readUInt16LE(at + 32);
    const local = archive.readUInt32LE(at + 42);
    const name = archive.toString("utf8", at + 46, at + 46 + nameLength);
    const dataStart = local + 30 + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28);
    const data = archive.subarray(dataStart, dataStart + size);
    files.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

let scratch: string;
let workFolder: string;
let packaged: { template: Record<string, any>; files: Map<string, Buffer>; ms: number };

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "fixloop-package-"));
  // The plugin's scratch folder must sit inside the project; a unique one lets a real `npm run package:lambda` run at the same time.
  workFolder = join("dist", `.esbuild-test-${process.pid}`);
  // No AWS_* variables at all. HOME stays: osls caches its compiled config schema there (~10 s the first time).
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, FIXLOOP_ESBUILD_WORK_FOLDER: workFolder };
  const started = Date.now();
  await run(process.execPath, [join(ROOT, "node_modules/osls/bin/serverless.js"), "package", "--package", join(scratch, "out")], { cwd: ROOT, env, timeout: 180_000 });
  packaged = {
    ms: Date.now() - started,
    template: JSON.parse(readFileSync(join(scratch, "out", "cloudformation-template-update-stack.json"), "utf8")),
    files: unzip(readFileSync(join(scratch, "out", "fixloop.zip"))),
  };
}, 240_000);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(join(ROOT, workFolder), { recursive: true, force: true });
});

function resource(type: string, predicate: (r: any) => boolean = () => true) {
  return Object.values(packaged.template.Resources as Record<string, any>).filter((r) => r.Type === type && predicate(r));
}

describe("npm run package:lambda (osls package, no AWS account)", () => {
  test("four functions on nodejs22.x, each pointing into the one bundle", () => {
    const functions = resource("AWS::Lambda::Function");
    expect(functions.map((f) => f.Properties.Handler).sort()).toEqual(["src/lambda.ingest", "src/lambda.scheduled", "src/lambda.webhook", "src/lambda.worker"]);
    for (const f of functions) expect(f.Properties.Runtime).toBe("nodejs22.x");
    expect([...packaged.files.keys()].sort()).toEqual(["src/lambda.mjs", "src/lambda.mjs.map"]);
    // No native module: the remote store speaks libSQL over HTTP.
    expect(packaged.files.get("src/lambda.mjs")!.toString("utf8")).not.toMatch(/@libsql\/linux-|\.node["']\)/);
  });

  test("the events: HTTP API routes (GitHub, GitLab, Gitea, MCP, health), two SQS sources with partial batch responses, a 5-minute schedule", () => {
    const routes = resource("AWS::ApiGatewayV2::Route").map((r) => r.Properties.RouteKey).sort();
    expect(routes).toEqual(["GET /healthz", "POST /api/github/webhooks", "POST /api/webhooks/gitea", "POST /api/webhooks/gitlab", "POST /mcp"]);
    const mappings = Object.fromEntries(resource("AWS::Lambda::EventSourceMapping").map((m) => [m.Properties.EventSourceArn["Fn::GetAtt"][0], m.Properties]));
    expect(mappings.JobsQueue).toMatchObject({ BatchSize: 2, FunctionResponseTypes: ["ReportBatchItemFailures"] });
    expect(mappings.DeliveriesQueue).toMatchObject({ BatchSize: 10, FunctionResponseTypes: ["ReportBatchItemFailures"] });
    const [rule] = resource("AWS::Events::Rule");
    expect(rule.Properties.ScheduleExpression).toBe("rate(5 minutes)");
  });

  test("each queue has a dead-letter queue that keeps messages longer than it, an alarm on it, and a visibility timeout that outlasts its consumer", () => {
    const resources = packaged.template.Resources;
    const consumers = { JobsQueue: "src/lambda.worker", DeliveriesQueue: "src/lambda.ingest" };
    for (const [queue, handler] of Object.entries(consumers)) {
      const dlq = resources[queue].Properties.RedrivePolicy.deadLetterTargetArn["Fn::GetAtt"][0];
      expect(resources[queue].Properties.RedrivePolicy.maxReceiveCount).toBe(10);
      expect(resources[dlq].Properties.MessageRetentionPeriod).toBeGreaterThan(resources[queue].Properties.MessageRetentionPeriod);
      const consumer = resource("AWS::Lambda::Function", (f) => f.Properties.Handler === handler)[0];
      expect(resources[queue].Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * consumer.Properties.Timeout);
      const [alarm] = resource("AWS::CloudWatch::Alarm", (a) => a.Properties.Dimensions[0].Value["Fn::GetAtt"]?.[0] === dlq);
      expect(alarm.Properties).toMatchObject({ Namespace: "AWS/SQS", MetricName: "ApproximateNumberOfMessagesVisible", Threshold: 0, ComparisonOperator: "GreaterThanThreshold" });
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: "AlarmTopic" }]);
    }
  });

  test("one role per function, least privilege: queue actions and secrets each function needs, nothing more", () => {
    const resources = packaged.template.Resources;
    const statements = (fn: string) => {
      const role = resource("AWS::Lambda::Function", (f) => f.Properties.Handler === `src/lambda.${fn}`)[0].Properties.Role["Fn::GetAtt"][0];
      return resources[role].Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement) as { Action: string | string[]; Resource: any }[];
    };
    const actionsOn = (fn: string) =>
      statements(fn).flatMap((st) => [st.Action].flat().map((action) => `${action} ${st.Resource["Fn::GetAtt"]?.[0] ?? (Array.isArray(st.Resource) ? "parameters" : "logs")}`)).sort();
    expect(actionsOn("webhook")).toEqual(["logs:CreateLogStream logs", "logs:PutLogEvents logs", "sqs:SendMessage DeliveriesQueue", "ssm:GetParameters parameters"]);
    expect(actionsOn("ingest")).toEqual([
      "logs:CreateLogStream logs", "logs:PutLogEvents logs",
      "sqs:ChangeMessageVisibility DeliveriesQueue", "sqs:DeleteMessage DeliveriesQueue", "sqs:GetQueueAttributes DeliveriesQueue", "sqs:ReceiveMessage DeliveriesQueue",
      "sqs:SendMessage JobsQueue", "ssm:GetParameters parameters",
    ]);
    expect(actionsOn("worker")).toEqual([
      "logs:CreateLogStream logs", "logs:PutLogEvents logs",
      "sqs:ChangeMessageVisibility JobsQueue", "sqs:DeleteMessage JobsQueue", "sqs:GetQueueAttributes JobsQueue", "sqs:ReceiveMessage JobsQueue", "sqs:SendMessage JobsQueue",
      "ssm:GetParameters parameters",
    ]);
    expect(actionsOn("scheduled")).toEqual(["logs:CreateLogStream logs", "logs:PutLogEvents logs", "sqs:SendMessage JobsQueue", "ssm:GetParameters parameters"]);
    // Each role may read exactly the parameters its function's FIXLOOP_SECRETS names.
    for (const fn of ["webhook", "ingest", "worker", "scheduled"]) {
      const f = resource("AWS::Lambda::Function", (x) => x.Properties.Handler === `src/lambda.${fn}`)[0];
      const names = f.Properties.Environment.Variables.FIXLOOP_SECRETS.split(",").sort();
      const parameters = statements(fn)
        .filter((st) => st.Action === "ssm:GetParameters")
        .flatMap((st) => st.Resource.map((arn: any) => (arn["Fn::Join"][1].at(-1) as string).replace(":parameter/fixloop/prod/", "")))
        .sort();
      expect(parameters).toEqual(names);
    }
    expect(resource("AWS::Lambda::Function", (f) => f.Properties.Handler === "src/lambda.webhook")[0].Properties.Environment.Variables.FIXLOOP_SECRETS).not.toMatch(/PRIVATE_KEY|TENSORZERO/);
  });

  test("secrets are read at run time: the template names parameters, never values, and no secret is resolved at deploy time", () => {
    const text = JSON.stringify(packaged.template);
    expect(text).not.toMatch(/BEGIN (RSA )?PRIVATE KEY/);
    expect(text).not.toMatch(/resolve:secretsmanager/);
    const env = resource("AWS::Lambda::Function")[0].Properties.Environment.Variables;
    expect(env).toMatchObject({
      FIXLOOP_QUEUE: "sqs",
      FIXLOOP_SQS_QUEUE_URL: { Ref: "JobsQueue" },
      FIXLOOP_SQS_DELIVERY_QUEUE_URL: { Ref: "DeliveriesQueue" },
      FIXLOOP_SECRETS_SSM_PREFIX: "/fixloop/prod/",
      DATABASE_URL: expect.stringMatching(/^\{\{resolve:ssm:/),
    });
    for (const f of resource("AWS::Lambda::Function")) {
      for (const name of ["PRIVATE_KEY", "WEBHOOK_SECRET", "DATABASE_AUTH_TOKEN", "TENSORZERO_API_KEY"]) expect(f.Properties.Environment.Variables).not.toHaveProperty(name);
    }
  });

  test("the bundle from the zip loads in a fresh Node and answers events", { timeout: 60_000 }, async () => {
    const dir = join(scratch, "unzipped");
    mkdirSync(join(dir, "src"), { recursive: true });
    writeFileSync(join(dir, "src", "lambda.mjs"), packaged.files.get("src/lambda.mjs")!);
    const secret = "bundle-test-secret";
    const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
    const script = `
      const m = await import(${JSON.stringify(join(dir, "src", "lambda.mjs"))});
      const ev = (headers) => ({ version: "2.0", rawPath: "/api/github/webhooks", requestContext: { http: { method: "POST" } }, headers, body: ${JSON.stringify(body)}, isBase64Encoded: false });
      const base = { "Content-Type": "application/json", "X-GitHub-Event": "ping", "X-GitHub-Delivery": "bundle-1" };
      const out = {};
      out.badSignature = (await m.webhook(ev({ ...base, "X-Hub-Signature-256": "sha256=00" }))).statusCode;
      out.missingHeaders = (await m.webhook(ev({ "content-type": "application/json" }))).statusCode;
      // Signed and valid, but the deliveries queue is unreachable: nothing is stored, 503 so GitHub shows it failed.
      const failed = await m.webhook(ev({ ...base, "X-Hub-Signature-256": ${JSON.stringify(signature)} }));
      out.queueDown = [failed.statusCode, failed.headers["retry-after"]];
      out.health = JSON.parse((await m.webhook({ version: "2.0", rawPath: "/healthz", requestContext: { http: { method: "GET" } } })).body);
      out.ingest = await m.ingest({ Records: [{ messageId: "y", receiptHandle: "r", body: "not ours" }] }, { getRemainingTimeInMillis: () => 60000 });
      out.worker = await m.worker({ Records: [{ messageId: "x", receiptHandle: "r", body: "not ours" }] }, { getRemainingTimeInMillis: () => 60000 });
      out.scheduled = await m.scheduled({}).then(() => "ok", (e) => e.name);
      process.stdout.write(JSON.stringify(out));
    `;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: dir,
      timeout: 30_000,
      env: {
        PATH: process.env.PATH,
        APP_ID: "1",
        PRIVATE_KEY: testPrivateKey(),
        WEBHOOK_SECRET: secret,
        LOG_LEVEL: "fatal",
        LOG_FORMAT: "json",
        // Nothing listens on port 9 (discard): every database call fails fast.
        DATABASE_URL: "http://127.0.0.1:9",
        FIXLOOP_QUEUE: "sqs",
        FIXLOOP_SQS_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/fixloop-test-jobs",
        FIXLOOP_SQS_DELIVERY_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/fixloop-test-deliveries",
        AWS_REGION: "eu-west-1",
        // Credentials that sign, and an SQS endpoint where nothing listens: the send fails at once, offline.
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:9",
        AWS_MAX_ATTEMPTS: "1",
        NODE_NO_WARNINGS: "1",
      },
    });
    expect(JSON.parse(stdout)).toEqual({
      badSignature: 401,
      missingHeaders: 400,
      queueDown: [503, "30"],
      health: { ok: true },
      ingest: { batchItemFailures: [{ itemIdentifier: "y" }] },
      worker: { batchItemFailures: [{ itemIdentifier: "x" }] },
      scheduled: "ScheduledTasksFailedError",
    });
  });
});
