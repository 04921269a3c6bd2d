/**
 * Entry points refuse to start with settings that let strangers in: no or a
 * short WEBHOOK_SECRET (Probot would fall back to the key "development"), a
 * short FIXLOOP_ADMIN_TOKEN. The setup page (no credentials yet) still starts.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, test, vi } from "vitest";
import { fixloopApp } from "../src/app.js";
import { adminTokenProblem, assertStartable, webhookSecretProblem } from "../src/config/startup.js";
import { createTempStore, sign, testPrivateKey } from "./helpers.js";

const run = promisify(execFile);
const TSX = new URL("../node_modules/.bin/tsx", import.meta.url).pathname;
const SERVER = new URL("../src/server.ts", import.meta.url).pathname;

describe("webhookSecretProblem / adminTokenProblem", () => {
  test.each([
    [{}, /WEBHOOK_SECRET is not set/],
    [{ WEBHOOK_SECRET: "" }, /WEBHOOK_SECRET is not set/],
    [{ WEBHOOK_SECRET: "development" }, /11 characters; it must be at least 16/],
    [{ WEBHOOK_SECRET: "0123456789abcdef" }, null],
    [{ NODE_ENV: "development" }, null],
    [{ NODE_ENV: "production", WEBHOOK_SECRET: "short" }, /5 characters/],
  ])("%j → %s", (env, expected) => {
    const problem = webhookSecretProblem(env as NodeJS.ProcessEnv);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatch(expected);
  });

  test("admin tokens: unset is off, shorter than 16 is refused", () => {
    expect(adminTokenProblem(undefined)).toBeNull();
    expect(adminTokenProblem("")).toBeNull();
    expect(adminTokenProblem("abc")).toMatch(/FIXLOOP_ADMIN_TOKEN is 3 characters/);
    expect(adminTokenProblem("a".repeat(16))).toBeNull();
    expect(() => assertStartable({ WEBHOOK_SECRET: "x".repeat(32), FIXLOOP_ADMIN_TOKEN: "abc" }, { webhooks: true })).toThrow(/^fixloop cannot start: FIXLOOP_ADMIN_TOKEN/);
    expect(() => assertStartable({ FIXLOOP_ADMIN_TOKEN: "a".repeat(16) }, { webhooks: false })).not.toThrow();
  });

  test("the app itself refuses a short admin token, whoever builds it", async () => {
    const store = await createTempStore();
    try {
      expect(() => fixloopApp({ store, adminToken: "abc" })).toThrow(/FIXLOOP_ADMIN_TOKEN is 3 characters/);
    } finally {
      store.dispose();
    }
  });
});

describe("npm start", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function start(env: Record<string, string>) {
    dir = mkdtempSync(join(tmpdir(), "fixloop-start-"));
    const base = { PATH: process.env.PATH ?? "", HOME: dir, PORT: "0", HOST: "127.0.0.1", DATABASE_URL: `file:${join(dir, "db")}`, LOG_LEVEL: "fatal" as const };
    return run(TSX, [SERVER], { cwd: dir, env: { ...base, ...env }, timeout: 60_000 }).then(
      (r) => ({ code: 0, stderr: r.stderr }),
      (e: { code?: number; stderr?: string; killed?: boolean }) => ({ code: e.killed ? "timeout" : e.code, stderr: e.stderr ?? "" }),
    );
  }

  // One child process (a few seconds under load); the other refusals go through the same assertStartable above.
  test("with app credentials but no WEBHOOK_SECRET: exits 1 with a one-line reason instead of serving", async () => {
    const result = await start({ APP_ID: "1", PRIVATE_KEY: testPrivateKey() });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^fixloop cannot start: WEBHOOK_SECRET is not set/)]);
  }, 120_000);
});

describe("Lambda webhook function", () => {
  afterEach(() => vi.unstubAllEnvs());

  test("without WEBHOOK_SECRET it refuses every event instead of accepting Probot's fallback key", async () => {
    vi.resetModules();
    for (const [key, value] of Object.entries({
      APP_ID: "1",
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET: "",
      NODE_ENV: "production",
      DATABASE_URL: "libsql://fixloop-test.invalid",
      FIXLOOP_SQS_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/fixloop-test",
    })) vi.stubEnv(key, value);
    const { webhook } = await import("../src/lambda.js");
    const body = JSON.stringify({ zen: "hi", hook_id: 1 });
    const event = {
      version: "2.0",
      rawPath: "/api/github/webhooks",
      headers: { "content-type": "application/json", "x-github-event": "ping", "x-github-delivery": "d-1", "x-hub-signature-256": sign(body, "development") },
      body,
      isBase64Encoded: false,
      requestContext: { http: { method: "POST", path: "/api/github/webhooks" } },
    };
    await expect(Promise.resolve().then(() => webhook(event as never))).rejects.toThrow(/^fixloop cannot start: WEBHOOK_SECRET is not set/);
  });
});
