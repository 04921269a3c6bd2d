import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import nock from "nock";
import { v7 } from "uuid";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { COMMENT_METRIC, DEMONSTRATION_METRIC, FEEDBACK_LEVELS, InvalidFeedbackError, recordFeedback, type FeedbackItem } from "../src/store/feedback.js";
import { claimNextFeedback, createFeedbackSender, drainFeedbackOutbox, type DrainDeps } from "../src/outcomes/outbox.js";
import { feedbackCounts, getFeedback, listFeedback, retryFeedback } from "../src/outcomes/outbox-admin.js";
import { MIGRATIONS_FOLDER, openStore, type Store } from "../src/store/db.js";
import { feedback, fixAttempts } from "../src/store/schema.js";
import { readTensorZeroConfig } from "../src/tensorzero/config.js";
import { FeedbackGatewayUnavailableError } from "../src/tensorzero/feedback.js";
import { METRICS } from "../src/tensorzero/metrics.js";
import { createTempStore, silentLog, type TempStore } from "./helpers.js";

const GATEWAY = "http://tensorzero.test";
const SECOND = 1_000;
const HOUR = 3_600_000;

let store: TempStore;
let clock: number;
const now = () => new Date(clock);
const advance = (ms: number) => {
  clock += ms;
};

beforeEach(async () => {
  store = await createTempStore();
  clock = Date.parse("2025-03-01T12:00:00.000Z");
});
afterEach(() => {
  store.dispose();
});

/** Drain deps with the test clock, no jitter and a quiet log. */
function deps(extra: Partial<DrainDeps> = {}): DrainDeps {
  return { store, gateway: { url: GATEWAY }, log: silentLog(), now, random: () => 0.5, ...extra };
}

function inferenceItem(metricName: string, value: FeedbackItem["value"], extra: Partial<FeedbackItem> = {}): FeedbackItem {
  return { attemptId: "attempt-1", metricName, target: { type: "inference", id: v7() }, value, ...extra };
}

function episodeItem(metricName: string, value: FeedbackItem["value"], extra: Partial<FeedbackItem> = {}): FeedbackItem {
  return { attemptId: "attempt-1", metricName, target: { type: "episode", id: v7() }, value, ...extra };
}

/** A gateway that accepts every /feedback and keeps the bodies it saw. */
function acceptingGateway(times: number) {
  const bodies: Record<string, unknown>[] = [];
  const ids: string[] = [];
  const scope = nock(GATEWAY)
    .post("/feedback", (body: Record<string, unknown>) => {
      bodies.push(body);
      return true;
    })
    .times(times)
    .reply(200, () => {
      const id = v7();
      ids.push(id);
      return { feedback_id: id };
    });
  return { scope, bodies, ids };
}

async function rows() {
  return store.db.select().from(feedback).orderBy(feedback.id);
}

