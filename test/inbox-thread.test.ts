/**
 * The inbox processor on its own worker thread (the node server's default):
 * deliveries posted to the real HTTP server are appended on this thread,
 * processed on the inbox thread, and read back through this thread's
 * connection to the same file.
 */
import { randomUUID } from "node:crypto";
import { afterEach, expect, test } from "vitest";
import { fixloopApp } from "../src/app.js";
import { createHttpServer, listen } from "../src/http/server.js";
import { createInbox } from "../src/inbox/index.js";
import { startInboxThread, type ThreadedInbox } from "../src/inbox/thread.js";
import { createLibsqlQueue } from "../src/queue/index.js";
import { createTempStore, createTestProbot, fixture, sign, silentLog, type TempStore } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function threadedServer(pollMs = 50): Promise<{ url: string; store: TempStore; inbox: ThreadedInbox }> {
  const store = await createTempStore();
  cleanups.push(() => store.dispose());
  const queue = createLibsqlQueue(store);
  const local = createInbox({ store, log: silentLog(), queue });
  const inbox = await startInboxThread(local, { databaseUrl: store.url, logLevel: "silent", pollMs });
  cleanups.push(() => inbox.close());
  const probot = createTestProbot();
  const server = await createHttpServer({ probot, app: fixloopApp({ store, queue, inbox }), inbox });
  const running = await listen(server, 0, "127.0.0.1");
  cleanups.push(() => running.close());
  return { url: running.url, store, inbox };
}

async function post(url: string, event: string, payload: unknown, id: string = randomUUID()): Promise<Response> {
  const body = JSON.stringify(payload);
  return fetch(`${url}/api/github/webhooks`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-github-event": event, "x-github-delivery": id, "x-hub-signature-256": sign(body) },
    body,
  });
}

async function statuses(store: TempStore): Promise<Record<string, string>> {
  const result = await store.client.execute("SELECT id, status FROM deliveries ORDER BY id");
  return Object.fromEntries(result.rows.map((row) => [String(row.id), String(row.status)]));
}

test("appends are answered (202, then 200 duplicate) and the thread's running processor handles what was appended", async () => {
  const { url, store, inbox } = await threadedServer();
  const run = fixture("workflow_run.completed.json");
  expect((await post(url, "workflow_run", run, "t-1")).status).toBe(202);
  expect(await (await post(url, "workflow_run", run, "t-1")).json()).toEqual({ id: "t-1", status: "duplicate" });
  expect(await statuses(store)).toEqual({ "t-1": "received" });

  inbox.processor.start();
  await Promise.all(["t-2", "t-3"].map((id) => post(url, "pull_request", fixture("pull_request.opened.json"), id)));
  await expect.poll(() => statuses(store), { timeout: 5_000 }).toEqual({ "t-1": "processed", "t-2": "processed", "t-3": "processed" });
  const runs = await store.client.execute("SELECT raw_delivery_id FROM ci_runs");
  expect(runs.rows.map((row) => row.raw_delivery_id)).toEqual(["t-1"]);
  const jobs = await store.client.execute("SELECT kind FROM jobs");
  expect(jobs.rows.map((row) => row.kind)).toEqual(["fix"]);
});

test("drain runs on the thread and says how many it processed; after close the inbox refuses new deliveries and stores nothing", async () => {
  const { url, store, inbox } = await threadedServer();
  for (const id of ["d-1", "d-2", "d-3"]) expect((await post(url, "push", fixture("push.main.touches.json"), id)).status).toBe(202);
  expect(await inbox.processor.drain()).toBe(3);
  expect(Object.values(await statuses(store))).toEqual(["processed", "processed", "processed"]);
  await inbox.close();
  const answer = await post(url, "push", fixture("push.main.touches.json"), "d-4");
  expect(answer.status).toBe(503);
  expect(await statuses(store)).not.toHaveProperty("d-4");
});

test("an idle processor on the thread is woken by the next append, every time it has gone back to sleep (it would otherwise poll once a minute)", async () => {
  const { url, store, inbox } = await threadedServer(60_000);
  inbox.processor.start();
  for (const id of ["w-1", "w-2", "w-3"]) {
    // Each append comes after the processor has gone idle again (its last delivery processed).
    expect((await post(url, "push", fixture("push.main.touches.json"), id)).status).toBe(202);
    await expect.poll(async () => (await statuses(store))[id], { timeout: 5_000, interval: 20 }).toBe("processed");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // A burst while it works: the running processor finds the rest by itself.
  await Promise.all(["b-1", "b-2", "b-3", "b-4", "b-5"].map((id) => post(url, "push", fixture("push.main.touches.json"), id)));
  await expect.poll(async () => Object.values(await statuses(store)).filter((status) => status === "processed").length, { timeout: 5_000 }).toBe(8);
});
