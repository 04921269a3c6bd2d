/**
 * Memory before verification: unsigned bodies are refused only once read, so
 * the webhook routes cap what they hold unverified. 16 concurrent unsigned
 * 25 MB bodies: those the budget covers are read and refused 401, the rest
 * are answered 503 (Retry-After) before their bodies are read, and the bytes
 * held never pass the budget. bench/unverified-bodies.ts measures the RSS.
 */
import { request } from "node:http";
import { afterEach, describe, expect, test } from "vitest";
import { createBodyBudget, type BodyBudget } from "../src/http/body-budget.js";
import { startTestServer, type TestServer } from "./helpers.js";

const MB = 1024 * 1024;
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The budget, recording the most it ever held. */
function watched(limit: number): BodyBudget & { peak: number } {
  const budget = createBodyBudget(limit);
  const watch = {
    peak: 0,
    tryReserve(bytes: number) {
      const ok = budget.tryReserve(bytes);
      watch.peak = Math.max(watch.peak, budget.inUse);
      return ok;
    },
    release: (bytes: number) => budget.release(bytes),
    get inUse() {
      return budget.inUse;
    },
    limit,
  };
  return watch;
}

interface Pending {
  status: Promise<{ status: number; retryAfter: string | undefined }>;
  /** Sends the rest of the body. */
  finish(): void;
}

/** A POST that declares `size` bytes and sends the first MB only, until finish(). */
function openUpload(url: string, path: string, headers: Record<string, string>, size: number, chunked = false): Pending {
  const req = request(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...(chunked ? {} : { "content-length": String(size) }), ...headers } });
  const status = new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, retryAfter: res.headers["retry-after"] as string | undefined }));
    });
    // A refused upload's socket is closed under it: writing the rest then fails, after the answer arrived.
    req.on("error", (error) => setTimeout(() => reject(error), 1000));
  });
  const chunk = Buffer.alloc(MB, 0x20);
  req.write(chunk);
  return {
    status,
    finish() {
      if (req.destroyed) return;
      for (let sent = MB; sent < size; sent += MB) req.write(chunk.subarray(0, Math.min(MB, size - sent)));
      req.end();
    },
  };
}

const githubHeaders = () => ({ "x-github-event": "push", "x-github-delivery": crypto.randomUUID(), "x-hub-signature-256": `sha256=${"0".repeat(64)}` });

describe("unverified body budget", () => {
  test("16 concurrent unsigned 25 MB bodies: 2 are read and refused 401, 14 get 503 unread; the bytes held never pass 50 MB", async () => {
    const budget = watched(50 * MB);
    server = await startTestServer({ bodyBudget: budget });
    const uploads = Array.from({ length: 16 }, () => openUpload(server!.url, "/api/github/webhooks", githubHeaders(), 25 * MB));
    // The refused ones are answered while the admitted ones are still waiting for the rest of their bodies.
    const early: { status: number; retryAfter: string | undefined }[] = [];
    for (const upload of uploads) void upload.status.then((answer) => early.push(answer), () => {});
    while (early.length < 14) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    expect(early).toHaveLength(14);
    for (const answer of early) {
      expect(answer!.status).toBe(503);
      expect(Number(answer!.retryAfter)).toBeGreaterThan(0);
    }
    expect(budget.inUse).toBe(50 * MB);
    for (const upload of uploads) upload.finish();
    const answers = await Promise.all(uploads.map((u) => u.status));
    expect(answers.filter((a) => a.status === 401)).toHaveLength(2);
    expect(budget.peak).toBeLessThanOrEqual(50 * MB);
    expect(budget.inUse).toBe(0);
    // Nothing unverified was stored.
    const stored = await server.store.client.execute("SELECT count(*) AS n FROM deliveries");
    expect(Number(stored.rows[0].n)).toBe(0);
  }, 60_000);

  test("a body without Content-Length is charged as it arrives; the budget frees up once answered", async () => {
    const budget = watched(3 * MB);
    server = await startTestServer({ bodyBudget: budget });
    const first = openUpload(server.url, "/api/github/webhooks", githubHeaders(), 2 * MB, true);
    await new Promise((r) => setTimeout(r, 300));
    expect(budget.inUse).toBe(MB);
    const second = openUpload(server.url, "/api/github/webhooks", githubHeaders(), 4 * MB, true);
    second.finish();
    expect((await second.status).status).toBe(503);
    first.finish();
    expect((await first.status).status).toBe(401);
    expect(budget.peak).toBeLessThanOrEqual(3 * MB);
    expect(budget.inUse).toBe(0);
    const third = openUpload(server.url, "/api/github/webhooks", githubHeaders(), 2 * MB);
    third.finish();
    expect((await third.status).status).toBe(401);
  }, 30_000);

  test("the GitLab and Gitea routes share the budget with GitHub's", async () => {
    const budget = watched(10 * MB);
    server = await startTestServer({ bodyBudget: budget, forgeSecrets: { gitlab: "gitlab-secret-0123456789", gitea: "gitea-secret-0123456789" } });
    const github = openUpload(server.url, "/api/github/webhooks", githubHeaders(), 8 * MB);
    await new Promise((r) => setTimeout(r, 300));
    const gitlab = openUpload(server.url, "/api/webhooks/gitlab", { "x-gitlab-event": "Pipeline Hook", "x-gitlab-token": "wrong" }, 5 * MB);
    const gitea = openUpload(server.url, "/api/webhooks/gitea", { "x-gitea-event": "push", "x-gitea-signature": "0".repeat(64) }, 5 * MB);
    expect((await gitlab.status).status).toBe(503);
    expect((await gitea.status).status).toBe(503);
    github.finish();
    expect((await github.status).status).toBe(401);
    const again = openUpload(server.url, "/api/webhooks/gitlab", { "x-gitlab-event": "Pipeline Hook", "x-gitlab-token": "wrong" }, 5 * MB);
    again.finish();
    expect((await again.status).status).toBe(401);
    expect(budget.peak).toBeLessThanOrEqual(10 * MB);
  }, 30_000);
});