describe("recordFeedback", () => {
  it("writes a pending row due now, and the same (target, metric) again creates nothing", async () => {
    const item = inferenceItem(METRICS.ciPassed, true, { tags: { repo: "acme/widgets" } });
    const first = await recordFeedback(store.db, item, now());
    advance(5 * SECOND);
    const again = await recordFeedback(store.db, { ...item, value: false }, now());

    expect(first.created).toBe(true);
    expect(again).toEqual({ created: false, id: first.id });
    const [row, ...rest] = await rows();
    expect(rest).toEqual([]);
    expect(row).toMatchObject({
      attemptId: "attempt-1",
      metricName: "fixloop_ci_passed",
      dedupKey: "",
      targetType: "inference",
      targetId: item.target.id,
      value: true,
      tags: { repo: "acme/widgets" },
      status: "pending",
      tries: 0,
      nextTryAt: "2025-03-01T12:00:00.000Z",
      claimedUntil: null,
      lastError: null,
      createdAt: "2025-03-01T12:00:00.000Z",
    });
  });

  it("keeps one row per dedup key: several comments on one inference each get a row", async () => {
    const inference = v7();
    const comment = (dedupKey: string, value: string): FeedbackItem => ({
      attemptId: "a",
      metricName: COMMENT_METRIC,
      target: { type: "inference", id: inference },
      value,
      dedupKey,
    });
    expect((await recordFeedback(store.db, comment("review-comment:1", "Use a const here"))).created).toBe(true);
    expect((await recordFeedback(store.db, comment("review-comment:2", "Missing test"))).created).toBe(true);
    expect((await recordFeedback(store.db, comment("review-comment:1", "Use a const here (edited)"))).created).toBe(false);
    expect((await rows()).map((r) => [r.dedupKey, r.value])).toEqual([
      ["review-comment:1", "Use a const here"],
      ["review-comment:2", "Missing test"],
    ]);
  });

  it("rolls back with the transaction it was written in, and commits with it", async () => {
    const lost = inferenceItem(METRICS.patchApplied, true);
    await expect(
      store.db.transaction(async (tx) => {
        await recordFeedback(tx, lost, now());
        throw new Error("the outcome write failed");
      }),
    ).rejects.toThrow("the outcome write failed");
    expect(await rows()).toEqual([]);

    const kept = inferenceItem(METRICS.patchApplied, false);
    await store.db.transaction(async (tx) => {
      await tx.insert(fixAttempts).values({
        id: "attempt-1",
        repoSlug: "acme/widgets",
        chainId: "chain-1",
        triggerProvider: "github-actions",
        triggerRunId: "42",
        headSha: "abc",
        createdAt: now().toISOString(),
        updatedAt: now().toISOString(),
      });
      await recordFeedback(tx, kept, now());
    });
    expect((await rows()).map((r) => r.targetId)).toEqual([kept.target.id]);
    expect(await store.db.select().from(fixAttempts)).toHaveLength(1);
  });

  it("throws at record time for the wrong level, an unknown metric or a malformed value, and writes nothing", async () => {
    const cases: [FeedbackItem, RegExp][] = [
      [episodeItem(METRICS.ciPassed, true), /fixloop_ci_passed is inference-level feedback, but the target is an episode/],
      [inferenceItem(METRICS.prMerged, true), /fixloop_pr_merged is episode-level feedback, but the target is an inference/],
      [episodeItem(DEMONSTRATION_METRIC, "diff --git a/x b/x"), /demonstration is inference-level/],
      [inferenceItem("fixloop_ci_passd", true), /unknown metric "fixloop_ci_passd"/],
      [inferenceItem("toString", true), /unknown metric "toString"/],
      [inferenceItem(METRICS.ciPassed, 1), /boolean metric, got number 1/],
      [inferenceItem(COMMENT_METRIC, { text: "x" }), /comment value must be a non-empty string/],
      [inferenceItem(COMMENT_METRIC, "  "), /comment value must be a non-empty string/],
      [inferenceItem(DEMONSTRATION_METRIC, ""), /demonstration value must be/],
      [{ ...inferenceItem(METRICS.ciPassed, true), target: { type: "inference", id: " " } }, /id is empty/],
      [inferenceItem(METRICS.ciPassed, true, { tags: { pr: 12 as unknown as string } }), /tag "pr" must be a string/],
      [inferenceItem(METRICS.ciPassed, true, { tags: { "tensorzero::x": "y" } }), /reserved tensorzero:: prefix/],
    ];
    for (const [item, message] of cases) {
      await expect(recordFeedback(store.db, item), item.metricName).rejects.toThrow(InvalidFeedbackError);
      await expect(recordFeedback(store.db, item), item.metricName).rejects.toThrow(message);
    }
    expect(await rows()).toEqual([]);
  });
});

