/**
 * The delivery inbox below the HTTP layer: the group-committed append, the
 * processor's leases, retries and order, and the per-connection settings of
 * the store that every write relies on.
 */
import type { Client } from "@libsql/client";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, test } from "vitest";
import type { IngestHandler } from "../src/handlers/types.js";
import { handleWebhookRequest } from "../src/http/ingress-core.js";
import { createInbox, requeueDelivery, type Inbox } from "../src/inbox/index.js";
import { BODIES_PER_READ } from "../src/inbox/processor.js";
import { claimDueDeliveries } from "../src/inbox/rows.js";
import { createInboxWriter } from "../src/inbox/writer.js";
import { createWriteTurns } from "../src/inbox/write-turns.js";
import { createLibsqlQueue } from "../src/queue/index.js";
import { DEFAULT_LOCAL_CONNECTIONS, PAGE_SIZE, WAL_AUTOCHECKPOINT_PAGES } from "../src/store/db.js";
import { countMatchingDeliveries, listDeliveries } from "../src/store/delivery-queries.js";
import { ciRuns, deliveries, jobs } from "../src/store/schema.js";
import { countingTransactionStatements, createTempStore, createTestProbot, fixture, sign, silentLog, startTestServer, type TempStore, type TestServer } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function tempStore(): Promise<TempStore> {
  const store = await createTempStore();
  cleanups.push(() => store.dispose());
  return store;
}

async function testServer(): Promise<TestServer> {
  const server = await startTestServer();
  cleanups.push(() => server.close());
  return server;
}

async function storedPayloadText(store: TempStore, id: string): Promise<string> {
  const result = await store.client.execute({ sql: "SELECT payload FROM deliveries WHERE id = ?", args: [id] });
  return String(result.rows[0]?.payload);
}

async function row(store: TempStore, id: string) {
  const [found] = await store.db.select().from(deliveries).where(eq(deliveries.id, id));
  return found;
}

/** A clock the test moves by hand. */
function manualClock(start = "2026-01-01T00:00:00Z") {
  let now = new Date(start).getTime();
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

function delivery(id: string, name = "workflow_run", payload: Record<string, unknown> = { action: "completed" }) {
  return { id, name, payload };
}

/** Counts the transactions sent through a client: each execute, and each batch (one transaction however many statements). */
/** A handler that takes `ms` and processes: time for a batch to run out or appends to arrive. */
function handlerTaking(ms: number): IngestHandler {
  return async () => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return { status: "processed" };
  };
}

