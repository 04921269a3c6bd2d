/**
 * The delivery row's life below the HTTP layer: how it is stored, claimed,
 * taken over and finished, and the per-connection settings of the store that
 * every write relies on.
 */
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, test } from "vitest";
import { dispatchDelivery } from "../src/handlers/index.js";
import type { IngestHandler } from "../src/handlers/types.js";
import { DEFAULT_LOCAL_CONNECTIONS } from "../src/store/db.js";
import { claimDelivery, finishDelivery, STALE_CLAIM_MS, type DeliveryRecord } from "../src/store/records.js";
import { deliveries } from "../src/store/schema.js";
import { createTempStore, fixture, silentLog, startTestServer, type TempStore, type TestServer } from "./helpers.js";

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

function record(id: string, payload: Record<string, unknown> = { action: "created" }): DeliveryRecord {
  return { id, event: "installation", action: "created", repoSlug: null, installationId: 7, payload };
}

describe("local store connections", () => {
  test("every pooled connection commits with synchronous=NORMAL and waits out a busy writer", async () => {
    const store = await tempStore();
    // More calls at once than the pool has connections: every connection is borrowed, some twice.
    const calls = DEFAULT_LOCAL_CONNECTIONS + 2;
    const synchronous = await Promise.all(Array.from({ length: calls }, () => store.client.execute("PRAGMA synchronous")));
    const busy = await Promise.all(Array.from({ length: calls }, () => store.client.execute("PRAGMA busy_timeout")));
    // 1 = NORMAL; SQLite's per-connection default would be 2 (FULL: an fsync on every commit).
    expect(synchronous.map((r) => Number(Object.values(r.rows[0])[0]))).toEqual(Array(calls).fill(1));
    expect(busy.map((r) => Number(Object.values(r.rows[0])[0]))).toEqual(Array(calls).fill(10_000));
  });
});

describe("the stored payload", () => {
  test("is the body exactly as GitHub sent it, and reads back as the same object", async () => {
    const server = await testServer();
    const payload = fixture("workflow_run.completed.json");
    // Indented and with a trailing newline: nothing re-serialises it on the way in.
    const body = `${JSON.stringify(payload, null, 2)}\n`;
    const response = await server.post("workflow_run", null, { id: "as-sent", body });
    expect(await response.json()).toMatchObject({ status: "processed" });
    expect(await storedPayloadText(server.store, "as-sent")).toBe(body);
    expect((await row(server.store, "as-sent")).payload).toEqual(payload);
  });

  test("without the received text (replay, direct dispatch) the payload object is serialised", async () => {
    const store = await tempStore();
    const payload = { action: "created", installation: { id: 7 }, note: "é ✓" };
    const answer = await dispatchDelivery({ store, log: silentLog() }, { id: "direct", name: "installation", payload });
    expect(answer).toMatchObject({ status: "ignored" });
    expect(await storedPayloadText(store, "direct")).toBe(JSON.stringify(payload));
    expect((await row(store, "direct")).payload).toEqual(payload);
  });

  test("a retried delivery keeps the body of the retry", async () => {
    const store = await tempStore();
    const t0 = new Date("2026-01-01T00:00:00Z");
    expect(await claimDelivery(store.db, { ...record("retry"), payloadJson: '{"try":1}' }, t0)).toBe(true);
    await finishDelivery(store.db, "retry", { status: "failed", error: "Error: boom" });
    expect(await claimDelivery(store.db, { ...record("retry"), payloadJson: '{"try": 2}' }, t0)).toBe(true);
    expect(await storedPayloadText(store, "retry")).toBe('{"try": 2}');
    expect(await row(store, "retry")).toMatchObject({ status: "received", error: null, attempts: 2 });
  });
});

describe("claims", () => {
  test("a claim left 'received' (a crashed process) is taken over only once it is stale", async () => {
    const store = await tempStore();
    const t0 = new Date("2026-01-01T00:00:00Z");
    const later = (ms: number) => new Date(t0.getTime() + ms);
    expect(await claimDelivery(store.db, record("crashed"), t0)).toBe(true);
    expect(await claimDelivery(store.db, record("crashed"), later(STALE_CLAIM_MS - 1000))).toBe(false);
    expect(await claimDelivery(store.db, record("crashed"), later(STALE_CLAIM_MS + 1000))).toBe(true);
    expect(await row(store, "crashed")).toMatchObject({
      status: "received",
      attempts: 2,
      receivedAt: t0.toISOString(),
      claimedAt: later(STALE_CLAIM_MS + 1000).toISOString(),
    });
  });

  test("processed and ignored deliveries are never claimed again, however late the redelivery", async () => {
    const store = await tempStore();
    const t0 = new Date("2026-01-01T00:00:00Z");
    for (const status of ["processed", "ignored"] as const) {
      expect(await claimDelivery(store.db, record(status), t0)).toBe(true);
      await finishDelivery(store.db, status, { status });
      expect(await claimDelivery(store.db, record(status), new Date(t0.getTime() + 10 * STALE_CLAIM_MS))).toBe(false);
      expect(await row(store, status)).toMatchObject({ status, attempts: 1 });
    }
  });
});

describe("dispatch", () => {
  test("a handler that throws leaves the row failed with its error; the retry is processed", async () => {
    const store = await tempStore();
    let fail = true;
    const flaky: IngestHandler = async () => {
      if (fail) throw new TypeError("cannot read the run");
      return { status: "processed" };
    };
    const deps = { store, log: silentLog(), handlers: { workflow_run: flaky } };
    const delivery = { id: "flaky", name: "workflow_run", payload: { action: "completed" } };

    expect(await dispatchDelivery(deps, delivery)).toEqual({ status: "failed", error: "TypeError: cannot read the run" });
    let stored = await row(store, "flaky");
    expect(stored).toMatchObject({ status: "failed", error: "TypeError: cannot read the run", attempts: 1, payload: delivery.payload });
    expect(stored.processedAt).not.toBeNull();

    fail = false;
    expect(await dispatchDelivery(deps, delivery)).toEqual({ status: "processed" });
    stored = await row(store, "flaky");
    expect(stored).toMatchObject({ status: "processed", error: null, attempts: 2 });
    expect(await dispatchDelivery(deps, delivery)).toEqual({ status: "duplicate" });
  });
});