describe("metric names against tensorzero.toml", () => {
  it("accepts exactly the toml's metrics at their levels, plus TensorZero's built-in demonstration and comment", async () => {
    const { metrics } = await readTensorZeroConfig();
    const fromToml = Object.fromEntries(metrics.map((m) => [m.name, [m.level]]));
    const { [DEMONSTRATION_METRIC]: demonstration, [COMMENT_METRIC]: comment, ...configured } = FEEDBACK_LEVELS;
    expect(configured).toEqual(fromToml);
    expect(demonstration).toEqual(["inference"]);
    expect([...comment].sort()).toEqual(["episode", "inference"]);
    // A [metrics.demonstration] or [metrics.comment] section would clash with the built-ins.
    expect(Object.keys(fromToml)).not.toContain(DEMONSTRATION_METRIC);
    expect(Object.keys(fromToml)).not.toContain(COMMENT_METRIC);
  });
});

describe("drainFeedbackOutbox", () => {
  it("sends TensorZero's exact /feedback bodies for inference and episode metrics, demonstrations and comments", async () => {
    const ci = inferenceItem(METRICS.ciPassed, true, { tags: { repo: "acme/widgets", run_id: "42" } });
    const merged = episodeItem(METRICS.prMerged, false);
    const diff = "--- a/src/x.ts\n+++ b/src/x.ts\n@@ -1 +1 @@\n-const x = 1\n+const x = 2\n";
    const demonstration = inferenceItem(DEMONSTRATION_METRIC, diff, { tags: { source: "merged_diff" } });
    const comment = inferenceItem(COMMENT_METRIC, "Please keep the old name for the export", { dedupKey: "review-comment:77" });
    const episodeComment = episodeItem(COMMENT_METRIC, "Reverted: broke the nightly build");
    for (const item of [ci, merged, demonstration, comment, episodeComment]) await recordFeedback(store.db, item, now());
    const gateway = acceptingGateway(5);

    const result = await drainFeedbackOutbox(deps({ concurrency: 1 }));

    expect(result).toEqual({ sent: 5, retrying: 0, dead: 0, skipped: 0 });
    expect(gateway.scope.isDone()).toBe(true);
    expect(gateway.bodies).toEqual([
      { metric_name: "fixloop_ci_passed", inference_id: ci.target.id, value: true, tags: { repo: "acme/widgets", run_id: "42" } },
      { metric_name: "fixloop_pr_merged", episode_id: merged.target.id, value: false },
      { metric_name: "demonstration", inference_id: demonstration.target.id, value: diff, tags: { source: "merged_diff" } },
      { metric_name: "comment", inference_id: comment.target.id, value: "Please keep the old name for the export" },
      { metric_name: "comment", episode_id: episodeComment.target.id, value: "Reverted: broke the nightly build" },
    ]);
    const stored = await rows();
    expect(stored.map((r) => r.status)).toEqual(["sent", "sent", "sent", "sent", "sent"]);
    expect(stored.map((r) => r.gatewayFeedbackId)).toEqual(gateway.ids);
    expect(stored.every((r) => r.sentAt === now().toISOString() && r.tries === 1 && r.claimedUntil === null)).toBe(true);
  });

  it("never sends a row twice: a repeated event after sending creates nothing and a later drain sends nothing", async () => {
    const item = episodeItem(METRICS.heldUp, true);
    await recordFeedback(store.db, item, now());
    await recordFeedback(store.db, item, now());
    const gateway = acceptingGateway(1);
    expect(await drainFeedbackOutbox(deps())).toEqual({ sent: 1, retrying: 0, dead: 0, skipped: 0 });
    expect(gateway.scope.isDone()).toBe(true);

    advance(HOUR);
    expect((await recordFeedback(store.db, item, now())).created).toBe(false);
    // No interceptor is left: a request now would fail (and show up as retrying).
    expect(await drainFeedbackOutbox(deps())).toEqual({ sent: 0, retrying: 0, dead: 0, skipped: 0 });
    expect(gateway.bodies).toHaveLength(1);
  });

  it("waits for a target TensorZero has not written yet, then sends it", async () => {
    const item = inferenceItem(METRICS.patchApplied, true);
    await recordFeedback(store.db, item, now());
    const missing = nock(GATEWAY)
      .post("/feedback")
      .reply(400, { error: `Inference ID: ${item.target.id} does not exist` });

    expect(await drainFeedbackOutbox(deps())).toEqual({ sent: 0, retrying: 1, dead: 0, skipped: 0 });
    expect(missing.isDone()).toBe(true);
    let [row] = await rows();
    expect(row).toMatchObject({ status: "pending", tries: 1, targetMissingSince: "2025-03-01T12:00:00.000Z", claimedUntil: null });
    expect(row.lastError).toMatch(/does not exist/);
    expect(Date.parse(row.nextTryAt) - clock).toBe(2 * SECOND);

    // Not due yet: this drain makes no request.
    expect(await drainFeedbackOutbox(deps())).toEqual({ sent: 0, retrying: 0, dead: 0, skipped: 0 });

    advance(2 * SECOND);
    const gateway = acceptingGateway(1);
    expect(await drainFeedbackOutbox(deps())).toEqual({ sent: 1, retrying: 0, dead: 0, skipped: 0 });
    expect(gateway.scope.isDone()).toBe(true);
    [row] = await rows();
    expect(row).toMatchObject({ status: "sent", tries: 2, targetMissingSince: null, lastError: null, gatewayFeedbackId: gateway.ids[0] });
  });

  it("gives up on a target still missing after 24 hours, with growing waits in between", async () => {
    const item = episodeItem(METRICS.prReverted, false);
    await recordFeedback(store.db, item, now());
    const scope = nock(GATEWAY)
      .post("/feedback")
      .reply(400, { error: `Episode ID: ${item.target.id} does not exist` })
      .persist();
    const start = clock;
    const waits: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      const result = await drainFeedbackOutbox(deps());
      const [row] = await rows();
      if (row.status === "dead") {
        expect(result.dead).toBe(1);
        break;
      }
      waits.push(Date.parse(row.nextTryAt) - clock);
      clock = Date.parse(row.nextTryAt);
    }
    expect(scope.isDone()).toBe(true);
    const [row] = await rows();
    expect(row.status).toBe("dead");
    expect(row.lastError).toMatch(/does not exist.*still missing 24 h/);
    expect(clock - start).toBeGreaterThanOrEqual(24 * HOUR);
    expect(clock - start).toBeLessThan(24 * HOUR + 10 * 60 * SECOND);
    expect(waits[0]).toBe(2 * SECOND);
    expect(Math.max(...waits)).toBe(10 * 60 * SECOND);
    for (let i = 1; i < waits.length; i++) expect(waits[i]).toBeGreaterThanOrEqual(waits[i - 1]);
    // Short waits early, a ten-minute cadence later: about 150 tries in a day, not thousands.
    expect(row.tries).toBeLessThan(200);
  });

  it("loses nothing and duplicates nothing while the gateway is down for hours, then drains everything", async () => {
    const items = [
      inferenceItem(METRICS.ciPassed, true),
      inferenceItem(METRICS.patchApplied, true),
      episodeItem(METRICS.prMerged, true),
      inferenceItem(COMMENT_METRIC, "nit: rename", { dedupKey: "c1" }),
      inferenceItem(DEMONSTRATION_METRIC, "+fixed\n"),
    ];
    for (const item of items) await recordFeedback(store.db, item, now());

    // Six hours of outage: refused connections, then 503s from a proxy in front of the gateway.
    let outageRequests = 0;
    const refused = nock(GATEWAY)
      .post("/feedback")
      .replyWithError(Object.assign(new Error("connect ECONNREFUSED 10.0.0.5:3000"), { code: "ECONNREFUSED" }))
      .persist();
    refused.on("request", () => outageRequests++);
    for (let hour = 0; hour < 3; hour++) {
      const result = await drainFeedbackOutbox(deps());
      expect(result.sent + result.dead).toBe(0);
      expect(result.retrying).toBeGreaterThanOrEqual(1);
      expect(result.retrying + result.skipped).toBeLessThanOrEqual(items.length);
      advance(HOUR);
    }
    nock.cleanAll();
    const unavailable = nock(GATEWAY).post("/feedback").reply(503, "upstream connect error").persist();
    unavailable.on("request", () => outageRequests++);
    for (let hour = 0; hour < 3; hour++) {
      const result = await drainFeedbackOutbox(deps());
      expect(result.sent + result.dead).toBe(0);
      advance(HOUR);
    }
    nock.cleanAll();
    expect(outageRequests).toBeGreaterThanOrEqual(6);

    const during = await rows();
    expect(during.map((r) => r.status)).toEqual(["pending", "pending", "pending", "pending", "pending"]);
    for (const row of during) {
      // Never waits past the one-hour cap, so the outbox drains within the hour the gateway is back.
      expect(Date.parse(row.nextTryAt) - (clock - HOUR)).toBeLessThanOrEqual(HOUR);
      if (row.tries > 0) expect(row.lastError).toMatch(/unreachable|503/);
    }

    const gateway = acceptingGateway(items.length);
    for (let i = 0; i < 10 && (await feedbackCounts(store)).pending > 0; i++) {
      await drainFeedbackOutbox(deps());
      advance(HOUR);
    }
    expect(gateway.scope.isDone()).toBe(true);
    expect(await feedbackCounts(store)).toEqual({ pending: 0, sent: 5, dead: 0 });
    const targets = gateway.bodies.map((b) => String(b.inference_id ?? b.episode_id));
    expect(new Set(targets).size).toBe(items.length);
    expect(targets.sort()).toEqual(items.map((i) => i.target.id).sort());
  });

  it("backs off 5 s, 10 s, 20 s… while the gateway answers 503, and never marks the row dead", async () => {
    await recordFeedback(store.db, inferenceItem(METRICS.ciPassed, false), now());
    const scope = nock(GATEWAY).post("/feedback").reply(503, { error: "overloaded" }).persist();
    const waits: number[] = [];
    for (let i = 0; i < 14; i++) {
      expect(await drainFeedbackOutbox(deps())).toEqual({ sent: 0, retrying: 1, dead: 0, skipped: 0 });
      const [row] = await rows();
      waits.push(Date.parse(row.nextTryAt) - clock);
      clock = Date.parse(row.nextTryAt);
    }
    expect(scope.isDone()).toBe(true);
    expect(waits.slice(0, 4)).toEqual([5 * SECOND, 10 * SECOND, 20 * SECOND, 40 * SECOND]);
    expect(waits.at(-1)).toBe(HOUR);
    const [row] = await rows();
    expect(row).toMatchObject({ status: "pending", tries: 14 });
    expect(row.lastError).toMatch(/503: overloaded/);
  });

  it("marks a permanent rejection dead with the gateway's error, and retry sends it again", async () => {
    const ok = inferenceItem(METRICS.ciPassed, true);
    const rejected = inferenceItem(METRICS.patchApplied, true);
    await recordFeedback(store.db, ok, now());
    await recordFeedback(store.db, rejected, now());
    let bodies = 0;
    nock(GATEWAY)
      .post("/feedback", (b: { inference_id: string }) => b.inference_id === ok.target.id && ++bodies > 0)
      .reply(200, { feedback_id: v7() });
    const refuse = nock(GATEWAY)
      .post("/feedback", (b: { inference_id: string }) => b.inference_id === rejected.target.id)
      .reply(400, { error: "Feedback metric `fixloop_patch_applied` is not defined for this function" });

    expect(await drainFeedbackOutbox(deps())).toEqual({ sent: 1, retrying: 0, dead: 1, skipped: 0 });
    expect(refuse.isDone()).toBe(true);
    const dead = (await listFeedback(store, { status: "dead" }))[0];
    expect(dead).toMatchObject({ targetId: rejected.target.id, tries: 1, claimedUntil: null });
    expect(dead.lastError).toMatch(/400: Feedback metric `fixloop_patch_applied` is not defined/);

    // Dead rows stay put on their own.
    advance(24 * HOUR);
    expect(await drainFeedbackOutbox(deps())).toEqual({ sent: 0, retrying: 0, dead: 0, skipped: 0 });

    expect(await retryFeedback(store, {}, now())).toBe(1);
    expect(await getFeedback(store, dead.id)).toMatchObject({ status: "pending", tries: 0, nextTryAt: now().toISOString() });
    const gateway = acceptingGateway(1);
    expect(await drainFeedbackOutbox(deps())).toEqual({ sent: 1, retrying: 0, dead: 0, skipped: 0 });
    expect(gateway.bodies).toEqual([{ metric_name: "fixloop_patch_applied", inference_id: rejected.target.id, value: true }]);
    expect(bodies).toBe(1);
    // Sent rows are never revived.
    expect(await retryFeedback(store, {}, now())).toBe(0);
    expect(await retryFeedback(store, { id: dead.id }, now())).toBe(0);
  });

  it("retry makes a backing-off row due now, but leaves a row another sender holds alone", async () => {
    const waiting = inferenceItem(METRICS.ciPassed, true);
    const held = inferenceItem(METRICS.patchApplied, true);
    await recordFeedback(store.db, waiting, now());
    nock(GATEWAY).post("/feedback").reply(503, "down");
    await drainFeedbackOutbox(deps({ limit: 1 }));
    await recordFeedback(store.db, held, now());
    const claim = await claimNextFeedback(store, 120 * SECOND, now());
    expect(claim?.targetId).toBe(held.target.id);

    expect(await retryFeedback(store, {}, now())).toBe(2);
    const gateway = acceptingGateway(1);
    expect(await drainFeedbackOutbox(deps())).toEqual({ sent: 1, retrying: 0, dead: 0, skipped: 0 });
    expect(gateway.bodies.map((b) => b.inference_id)).toEqual([waiting.target.id]);
  });

  it("sends a row again after a sender died holding it, once its claim expires", async () => {
    const item = episodeItem(METRICS.prMerged, true);
    await recordFeedback(store.db, item, now());
    expect(await claimNextFeedback(store, 120 * SECOND, now())).not.toBeNull();

    expect(await drainFeedbackOutbox(deps())).toEqual({ sent: 0, retrying: 0, dead: 0, skipped: 0 });
    advance(120 * SECOND);
    const gateway = acceptingGateway(1);
    expect(await drainFeedbackOutbox(deps())).toEqual({ sent: 1, retrying: 0, dead: 0, skipped: 0 });
    expect(gateway.scope.isDone()).toBe(true);
    expect((await rows())[0]).toMatchObject({ status: "sent", tries: 2 });
  });

  it("refuses the late answer of a sender whose claim expired while another sender took the row over", async () => {
    const item = inferenceItem(METRICS.ciPassed, true);
    await recordFeedback(store.db, item, now());
    let release!: () => void;
    let sendStarted!: () => void;
    const started = new Promise<void>((resolve) => (sendStarted = resolve));
    const stalled = drainFeedbackOutbox(
      deps({
        send: async () => {
          sendStarted();
          await new Promise<void>((resolve) => (release = resolve));
          throw new FeedbackGatewayUnavailableError("TensorZero /feedback unreachable: socket hang up", null);
        },
      }),
    );
    await started;
    advance(121 * SECOND);
    const gateway = acceptingGateway(1);
    expect(await drainFeedbackOutbox(deps())).toEqual({ sent: 1, retrying: 0, dead: 0, skipped: 0 });
    release();
    // The stalled sender's "retry later" must not put the sent row back in line.
    expect(await stalled).toEqual({ sent: 0, retrying: 0, dead: 0, skipped: 0 });
    expect((await rows())[0]).toMatchObject({ status: "sent", gatewayFeedbackId: gateway.ids[0], lastError: null, claimedUntil: null });
  });

  it("sends each row once when two senders on one file drain at the same time", async () => {
    const items = Array.from({ length: 30 }, (_, i) =>
      i % 2 === 0 ? inferenceItem(METRICS.ciPassed, i % 4 === 0) : episodeItem(METRICS.heldUp, true, { attemptId: `attempt-${i}` }),
    );
    for (const item of items) await recordFeedback(store.db, item, now());
    const other: Store = await openStore({ url: `file:${join(store.dir, "fixloop.db")}` });
    try {
      const gateway = acceptingGateway(items.length);
      const [a, b] = await Promise.all([
        drainFeedbackOutbox(deps({ concurrency: 4 })),
        drainFeedbackOutbox(deps({ store: other, concurrency: 4 })),
      ]);
      expect(a.sent + b.sent).toBe(items.length);
      expect(a.retrying + b.retrying + a.dead + b.dead).toBe(0);
      expect(gateway.scope.isDone()).toBe(true);
      const targets = gateway.bodies.map((body) => String(body.inference_id ?? body.episode_id));
      expect(targets).toHaveLength(items.length);
      expect(new Set(targets).size).toBe(items.length);
      expect(await feedbackCounts(store)).toEqual({ pending: 0, sent: items.length, dead: 0 });
    } finally {
      other.close();
    }
  });

  it("sends nothing and says how many rows wait when no gateway is configured", async () => {
    await recordFeedback(store.db, inferenceItem(METRICS.ciPassed, true), now());
    await recordFeedback(store.db, episodeItem(METRICS.prMerged, true), now());
    const warnings: string[] = [];
    const log = silentLog();
    log.warn = ((...args: unknown[]) => void warnings.push(String(args.at(-1)))) as typeof log.warn;

    expect(await drainFeedbackOutbox(deps({ gateway: null, log }))).toEqual({ sent: 0, retrying: 0, dead: 0, skipped: 2 });
    expect(warnings.join("\n")).toMatch(/TENSORZERO_URL is not set/);
    expect((await rows()).map((r) => [r.status, r.tries, r.claimedUntil])).toEqual([
      ["pending", 0, null],
      ["pending", 0, null],
    ]);
  });

  it("stops at the limit and counts what it left as skipped", async () => {
    for (let i = 0; i < 5; i++) await recordFeedback(store.db, inferenceItem(METRICS.ciPassed, true), now());
    const gateway = acceptingGateway(2);
    expect(await drainFeedbackOutbox(deps({ limit: 2 }))).toEqual({ sent: 2, retrying: 0, dead: 0, skipped: 3 });
    expect(gateway.scope.isDone()).toBe(true);
  });

  it("marks a row dead when the sender fails with something that is not a gateway answer", async () => {
    await recordFeedback(store.db, inferenceItem(METRICS.ciPassed, true), now());
    const result = await drainFeedbackOutbox(
      deps({
        send: async () => {
          throw new TypeError("Cannot read properties of undefined");
        },
      }),
    );
    expect(result).toEqual({ sent: 0, retrying: 0, dead: 1, skipped: 0 });
    expect((await rows())[0].lastError).toBe("unexpected: TypeError: Cannot read properties of undefined");
  });
});