function countingClient(client: Client): { client: Client; executed: () => number } {
  let executed = 0;
  const counted = new Proxy(client, {
    get(target, property, receiver) {
      if (property === "execute") {
        return (...args: Parameters<Client["execute"]>) => {
          executed += 1;
          return target.execute(...args);
        };
      }
      if (property === "batch") {
        return (...args: Parameters<Client["batch"]>) => {
          executed += 1;
          return target.batch(...args);
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
  return { client: counted, executed: () => executed };
}

describe("local store connections", () => {
  test("every pooled connection commits with synchronous=NORMAL, checkpoints past 64 MB of WAL and waits out a busy writer", async () => {
    const store = await tempStore();
    // More calls at once than the pool has connections: every connection is borrowed, some twice.
    const calls = DEFAULT_LOCAL_CONNECTIONS + 2;
    const synchronous = await Promise.all(Array.from({ length: calls }, () => store.client.execute("PRAGMA synchronous")));
    const busy = await Promise.all(Array.from({ length: calls }, () => store.client.execute("PRAGMA busy_timeout")));
    const checkpoint = await Promise.all(Array.from({ length: calls }, () => store.client.execute("PRAGMA wal_autocheckpoint")));
    expect(checkpoint.map((r) => Number(Object.values(r.rows[0])[0]))).toEqual(Array(calls).fill(WAL_AUTOCHECKPOINT_PAGES));
    // A new file gets 8 KB pages (a webhook body spills over fewer of them) and is in WAL mode.
    const pages = await store.client.execute("PRAGMA page_size");
    expect(Number(Object.values(pages.rows[0])[0])).toBe(PAGE_SIZE);
    expect(WAL_AUTOCHECKPOINT_PAGES * PAGE_SIZE).toBe(64 * 1024 * 1024);
    expect(Object.values((await store.client.execute("PRAGMA journal_mode")).rows[0])[0]).toBe("wal");
    // 1 = NORMAL; SQLite's per-connection default would be 2 (FULL: an fsync on every commit).
    expect(synchronous.map((r) => Number(Object.values(r.rows[0])[0]))).toEqual(Array(calls).fill(1));
    expect(busy.map((r) => Number(Object.values(r.rows[0])[0]))).toEqual(Array(calls).fill(10_000));
  });
});

describe("the append", () => {
  test("stores the body exactly as GitHub sent it, with the hook headers, and answers 202 before processing", async () => {
    const server = await testServer();
    const payload = fixture("workflow_run.completed.json");
    // Indented and with a trailing newline: nothing re-serialises it on the way in.
    const body = `${JSON.stringify(payload, null, 2)}\n`;
    const response = await server.post("workflow_run", null, { id: "as-sent", body, process: false });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ id: "as-sent", status: "accepted" });
    expect(await storedPayloadText(server.store, "as-sent")).toBe(body);
    expect(await row(server.store, "as-sent")).toMatchObject({ status: "received", attempts: 0, processedAt: null, payload });
    expect(await server.inbox.processor.drain()).toBe(1);
    expect(await row(server.store, "as-sent")).toMatchObject({ status: "processed", attempts: 1 });
  });

  test("keeps the hook id and installation target headers", async () => {
    const store = await tempStore();
    const probot = createTestProbot();
    await probot.ready();
    const inbox = createInbox({ store, log: silentLog() });
    const body = JSON.stringify({ action: "created", installation: { id: 7 } });
    const answer = await handleWebhookRequest(
      probot,
      {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-github-event": "installation",
          "x-github-delivery": "with-headers",
          "x-hub-signature-256": sign(body),
          "x-github-hook-id": "4242",
          "x-github-hook-installation-target-type": "integration",
          "x-github-hook-installation-target-id": "123",
        },
      },
      { inbox },
    );
    expect(answer).toEqual({ status: 202, body: { id: "with-headers", status: "accepted" } });
    expect((await row(store, "with-headers")).headers).toEqual({
      "x-github-hook-id": "4242",
      "x-github-hook-installation-target-type": "integration",
      "x-github-hook-installation-target-id": "123",
    });
  });

  test("concurrent appends share one transaction; repeats of an id inside the group are duplicates", async () => {
    const store = await tempStore();
    const { client, executed } = countingClient(store.client);
    const writer = createInboxWriter(client);
    const entry = (id: string) => ({ id, event: "push", action: null, repoSlug: "acme/widgets", installationId: 1, body: `{"n":"${id}"}`, headers: null });
    const results = await Promise.all(["a", "b", "c", "a", "d"].map((id) => writer.append(entry(id))));
    expect(results).toEqual(["accepted", "accepted", "accepted", "duplicate", "accepted"]);
    expect(executed()).toBe(1);
    expect((await store.db.select().from(deliveries)).map((r) => r.id).sort()).toEqual(["a", "b", "c", "d"]);
    // A later group: one already stored is a duplicate, a new one is taken.
    expect(await Promise.all([writer.append(entry("b")), writer.append(entry("e"))])).toEqual(["duplicate", "accepted"]);
    expect(executed()).toBe(2);
  });

  test("a group waits for its write turn, and its appends count as waiting until written", async () => {
    const store = await tempStore();
    const turns = createWriteTurns();
    const writer = createInboxWriter(store.client, { turns });
    const endProcessorTurn = await turns.take(); // the processor is writing
    const appended = Promise.all(["a", "b"].map((id) => writer.append({ id, event: "push", action: null, repoSlug: null, installationId: null, body: "{}", headers: null })));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(turns.appendsWaiting()).toBe(2);
    expect(await store.db.select().from(deliveries)).toHaveLength(0);
    endProcessorTurn();
    expect(await appended).toEqual(["accepted", "accepted"]);
    expect(turns.appendsWaiting()).toBe(0);
    expect(await store.db.select().from(deliveries)).toHaveLength(2);
  });

  test("a group larger than maxBatch is written in several transactions, in order", async () => {
    const store = await tempStore();
    const { client, executed } = countingClient(store.client);
    const writer = createInboxWriter(client, { maxBatch: 4 });
    const ids = Array.from({ length: 10 }, (_, i) => `d${i}`);
    const results = await Promise.all(ids.map((id) => writer.append({ id, event: "push", action: null, repoSlug: null, installationId: null, body: "{}", headers: null })));
    expect(results).toEqual(Array(10).fill("accepted"));
    expect(executed()).toBe(3);
    const claimed = await claimDueDeliveries(store.client, 100, new Date(), 60_000);
    expect(claimed.map((c) => c.id)).toEqual(ids);
  });

  test("a waiting delivery is listed with the action, repository and installation read from its body until the processor records them", async () => {
    const store = await tempStore();
    const inbox = createInbox({ store, log: silentLog(), queue: createLibsqlQueue(store) });
    const run = fixture<{ installation: { id: number } }>("workflow_run.completed.json");
    await inbox.accept({ id: "body-only", name: "workflow_run", body: JSON.stringify(run) });
    await inbox.accept({ id: "not-json", name: "workflow_run", body: '{"action": "completed", }' });
    await inbox.accept(delivery("parsed", "workflow_run", { action: "requested", repository: { full_name: "acme/other" } }));

    const listed = Object.fromEntries((await listDeliveries(store.db)).map((row) => [row.id, [row.action, row.repoSlug, row.installationId]]));
    expect(listed).toEqual({
      "body-only": ["completed", "acme/widgets", run.installation.id],
      "not-json": [null, null, null],
      parsed: ["requested", "acme/other", null],
    });
    expect((await listDeliveries(store.db, { repo: "acme/widgets" })).map((row) => row.id)).toEqual(["body-only"]);
    expect(await countMatchingDeliveries(store.db, { repo: "acme/widgets" })).toBe(1);
    // The body is only read for a waiting row: the record's own columns are what a settled delivery shows.
    await store.client.execute("UPDATE delivery_records SET status = 'processed' WHERE id = 'body-only'");
    expect((await listDeliveries(store.db, { repo: "acme/widgets" })).map((row) => row.id)).toEqual([]);
  });

  test("the body is kept apart and written once: a duplicate leaves it, a redelivery of a failed delivery replaces it", async () => {
    const store = await tempStore();
    const writer = createInboxWriter(store.client);
    const entry = (id: string, body: string) => ({ id, event: "push", action: null, repoSlug: "acme/widgets", installationId: 1, body, headers: null });
    expect(await writer.append(entry("kept", '{"v":1}'))).toBe("accepted");
    expect(await writer.append(entry("kept", '{"v":2}'))).toBe("duplicate");
    expect(await storedPayloadText(store, "kept")).toBe('{"v":1}');
    await store.client.execute("UPDATE delivery_records SET status = 'failed', error = 'boom' WHERE id = 'kept'");
    expect(await writer.append(entry("kept", '{"v":3}'))).toBe("accepted");
    expect(await storedPayloadText(store, "kept")).toBe('{"v":3}');
    expect(await row(store, "kept")).toMatchObject({ status: "received", attempts: 0 });
    const bodies = await store.client.execute("SELECT count(*) AS n FROM delivery_bodies");
    expect(Number(bodies.rows[0].n)).toBe(1);
  });

  test("a store that cannot write answers 503 with Retry-After and stores nothing", async () => {
    const store = await tempStore();
    const probot = createTestProbot();
    await probot.ready();
    const failing: Inbox = {
      ...createInbox({ store, log: silentLog() }),
      accept: async () => {
        throw new Error("SQLITE_FULL: database or disk is full");
      },
    };
    const body = JSON.stringify(fixture("workflow_run.completed.json"));
    const answer = await handleWebhookRequest(
      probot,
      { method: "POST", body, headers: { "content-type": "application/json", "x-github-event": "workflow_run", "x-github-delivery": "full", "x-hub-signature-256": sign(body) } },
      { inbox: failing },
    );
    expect(answer.status).toBe(503);
    expect(answer.headers).toEqual({ "retry-after": "30" });
    expect(answer.body.error).toMatch(/could not be stored: SQLITE_FULL/);
    expect(await store.db.select().from(deliveries)).toHaveLength(0);
  });

  test("the synchronous path (probot receive, replay) serialises the payload object and processes it before answering", async () => {
    const store = await tempStore();
    const inbox = createInbox({ store, log: silentLog() });
    const payload = { action: "created", installation: { id: 7 }, note: "é ✓" };
    expect(await inbox.receiveNow(delivery("direct", "installation", payload))).toMatchObject({ status: "ignored" });
    expect(await storedPayloadText(store, "direct")).toBe(JSON.stringify(payload));
    expect(await row(store, "direct")).toMatchObject({ status: "ignored", attempts: 1, installationId: 7 });
    expect(await inbox.receiveNow(delivery("direct", "installation", payload))).toEqual({ status: "duplicate" });
  });
});

describe("the processor", () => {
  test("a failure of ours is retried with backoff, its error visible meanwhile; then it is processed", async () => {
    const store = await tempStore();
    const clock = manualClock();
    let fail = true;
    const flaky: IngestHandler = async () => {
      if (fail) throw new TypeError("cannot read the run");
      return { status: "processed" };
    };
    const inbox = createInbox({ store, log: silentLog(), handlers: { workflow_run: flaky }, now: clock.now });
    expect(await inbox.accept(delivery("flaky"))).toBe("accepted");

    expect(await inbox.processor.drain()).toBe(1);
    let stored = await row(store, "flaky");
    expect(stored).toMatchObject({ status: "received", error: "TypeError: cannot read the run", attempts: 1, leaseUntil: null, processedAt: null });
    const retryAt = new Date(stored.nextAttemptAt!).getTime() - clock.now().getTime();
    expect(retryAt).toBeGreaterThanOrEqual(1_800);
    expect(retryAt).toBeLessThanOrEqual(2_200);

    // Not due yet: nothing is taken.
    expect(await inbox.processor.drain()).toBe(0);
    clock.advance(2_500);
    fail = false;
    expect(await inbox.processor.drain()).toBe(1);
    stored = await row(store, "flaky");
    expect(stored).toMatchObject({ status: "processed", error: null, attempts: 2, nextAttemptAt: null });
  });

  test("after maxTries the delivery is failed for good, and a person's requeue takes it in again", async () => {
    const store = await tempStore();
    const clock = manualClock();
    const broken: IngestHandler = async () => {
      throw new Error("database hiccup");
    };
    const inbox = createInbox({ store, log: silentLog(), handlers: { workflow_run: broken }, now: clock.now, maxTries: 3 });
    await inbox.accept(delivery("doomed"));
    for (let i = 0; i < 3; i++) {
      expect(await inbox.processor.drain()).toBe(1);
      clock.advance(60 * 60_000);
    }
    expect(await row(store, "doomed")).toMatchObject({ status: "failed", attempts: 3, error: "Error: database hiccup", nextAttemptAt: null });
    expect(await inbox.processor.drain()).toBe(0);
    expect(await requeueDelivery(store.client, "doomed")).toBe(true);
    expect(await requeueDelivery(store.client, "doomed")).toBe(false);
    expect(await row(store, "doomed")).toMatchObject({ status: "received", attempts: 0 });
  });

  test("a poison delivery never blocks the others; deliveries are taken in arrival order", async () => {
    const store = await tempStore();
    const seen: string[] = [];
    const handler: IngestHandler = async (ctx) => {
      seen.push(ctx.deliveryId);
      if (ctx.deliveryId === "poison") throw new Error("boom");
      return { status: "processed" };
    };
    const inbox = createInbox({ store, log: silentLog(), handlers: { push: handler }, batchSize: 2 });
    for (const id of ["first", "poison", "third", "fourth", "fifth"]) await inbox.accept(delivery(id, "push"));
    expect(await inbox.processor.drain()).toBe(5);
    expect(seen).toEqual(["first", "poison", "third", "fourth", "fifth"]);
    const rows = await store.db.select().from(deliveries);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.status]))).toEqual({
      first: "processed",
      poison: "received",
      third: "processed",
      fourth: "processed",
      fifth: "processed",
    });
  });

  test("a row whose body is broken or missing is failed as malformed at once; the batch's others are processed", async () => {
    const store = await tempStore();
    const inbox = createInbox({ store, log: silentLog(), queue: createLibsqlQueue(store), handlers: { push: async () => ({ status: "processed" }) } });
    for (const id of ["before", "garbled", "bodiless", "after"]) await inbox.accept(delivery(id, "push"));
    await store.client.execute("UPDATE delivery_bodies SET body = '[1, 2' WHERE id = 'garbled'");
    await store.client.execute("DELETE FROM delivery_bodies WHERE id = 'bodiless'");
    expect(await inbox.processor.drain()).toBe(4);
    // Read the records alone: the deliveries view would parse the garbled body.
    const rows = (await store.client.execute("SELECT id, status, attempts, error FROM delivery_records")).rows;
    expect(Object.fromEntries(rows.map((r) => [r.id, [r.status, r.attempts, r.error]]))).toEqual({
      before: ["processed", 1, null],
      garbled: ["failed", 1, "the stored body is not a JSON object"],
      bodiless: ["failed", 1, "the stored body is not a JSON object"],
      after: ["processed", 1, null],
    });
  });

  test("with checkpointEveryMs the processor checkpoints the WAL itself, outside its write turn, and leaves it short", async () => {
    const store = await tempStore();
    const statements: string[] = [];
    const turns = createWriteTurns();
    const watched = new Proxy(store.client, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== "execute") return typeof value === "function" ? value.bind(target) : value;
        return (stmt: string | { sql: string }) => {
          const sql = typeof stmt === "string" ? stmt : stmt.sql;
          // Where the checkpoint runs: the turn must be free (appends may write meanwhile).
          if (sql.includes("wal_checkpoint")) statements.push(`${sql} (turn free: ${turns.appendsWaiting() === 0 && takenNow() === false})`);
          return target.execute(stmt as string);
        };
      },
    });
    let taken = false;
    const takenNow = () => taken;
    const take = turns.take.bind(turns);
    turns.take = async (maxWaitMs?: number) => {
      const end = await take(maxWaitMs);
      taken = true;
      return () => {
        taken = false;
        end();
      };
    };
    const push = handlerTaking(5);
    const inbox = createInbox({ store: { ...store, client: watched }, log: silentLog(), handlers: { push }, turns, checkpointEveryMs: 1, batchSize: 2 });
    for (const id of ["a", "b", "c", "d"]) await inbox.accept(delivery(id, "push"));
    expect(await inbox.processor.drain()).toBe(4);
    expect(statements.length).toBeGreaterThan(0);
    expect(new Set(statements)).toEqual(new Set(["PRAGMA wal_checkpoint(PASSIVE) (turn free: true)"]));
    // Everything written so far is in the database file: the next writer starts the WAL over.
    const [result] = (await store.client.execute("PRAGMA wal_checkpoint(PASSIVE)")).rows;
    expect(Number(result.log)).toBe(Number(result.checkpointed));

    statements.length = 0;
    const plain = createInbox({ store: { ...store, client: watched }, log: silentLog(), handlers: { push } });
    await plain.accept(delivery("e", "push"));
    expect(await plain.processor.drain()).toBe(1);
    expect(statements).toEqual([]);
  });

  test("a lease left by a crashed processor runs out, and the delivery is taken over then, not before", async () => {
    const store = await tempStore();
    const clock = manualClock();
    const inbox = createInbox({ store, log: silentLog(), now: clock.now, leaseMs: 60_000 });
    await inbox.accept(delivery("crashed", "installation"));
    // A processor claims it and dies before settling.
    expect(await claimDueDeliveries(store.client, 10, clock.now(), 60_000)).toHaveLength(1);
    clock.advance(59_000);
    expect(await inbox.processor.drain()).toBe(0);
    clock.advance(2_000);
    expect(await inbox.processor.drain()).toBe(1);
    expect(await row(store, "crashed")).toMatchObject({ status: "ignored", attempts: 2 });
  });

  test("processed and ignored deliveries are never taken again, however late the redelivery", async () => {
    const store = await tempStore();
    const inbox = createInbox({ store, log: silentLog(), handlers: { push: async () => ({ status: "processed" }) } });
    expect(await inbox.receiveNow(delivery("done", "push"))).toEqual({ status: "processed" });
    expect(await inbox.receiveNow(delivery("skipped", "installation"))).toMatchObject({ status: "ignored" });
    for (const id of ["done", "skipped"]) expect(await inbox.accept(delivery(id, "push"))).toBe("duplicate");
    expect(await inbox.processor.drain()).toBe(0);
  });

  test("the running loop is woken by an append and stops cleanly", async () => {
    const server = await testServer();
    server.inbox.processor.start();
    cleanups.unshift(() => server.inbox.processor.stop());
    const response = await server.post("pull_request", fixture("pull_request.opened.json"), { id: "woken", process: false });
    expect(response.status).toBe(202);
    await expect.poll(async () => (await row(server.store, "woken"))?.status, { timeout: 5_000 }).toBe("processed");
    await server.inbox.processor.stop();
  });
});

