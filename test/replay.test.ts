import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { contentDeliveryId, eventFromFileName, parseRecordedDeliveries } from "../src/replay/deliveries.js";
import { ciRuns, deliveries, prOutcomes } from "../src/store/schema.js";
import { createTempStore, fixture, type TempStore } from "./helpers.js";

const run = promisify(execFile);
const root = new URL("..", import.meta.url).pathname;

describe("reading recorded deliveries", () => {
  test("event from the file name, with extra name parts", () => {
    expect(eventFromFileName("fixtures/workflow_run.completed.json")).toBe("workflow_run");
    expect(eventFromFileName("/x/pull_request.closed.fork.json")).toBe("pull_request");
    expect(eventFromFileName("payload.json")).toBeNull();
  });

  test("a bare payload gets a content-derived id; --event overrides the name", () => {
    const payload = { action: "opened", repository: { full_name: "a/b" } };
    const [d] = parseRecordedDeliveries(JSON.stringify(payload), "whatever.json", "pull_request");
    expect(d).toEqual({ id: contentDeliveryId("pull_request", payload), name: "pull_request", payload });
    expect(() => parseRecordedDeliveries(JSON.stringify(payload), "whatever.json")).toThrow(/needs --event/);
  });

  test("envelopes: single, array, with event or name", () => {
    const one = parseRecordedDeliveries(JSON.stringify({ event: "push", id: "abc", payload: { ref: "x" } }), "f.json");
    expect(one).toEqual([{ id: "abc", name: "push", payload: { ref: "x" } }]);
    const many = parseRecordedDeliveries(JSON.stringify([{ name: "push", id: 7, payload: {} }, { event: "ping", payload: {} }]), "f.json");
    expect(many.map((d) => [d.name, d.id.startsWith("replay-") ? "derived" : d.id])).toEqual([["push", "7"], ["ping", "derived"]]);
    expect(() => parseRecordedDeliveries("[1]", "f.json")).toThrow(/f\.json\[0\]: not an envelope/);
    expect(() => parseRecordedDeliveries("{", "f.json")).toThrow(/not valid JSON/);
  });
});

describe("fixloop replay (the built CLI path, in-process app)", () => {
  let store: TempStore;
  beforeEach(async () => {
    store = await createTempStore();
  });
  afterEach(() => store.dispose());

  const fixloop = (args: string[]) =>
    run(join(root, "node_modules/.bin/tsx"), [join(root, "src/cli/index.ts"), ...args], {
      cwd: store.dir,
      env: { ...process.env, DATABASE_URL: `file:${join(store.dir, "fixloop.db")}`, APP_ID: "", PRIVATE_KEY: "" },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );

  test("bare payloads and envelopes, a summary per file and a total; a second replay is all duplicates", async () => {
    const envelopes = join(store.dir, "recorded.json");
    writeFileSync(
      envelopes,
      JSON.stringify([
        { event: "pull_request", id: "rec-1", payload: fixture("pull_request.closed.json") },
        { name: "check_suite", id: "rec-2", payload: fixture("check_suite.completed.json") },
      ]),
    );
    const files = [join(root, "fixtures/pull_request.opened.json"), join(root, "fixtures/workflow_run.completed.json"), envelopes];
    const first = await fixloop(["replay", ...files]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("pull_request.opened.json: 1 delivery: 1 processed, 0 ignored, 0 duplicate, 0 failed");
    expect(first.stdout).toContain("recorded.json: 2 deliveries: 2 processed, 0 ignored, 0 duplicate, 0 failed");
    expect(first.stdout).toContain("total: 3 files, 4 deliveries: 4 processed, 0 ignored, 0 duplicate, 0 failed");
    // Each recorded delivery is named with its id, event and repository.
    expect(first.stdout).toMatch(/^ {2}delivery \S+ pull_request\.opened [\w.-]+\/[\w.-]+: processed$/m);
    expect(first.stdout.match(/^ {2}delivery /gm)).toHaveLength(4);

    const second = await fixloop(["replay", ...files]);
    expect(second.stdout).toContain("total: 3 files, 4 deliveries: 0 processed, 0 ignored, 4 duplicate, 0 failed");

    expect(await store.db.select().from(deliveries)).toHaveLength(4);
    const [pr] = await store.db.select().from(prOutcomes);
    expect(pr.state).toBe("merged");
    expect(await store.db.select().from(ciRuns)).toHaveLength(2);
  }, 60_000);

  test("a file that cannot be read fails the command (exit 1) and names the problem", async () => {
    const bad = join(store.dir, "notes.json");
    writeFileSync(bad, "{}");
    const result = await fixloop(["replay", bad]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/notes\.json: a bare payload needs --event/);
  }, 60_000);
});
