/**
 * Replaying a stored delivery (`fixloop deliveries replay`, the dashboard's
 * Deliveries page): a failed one goes back through the inbox and is processed
 * now; a processed one is a duplicate; the processor logs one line per
 * recorded delivery.
 */
import { Writable } from "node:stream";
import { eq } from "drizzle-orm";
import { pino } from "pino";
import { afterEach, describe, expect, test } from "vitest";
import type { IngestHandler } from "../src/handlers/types.js";
import { createInbox } from "../src/inbox/index.js";
import { replayStoredDelivery } from "../src/replay/stored.js";
import { deliveries } from "../src/store/schema.js";
import { createTempStore, silentLog, type TempStore } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function tempStore(): Promise<TempStore> {
  const store = await createTempStore();
  cleanups.push(() => store.dispose());
  return store;
}

const payload = { action: "completed", repository: { full_name: "acme/widgets" } };

describe("replaying a stored delivery", () => {
  test("a failed delivery is requeued through the inbox and processed; a processed one answers duplicate; an unknown id is not found", async () => {
    const store = await tempStore();
    let healthy = false;
    const handler: IngestHandler = async () => {
      if (!healthy) throw new Error("database hiccup");
      return { status: "processed", note: "run 7 recorded" };
    };
    const inbox = createInbox({ store, log: silentLog(), handlers: { workflow_run: handler }, maxTries: 1 });
    await inbox.accept({ id: "d-1", name: "workflow_run", payload });
    await inbox.processor.drain();
    const [failed] = await store.db.select().from(deliveries).where(eq(deliveries.id, "d-1"));
    expect(failed).toMatchObject({ status: "failed", error: "Error: database hiccup" });

    healthy = true;
    const replayed = await replayStoredDelivery({ store, inbox }, "d-1");
    expect(replayed).toEqual({ found: true, event: "workflow_run", action: "completed", repo: "acme/widgets", answer: { status: "processed", note: "run 7 recorded" } });
    const [processed] = await store.db.select().from(deliveries).where(eq(deliveries.id, "d-1"));
    expect(processed).toMatchObject({ status: "processed", error: null, note: "run 7 recorded", attempts: 1 });

    expect(await replayStoredDelivery({ store, inbox }, "d-1")).toMatchObject({ found: true, answer: { status: "duplicate" } });
    expect(await replayStoredDelivery({ store, inbox }, "nope")).toEqual({ found: false });
  });

  test("a replay that fails again is reported failed and stays failed (no silent retry behind the person's back)", async () => {
    const store = await tempStore();
    const handler: IngestHandler = async () => {
      throw new Error("still broken");
    };
    const inbox = createInbox({ store, log: silentLog(), handlers: { workflow_run: handler }, maxTries: 1 });
    await inbox.accept({ id: "d-2", name: "workflow_run", payload });
    await inbox.processor.drain();
    const replayed = await replayStoredDelivery({ store, inbox }, "d-2");
    expect(replayed).toMatchObject({ found: true, answer: { status: "failed", error: "Error: still broken" } });
    const [row] = await store.db.select().from(deliveries).where(eq(deliveries.id, "d-2"));
    expect(row).toMatchObject({ status: "failed", nextAttemptAt: null });
  });

  test("the processor logs one info line per recorded delivery, with its id, event, action, repository and note", async () => {
    const store = await tempStore();
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    });
    const handler: IngestHandler = async () => ({ status: "processed", note: "fix job 3 enqueued" });
    const inbox = createInbox({ store, log: pino({ level: "info" }, sink), handlers: { workflow_run: handler } });
    await inbox.accept({ id: "d-3", name: "workflow_run", payload });
    await inbox.processor.drain();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      delivery: "d-3",
      event: "workflow_run",
      status: "processed",
      msg: "delivery d-3 workflow_run.completed acme/widgets: processed (fix job 3 enqueued)",
    });
  });
});