describe("batch transactions (a queue that joins them: libSQL's)", () => {
  /** Counts the write transactions begun on a client. */
  function countingTransactions(store: TempStore) {
    let begun = 0;
    const client = new Proxy(store.client, {
      get(target, property, receiver) {
        if (property === "transaction") {
          return (...args: Parameters<Client["transaction"]>) => {
            begun += 1;
            return target.transaction(...args);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return { store: { ...store, client }, begun: () => begun };
  }

  function failedRun(runId: number) {
    const payload = fixture<{ workflow_run: Record<string, unknown> }>("workflow_run.completed.json");
    return { ...payload, workflow_run: { ...payload.workflow_run, id: runId, conclusion: "failure" } };
  }

  test("many deliveries commit in one transaction with their settlement, each with its rows and fix job", async () => {
    const store = await tempStore();
    const counted = countingTransactions(store);
    const inbox = createInbox({ store: counted.store, log: silentLog(), queue: createLibsqlQueue(store), transactionMs: 60_000 });
    for (let i = 1; i <= 12; i++) await inbox.accept(delivery(`run-${i}`, "workflow_run", failedRun(9000 + i)));

    expect(await inbox.processor.drain()).toBe(12);
    expect(counted.begun()).toBe(1);
    const rows = await store.db.select().from(deliveries);
    expect(rows.map((r) => [r.id, r.status])).toEqual(Array.from({ length: 12 }, (_, i) => [`run-${i + 1}`, "processed"]));
    expect(rows.every((r) => r.processedAt !== null && r.leaseUntil === null)).toBe(true);
    expect(await store.db.select().from(ciRuns)).toHaveLength(12);
    expect(await store.db.select().from(jobs)).toHaveLength(12);
  });

  test("bodies are read a few per statement, each delivery's own, in arrival order across a broken one", async () => {
    const store = await tempStore();
    const counted = countingTransactionStatements(store.client, "FROM delivery_bodies");
    const seen: unknown[] = [];
    const push: IngestHandler = async (ctx) => {
      seen.push(ctx.payload.n);
      return { status: "processed" };
    };
    const inbox = createInbox({ store: { ...store, client: counted.client }, log: silentLog(), queue: createLibsqlQueue(store), handlers: { push }, transactionMs: 60_000 });
    const count = 2 * BODIES_PER_READ + 3;
    for (let n = 0; n < count; n++) await inbox.accept(delivery(`d${n}`, "push", { n }));
    await store.client.execute("UPDATE delivery_bodies SET body = '[1, 2' WHERE id = 'd5'");

    expect(await inbox.processor.drain()).toBe(count);
    const others = Array.from({ length: count }, (_, n) => n).filter((n) => n !== 5);
    // The first pass up to the broken one, the ones before it again after the rollback, then the rest: all in order.
    expect(seen).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, ...others.slice(5)]);
    // Three reads for the first pass through the batch, one again after the rollback, far from one per delivery.
    expect(counted.count()).toBeLessThanOrEqual(Math.ceil(count / BODIES_PER_READ) + 2);
    const statuses = (await store.client.execute("SELECT id, status FROM delivery_records")).rows;
    expect(statuses.filter((r) => r.status === "processed")).toHaveLength(count - 1);
    expect(statuses.find((r) => r.id === "d5")?.status).toBe("failed");
  });

  test("a batch stops taking deliveries once its time is up, and the rest go in later ones", async () => {
    const store = await tempStore();
    const counted = countingTransactions(store);
    const slow = handlerTaking(15);
    const inbox = createInbox({ store: counted.store, log: silentLog(), queue: createLibsqlQueue(store), handlers: { push: slow }, transactionMs: 10 });
    for (const id of ["a", "b", "c"]) await inbox.accept(delivery(id, "push"));
    expect(await inbox.processor.drain()).toBe(3);
    expect(counted.begun()).toBe(3);
    expect((await store.db.select().from(deliveries)).map((r) => r.status)).toEqual(["processed", "processed", "processed"]);
  });

  test("waiting appends end a batch early (after its first quarter millisecond), so a webhook's answer is not held up", async () => {
    const store = await tempStore();
    const counted = countingTransactions(store);
    const slow = handlerTaking(3);
    // Appends of another thread sharing the turns (the request thread's, when the processor runs on the inbox thread).
    const turns = createWriteTurns();
    const inbox = createInbox({ store: counted.store, log: silentLog(), queue: createLibsqlQueue(store), handlers: { push: slow }, transactionMs: 60_000, turns });
    for (const id of ["a", "b", "c"]) await inbox.accept(delivery(id, "push"));
    expect(await inbox.processor.drain()).toBe(3);
    expect(counted.begun()).toBe(1);
    turns.countAppends(1);
    for (const id of ["d", "e", "f"]) await inbox.accept(delivery(id, "push"));
    expect(await inbox.processor.drain()).toBe(3);
    expect(counted.begun()).toBe(1 + 3);
  });

  test("a processor behind by more than the lag bound runs its batches full length though appends wait, so the backlog stops growing", async () => {
    const store = await tempStore();
    const counted = countingTransactions(store);
    const slow = handlerTaking(3);
    const turns = createWriteTurns();
    const options = { store: counted.store, log: silentLog(), queue: createLibsqlQueue(store), handlers: { push: slow }, transactionMs: 60_000, turns };
    const behind = createInbox({ ...options, lagBoundMs: 50 });
    for (const id of ["a", "b", "c"]) await behind.accept(delivery(id, "push"));
    await new Promise((resolve) => setTimeout(resolve, 60));
    turns.countAppends(1);
    expect(await behind.processor.drain()).toBe(3);
    expect(counted.begun()).toBe(1);
    // The same deliveries when they are young: one transaction each.
    const keepingUp = createInbox({ ...options, lagBoundMs: 60_000 });
    for (const id of ["d", "e", "f"]) await keepingUp.accept(delivery(id, "push"));
    expect(await keepingUp.processor.drain()).toBe(3);
    expect(counted.begun()).toBe(1 + 3);
  });

  test("a failing handler rolls its batch back: the others are written once, the failed one's writes not at all", async () => {
    const store = await tempStore();
    const seen: string[] = [];
    // Enqueues without a dedup key, so a write that survived a rollback would show as a second job.
    const handler: IngestHandler = async (ctx) => {
      seen.push(ctx.deliveryId);
      await ctx.queue!.enqueue("note", { delivery: ctx.deliveryId });
      if (ctx.deliveryId === "poison") throw new Error("boom");
      return { status: "processed" };
    };
    const inbox = createInbox({ store, log: silentLog(), queue: createLibsqlQueue(store), handlers: { push: handler }, transactionMs: 60_000 });
    for (const id of ["first", "poison", "third", "fourth"]) await inbox.accept(delivery(id, "push"));

    expect(await inbox.processor.drain()).toBe(4);
    // The batch (first, poison) rolled back; first again in a transaction of its own, poison alone, then the rest.
    expect(seen).toEqual(["first", "poison", "first", "poison", "third", "fourth"]);
    const written = (await store.db.select().from(jobs)).map((job) => (job.payload as { delivery: string }).delivery);
    expect(written.sort()).toEqual(["first", "fourth", "third"]);
    const rows = Object.fromEntries((await store.db.select().from(deliveries)).map((r) => [r.id, [r.status, r.error]]));
    expect(rows).toEqual({
      first: ["processed", null],
      poison: ["received", "Error: boom"],
      third: ["processed", null],
      fourth: ["processed", null],
    });
  });

  test("a batch whose settlement fails (no handler's fault) is rolled back and taken one delivery at a time", async () => {
    const store = await tempStore();
    let failSettlement = true;
    // The batch's one-statement settlement fails once, inside the transaction.
    const client = new Proxy(store.client, {
      get(target, property, receiver) {
        if (property === "transaction") {
          return async (...args: Parameters<Client["transaction"]>) => {
            const tx = await target.transaction(...args);
            return new Proxy(tx, {
              get(txTarget, txProperty) {
                const value = Reflect.get(txTarget, txProperty);
                if (txProperty !== "execute") return typeof value === "function" ? value.bind(txTarget) : value;
                return (stmt: Parameters<typeof tx.execute>[0]) => {
                  const sql = typeof stmt === "string" ? stmt : stmt.sql;
                  if (failSettlement && sql.includes("FROM (VALUES")) {
                    failSettlement = false;
                    return Promise.reject(new Error("disk I/O error"));
                  }
                  return txTarget.execute(stmt);
                };
              },
            });
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const seen: string[] = [];
    const handler: IngestHandler = async (ctx) => {
      seen.push(ctx.deliveryId);
      await ctx.queue!.enqueue("note", { delivery: ctx.deliveryId });
      return { status: "processed" };
    };
    const inbox = createInbox({ store: { ...store, client }, log: silentLog(), queue: createLibsqlQueue(store), handlers: { push: handler }, transactionMs: 60_000 });
    for (const id of ["one", "two"]) await inbox.accept(delivery(id, "push"));

    expect(await inbox.processor.drain()).toBe(2);
    expect(seen).toEqual(["one", "two", "one", "two"]);
    const written = (await store.db.select().from(jobs)).map((job) => (job.payload as { delivery: string }).delivery);
    expect(written.sort()).toEqual(["one", "two"]);
    expect((await store.db.select().from(deliveries)).map((r) => [r.id, r.status])).toEqual([
      ["one", "processed"],
      ["two", "processed"],
    ]);
  });

  test("a push, whose handler runs its own transactions, is processed inside a batch", async () => {
    const store = await tempStore();
    const counted = countingTransactions(store);
    const inbox = createInbox({ store: counted.store, log: silentLog(), queue: createLibsqlQueue(store), transactionMs: 60_000 });
    await inbox.accept(delivery("pr", "pull_request", fixture("pull_request.closed.json")));
    await inbox.accept(delivery("push", "push", fixture("push.main.touches.json")));
    expect(await inbox.processor.drain()).toBe(2);
    expect(counted.begun()).toBe(1);
    expect((await store.db.select().from(deliveries)).map((r) => [r.id, r.status, r.error])).toEqual([
      ["pr", "processed", null],
      ["push", "processed", null],
    ]);
  });
});