describe("createFeedbackSender", () => {
  it("drains in the background until stopped, and drainOnce runs after a drain in progress", async () => {
    const gateway = acceptingGateway(3);
    const sender = createFeedbackSender({ store, gateway: { url: GATEWAY }, log: silentLog(), intervalMs: 10 });
    await recordFeedback(store.db, inferenceItem(METRICS.ciPassed, true));
    sender.start();
    sender.start();
    await waitFor(async () => (await feedbackCounts(store)).sent === 1);
    await recordFeedback(store.db, episodeItem(METRICS.prMerged, true));
    await waitFor(async () => (await feedbackCounts(store)).sent === 2);
    await sender.stop();

    await recordFeedback(store.db, episodeItem(METRICS.prReverted, false));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await feedbackCounts(store)).pending).toBe(1);
    expect(await sender.drainOnce()).toEqual({ sent: 1, retrying: 0, dead: 0, skipped: 0 });
    expect(gateway.scope.isDone()).toBe(true);
  });

  it("pauses longer after each drain that found the gateway down, instead of probing every interval", async () => {
    await recordFeedback(store.db, inferenceItem(METRICS.ciPassed, true));
    let tries = 0;
    const sender = createFeedbackSender({
      store,
      gateway: { url: GATEWAY },
      log: silentLog(),
      intervalMs: 10,
      // Rows due again at once, so only the sender's own pause spaces the tries out.
      policy: { unavailable: { baseMs: 1, factor: 1, capMs: 1, jitter: 0 } },
      random: () => 0.5,
      send: async () => {
        tries++;
        throw new FeedbackGatewayUnavailableError("TensorZero /feedback unreachable: ECONNREFUSED", null);
      },
    });
    sender.start();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await sender.stop();
    // Pauses of 10, 20, 40, 80, 160, 320 ms fit at most 6 tries in half a second; a fixed 10 ms interval would fit dozens.
    expect(tries).toBeGreaterThanOrEqual(3);
    expect(tries).toBeLessThanOrEqual(7);
    expect((await rows())[0]).toMatchObject({ status: "pending", tries });
  });

  it("does not start a loop without a gateway; drainOnce reports the waiting rows", async () => {
    const sender = createFeedbackSender({ store, gateway: null, log: silentLog(), intervalMs: 10 });
    await recordFeedback(store.db, inferenceItem(METRICS.ciPassed, true));
    sender.start();
    expect(await sender.drainOnce()).toEqual({ sent: 0, retrying: 0, dead: 0, skipped: 1 });
    await sender.stop();
  });
});

describe("migration 0001_feedback_dedup", () => {
  it("keeps rows written before it, with an empty dedup key", async () => {
    const url = `file:${join(store.dir, "old.db")}`;
    const old = await openStore({ url, migrate: false });
    try {
      // The database as 0000_init left it, with one migration recorded the way drizzle's migrator does.
      const init = readFileSync(join(MIGRATIONS_FOLDER, "0000_init.sql"), "utf8");
      const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as { entries: { tag: string; when: number }[] };
      for (const statement of init.split("--> statement-breakpoint")) if (statement.trim()) await old.client.execute(statement);
      await old.client.execute('CREATE TABLE "__drizzle_migrations" (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric)');
      await old.client.execute({
        sql: 'INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES (?, ?)',
        args: [createHash("sha256").update(init).digest("hex"), journal.entries.find((e) => e.tag === "0000_init")!.when],
      });
      await old.client.execute(
        `INSERT INTO feedback (metric_name, target_type, target_id, value, status, next_try_at, created_at) VALUES ('fixloop_ci_passed', 'inference', 'inf-1', 'true', 'pending', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')`,
      );
    } finally {
      old.close();
    }

    const upgraded = await openStore({ url });
    try {
      const [row] = await upgraded.db.select().from(feedback).where(eq(feedback.targetId, "inf-1"));
      expect(row).toMatchObject({ metricName: "fixloop_ci_passed", dedupKey: "", status: "pending", claimedUntil: null, targetMissingSince: null });
      const indexes = await upgraded.db.all<{ name: string }>(sql`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'feedback' ORDER BY name`);
      expect(indexes.map((i) => i.name)).toEqual(["feedback_status_next_idx", "feedback_target_metric_dedup_uq"]);
    } finally {
      upgraded.close();
    }
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
