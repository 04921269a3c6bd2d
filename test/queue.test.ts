import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  backoffDelayMs,
  claimNextJob,
  createLibsqlQueue,
  createWorker,
  DEFAULT_BACKOFF,
  getJob,
  jobReason,
  LeaseLostError,
  listJobs,
  PermanentJobError,
  retryJob,
  settleJob,
  type JobContext,
  type JobHandler,
  type WorkerOptions,
} from "../src/queue/index.js";
import { openStore, type Store } from "../src/store/db.js";
import { createTempStore, type TempStore } from "./helpers.js";

const START = Date.parse("2025-03-01T12:00:00.000Z");

/** A clock the test moves by hand: no sleeps to wait for a lease or a backoff. */
function manualClock() {
  let t = START;
  return {
    now: () => new Date(t),
    advance(ms: number) {
      t += ms;
    },
    iso: (offsetMs = 0) => new Date(t + offsetMs).toISOString(),
  };
}

/** A pino logger whose records the test can read. */
function captureLog() {
  const records: { level: number; msg: string; [key: string]: unknown }[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => void records.push(JSON.parse(line)) });
  return { log, records };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

let store: TempStore;
let clock: ReturnType<typeof manualClock>;
beforeEach(async () => {
  store = await createTempStore();
  clock = manualClock();
});
afterEach(() => store.dispose());

function worker(handlers: Record<string, JobHandler>, options: Partial<WorkerOptions> = {}) {
  return createWorker({ store, handlers, now: clock.now, log: pino({ level: "silent" }), random: () => 0.5, ...options });
}

describe("enqueue", () => {
  test("a dedup key yields one job; the second enqueue gets the first job back untouched", async () => {
    const queue = createLibsqlQueue(store, { now: clock.now });
    const first = await queue.enqueue("fix", { run: 1 }, { dedupKey: "run:1", maxAttempts: 3 });
    const again = await queue.enqueue("fix", { run: "changed" }, { dedupKey: "run:1" });
    const other = await queue.enqueue("fix", { run: 2 }, { dedupKey: "run:2" });
    const keyless = [await queue.enqueue("fix", { n: 1 }), await queue.enqueue("fix", { n: 1 })];

    expect(first).toEqual({ id: first.id, created: true });
    expect(again).toEqual({ id: first.id, created: false });
    expect(other.created).toBe(true);
    expect(new Set([first.id, other.id, keyless[0].id, keyless[1].id]).size).toBe(4);

    const job = await getJob(store, first.id);
    expect(job).toMatchObject({ kind: "fix", payload: { run: 1 }, status: "queued", attempts: 0, maxAttempts: 3, runAfter: clock.iso() });
    expect(await listJobs(store)).toHaveLength(4);
  });

  test("runAfter delays a job; bad options are refused", async () => {
    const queue = createLibsqlQueue(store, { now: clock.now });
    const { id } = await queue.enqueue("later", {}, { runAfter: new Date(START + 60_000) });
    expect(await claimNextJob(store, "w", 1000, clock.now())).toBeNull();
    clock.advance(60_000);
    expect((await claimNextJob(store, "w", 1000, clock.now()))?.id).toBe(id);

    await expect(queue.enqueue("x", {}, { maxAttempts: 0 })).rejects.toThrow(/maxAttempts/);
    await expect(queue.enqueue("", {})).rejects.toThrow(/kind/);
    await expect(queue.enqueue("x", undefined)).rejects.toThrow(/payload/);
  });
});

describe("claiming", () => {
  test("oldest due job first, counted as an attempt, under a lease; a held lease is not claimable", async () => {
    const queue = createLibsqlQueue(store, { now: clock.now });
    const later = await queue.enqueue("k", { n: "later" }, { runAfter: new Date(START + 10) });
    const sooner = await queue.enqueue("k", { n: "sooner" }, { runAfter: new Date(START - 10) });
    clock.advance(10);

    const a = await claimNextJob(store, "owner-a", 30_000, clock.now());
    expect(a).toMatchObject({ id: sooner.id, status: "running", attempts: 1, leaseOwner: "owner-a", leaseExpiresAt: clock.iso(30_000) });
    const b = await claimNextJob(store, "owner-b", 30_000, clock.now());
    expect(b?.id).toBe(later.id);
    expect(await claimNextJob(store, "owner-c", 30_000, clock.now())).toBeNull();
  });

  test("racing claims from two connections on one file: every job is claimed exactly once", async () => {
    const queue = createLibsqlQueue(store);
    for (let i = 0; i < 20; i++) await queue.enqueue("k", { i });
    const second = await openStore({ url: `file:${join(store.dir, "fixloop.db")}` });
    try {
      const claims = await Promise.all(
        Array.from({ length: 60 }, (_, i) => claimNextJob(i % 2 ? second : store, `w${i}`, 60_000)),
      );
      const ids = claims.filter((job) => job !== null).map((job) => job!.id);
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
    } finally {
      second.close();
    }
  });

  test("two workers on separate connections to one file run each of many jobs exactly once", async () => {
    const queue = createLibsqlQueue(store);
    const total = 120;
    for (let i = 0; i < total; i++) await queue.enqueue("count", { i });
    const second = await openStore({ url: `file:${join(store.dir, "fixloop.db")}` });
    const runs: { id: number; by: string }[] = [];
    const handler = (by: string): JobHandler => async (_payload, ctx) => {
      runs.push({ id: ctx.job.id, by });
      await sleep(1);
      return { status: "done", result: { by } };
    };
    try {
      const silent = pino({ level: "silent" });
      const one = createWorker({ store, handlers: { count: handler("one") }, concurrency: 4, log: silent, owner: "one" });
      const two = createWorker({ store: second, handlers: { count: handler("two") }, concurrency: 4, log: silent, owner: "two" });
      const [ranOne, ranTwo] = await Promise.all([one.runDue(), two.runDue()]);

      expect(ranOne + ranTwo).toBe(total);
      expect(runs).toHaveLength(total);
      expect(new Set(runs.map((r) => r.id)).size).toBe(total);
      expect(ranOne).toBeGreaterThan(0);
      expect(ranTwo).toBeGreaterThan(0);
      const done = await listJobs(store, { status: "done", limit: 1000 });
      expect(done).toHaveLength(total);
      // The row records the same worker that ran the job.
      for (const job of done) expect((job.result as { by: string }).by).toBe(runs.find((r) => r.id === job.id)!.by);
    } finally {
      second.close();
    }
  });
});

describe("outcomes", () => {
  test("done stores the result; skipped stores its reason where listings show it", async () => {
    const queue = createLibsqlQueue(store, { now: clock.now });
    const done = await queue.enqueue("ok", { a: 1 });
    const skipped = await queue.enqueue("skip", {});
    const seen: unknown[] = [];
    const ran = await worker({
      ok: async (payload) => {
        seen.push(payload);
        return { status: "done", result: { pr: 7 } };
      },
      skip: async () => ({ status: "skipped", reason: "budget", result: { spentUsd: 12 } }),
    }).runDue();

    expect(ran).toBe(2);
    expect(seen).toEqual([{ a: 1 }]);
    expect(await getJob(store, done.id)).toMatchObject({ status: "done", attempts: 1, result: { pr: 7 }, lastError: null, leaseExpiresAt: null });
    const s = (await getJob(store, skipped.id))!;
    expect(s).toMatchObject({ status: "skipped", result: { reason: "budget", result: { spentUsd: 12 } } });
    expect(jobReason(s)).toBe("budget");
    expect((await listJobs(store, { status: "skipped" })).map((j) => j.id)).toEqual([skipped.id]);
  });

  test("thrown errors back off exponentially, then the job is dead with the last error", async () => {
    const { id } = await createLibsqlQueue(store, { now: clock.now }).enqueue("flaky", {}, { maxAttempts: 4 });
    let calls = 0;
    const w = worker({
      flaky: async () => {
        calls++;
        throw new Error(`gateway 502 #${calls}`);
      },
    });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await w.runDue()).toBe(1);
      const job = (await getJob(store, id))!;
      expect(job).toMatchObject({ status: "queued", attempts: attempt, lastError: `Error: gateway 502 #${attempt} (attempt ${attempt} of 4)` });
      const delay = Date.parse(job.runAfter) - clock.now().getTime();
      delays.push(delay);
      // Not due yet: a drain now runs nothing.
      expect(await w.runDue()).toBe(0);
      clock.advance(delay);
    }
    expect(delays).toEqual([5_000, 10_000, 20_000]);

    expect(await w.runDue()).toBe(1);
    expect(await getJob(store, id)).toMatchObject({ status: "dead", attempts: 4, lastError: "Error: gateway 502 #4 (attempt 4 of 4)" });
    clock.advance(24 * 3600_000);
    expect(await w.runDue()).toBe(0);
    expect(calls).toBe(4);
  });

  test("backoff schedule: base × factor^(n−1), jitter within bounds and never reorders, capped", () => {
    const nominal = Array.from({ length: 12 }, (_, i) => backoffDelayMs(i + 1, DEFAULT_BACKOFF, () => 0.5));
    expect(nominal.slice(0, 5)).toEqual([5_000, 10_000, 20_000, 40_000, 80_000]);
    expect(nominal.slice(8)).toEqual([900_000, 900_000, 900_000, 900_000]);
    expect(backoffDelayMs(1000, DEFAULT_BACKOFF, () => 0.999)).toBe(900_000);
    for (let n = 1; n <= 8; n++) {
      const low = backoffDelayMs(n, DEFAULT_BACKOFF, () => 0);
      const high = backoffDelayMs(n, DEFAULT_BACKOFF, () => 0.9999);
      expect(low).toBe(Math.round(nominal[n - 1] * 0.9));
      expect(high).toBeLessThanOrEqual(Math.min(900_000, Math.round(nominal[n - 1] * 1.1)));
      // The luckiest draw of attempt n still comes before the unluckiest of attempt n+1.
      expect(high).toBeLessThan(backoffDelayMs(n + 1, DEFAULT_BACKOFF, () => 0));
    }
  });

  test("wait reschedules without consuming an attempt", async () => {
    const { id } = await createLibsqlQueue(store, { now: clock.now }).enqueue("model", {}, { maxAttempts: 1 });
    let calls = 0;
    const w = worker({
      model: async () => (++calls < 3 ? { status: "wait", delayMs: 30_000, reason: "circuit breaker open" } : { status: "done" }),
    });
    for (let i = 0; i < 2; i++) {
      expect(await w.runDue()).toBe(1);
      expect(await getJob(store, id)).toMatchObject({ status: "queued", attempts: 0, runAfter: clock.iso(30_000), lastError: "waiting: circuit breaker open" });
      expect(await w.runDue()).toBe(0);
      clock.advance(30_000);
    }
    expect(await w.runDue()).toBe(1);
    // One real attempt of one allowed, though the handler ran three times.
    expect(await getJob(store, id)).toMatchObject({ status: "done", attempts: 1, maxAttempts: 1 });
  });

  test("PermanentJobError fails the job at once", async () => {
    const { id } = await createLibsqlQueue(store, { now: clock.now }).enqueue("fix", {});
    const w = worker({
      fix: async () => {
        throw new PermanentJobError("run 42 is on a fork");
      },
    });
    expect(await w.runDue()).toBe(1);
    clock.advance(3600_000);
    expect(await w.runDue()).toBe(0);
    expect(await getJob(store, id)).toMatchObject({ status: "failed", attempts: 1, lastError: "PermanentJobError: run 42 is on a fork" });
  });

  test("an unknown kind fails with a readable error; invalid outcomes fail; non-Errors are retried; the worker goes on", async () => {
    const queue = createLibsqlQueue(store, { now: clock.now });
    const unknown = await queue.enqueue("mystery", {});
    const noOutcome = await queue.enqueue("forgetful", {});
    const thrower = await queue.enqueue("odd", {});
    const syncThrower = await queue.enqueue("sync", {});
    const fine = await queue.enqueue("fine", {});
    const handlers: Record<string, JobHandler> = {
      forgetful: async () => undefined as never,
      odd: async () => {
        throw { code: 418 };
      },
      sync: (() => {
        throw "plain string";
      }) as unknown as JobHandler,
      fine: async () => ({ status: "done" }),
    };
    expect(await worker(handlers, { concurrency: 1 }).runDue()).toBe(5);

    expect(await getJob(store, unknown.id)).toMatchObject({
      status: "failed",
      lastError: 'no handler for job kind "mystery" (known kinds: fine, forgetful, odd, sync)',
    });
    expect(await getJob(store, noOutcome.id)).toMatchObject({ status: "failed", lastError: 'handler for "forgetful" returned no valid outcome (got undefined)' });
    expect(await getJob(store, thrower.id)).toMatchObject({ status: "queued", lastError: 'non-Error thrown: {"code":418} (attempt 1 of 5)' });
    expect(await getJob(store, syncThrower.id)).toMatchObject({ status: "queued", lastError: "plain string (attempt 1 of 5)" });
    expect(await getJob(store, fine.id)).toMatchObject({ status: "done" });
  });

  test("a handler that hangs is abandoned at the time limit, its signal aborted, and retried later", async () => {
    const queue = createLibsqlQueue(store, { now: clock.now });
    const hung = await queue.enqueue("hang", {});
    const after = await queue.enqueue("fine", {});
    let aborted: unknown;
    const w = worker(
      {
        hang: (_payload, ctx) =>
          new Promise(() => {
            ctx.signal.addEventListener("abort", () => (aborted = ctx.signal.reason));
          }),
        fine: async () => ({ status: "done" }),
      },
      { concurrency: 1, jobTimeoutMs: 30 },
    );
    expect(await w.runDue()).toBe(2);
    expect(await getJob(store, hung.id)).toMatchObject({ status: "queued", attempts: 1, lastError: "timed out after 30 ms (attempt 1 of 5)" });
    expect(String(aborted)).toMatch(/timed out/);
    expect(await getJob(store, after.id)).toMatchObject({ status: "done" });
  });
});

describe("leases", () => {
  test("a job whose worker died is taken over once its lease expires", async () => {
    const { id } = await createLibsqlQueue(store, { now: clock.now }).enqueue("fix", { run: 9 });
    // A worker claims the job and dies: nothing ever settles it.
    expect((await claimNextJob(store, "crashed-worker", 60_000, clock.now()))?.id).toBe(id);

    const seen: JobContext["job"][] = [];
    const survivor = worker({
      fix: async (_payload, ctx) => {
        seen.push(ctx.job);
        return { status: "done", result: "resumed" };
      },
    });
    clock.advance(59_000);
    expect(await survivor.runDue()).toBe(0);
    clock.advance(2_000);
    expect(await survivor.runDue()).toBe(1);

    expect(seen[0]).toMatchObject({ attempts: 2, lastError: `lease of crashed-worker expired at ${new Date(START + 60_000).toISOString()}` });
    expect(await getJob(store, id)).toMatchObject({ status: "done", attempts: 2, result: "resumed", lastError: null });
  });

  test("a takeover after the final attempt makes the job dead without running it", async () => {
    const { id } = await createLibsqlQueue(store, { now: clock.now }).enqueue("fix", {}, { maxAttempts: 1 });
    await claimNextJob(store, "crashed-worker", 1_000, clock.now());
    clock.advance(5_000);
    let ran = false;
    expect(
      await worker({
        fix: async () => {
          ran = true;
          return { status: "done" };
        },
      }).runDue(),
    ).toBe(1);
    expect(ran).toBe(false);
    const job = (await getJob(store, id))!;
    expect(job).toMatchObject({ status: "dead", attempts: 1 });
    expect(job.lastError).toMatch(/^lease of crashed-worker expired at .* on the final attempt: the worker stopped or hung$/);
  });

  test("a zombie worker cannot overwrite the result of the worker that took its job over", async () => {
    const { id } = await createLibsqlQueue(store, { now: clock.now }).enqueue("fix", {});
    const zombieStarted = deferred();
    const releaseZombie = deferred();
    let zombieContext: JobContext | undefined;
    const zombieLog = captureLog();
    const zombie = worker(
      {
        fix: async (_payload, ctx) => {
          zombieStarted.resolve();
          zombieContext = ctx;
          await releaseZombie.promise;
          return { status: "done", result: "zombie" };
        },
      },
      { owner: "zombie", leaseMs: 60_000, log: zombieLog.log },
    );
    const zombieRun = zombie.runDue();
    await zombieStarted.promise;

    // The zombie stalls past its lease; a healthy worker takes the job over.
    clock.advance(61_000);
    const healthyRunning = deferred();
    const finishHealthy = deferred();
    const healthy = worker(
      {
        fix: async () => {
          healthyRunning.resolve();
          await finishHealthy.promise;
          return { status: "done", result: "healthy" };
        },
      },
      { owner: "healthy" },
    );
    const healthyRun = healthy.runDue();
    await healthyRunning.promise;

    // The zombie wakes and reports while the healthy worker still holds the lease: refused.
    releaseZombie.resolve();
    expect(await zombieRun).toBe(1);
    expect(zombieLog.records.some((r) => /outcome is discarded/.test(r.msg))).toBe(true);
    const meanwhile = (await getJob(store, id))!;
    expect(meanwhile).toMatchObject({ status: "running", result: null, attempts: 2 });
    expect(meanwhile.leaseOwner).toMatch(/^healthy#/);
    // Had it sent a heartbeat, it would have learnt it lost the job.
    await expect(zombieContext!.heartbeat()).rejects.toBeInstanceOf(LeaseLostError);
    expect(zombieContext!.signal.aborted).toBe(true);

    finishHealthy.resolve();
    expect(await healthyRun).toBe(1);
    expect(await getJob(store, id)).toMatchObject({ status: "done", result: "healthy", attempts: 2 });

    // And the conditional write itself, directly.
    expect(await settleJob(store, id, "zombie#stale", { status: "done", result: "late" }, clock.now())).toBe(false);
    expect((await getJob(store, id))!.result).toBe("healthy");
  });

  test("a handler whose heartbeat finds the lease taken over stops, and its worker writes nothing", async () => {
    const { id } = await createLibsqlQueue(store, { now: clock.now }).enqueue("fix", {});
    const stalled = deferred();
    const resume = deferred();
    const { log, records } = captureLog();
    const zombie = worker(
      {
        fix: async (_payload, ctx) => {
          stalled.resolve();
          await resume.promise;
          await ctx.heartbeat();
          return { status: "done", result: "never recorded" };
        },
      },
      { log },
    );
    const zombieRun = zombie.runDue();
    await stalled.promise;
    clock.advance(61_000);
    expect(await worker({ fix: async () => ({ status: "skipped", reason: "budget" }) }).runDue()).toBe(1);
    resume.resolve();
    await zombieRun;
    expect(await getJob(store, id)).toMatchObject({ status: "skipped", result: { reason: "budget" } });
    expect(records.some((r) => /lease lost to another worker/.test(r.msg))).toBe(true);
  });

  test("heartbeat extends the lease; the worker also renews it while a handler runs", async () => {
    const queue = createLibsqlQueue(store);
    const { id } = await queue.enqueue("slow", {});
    const leases: (string | null)[] = [];
    // Real clock here: automatic renewal runs on a timer.
    const w = createWorker({
      store,
      log: pino({ level: "silent" }),
      leaseMs: 150,
      handlers: {
        slow: async (_payload, ctx) => {
          leases.push((await getJob(store, id))!.leaseExpiresAt);
          await sleep(450);
          leases.push((await getJob(store, id))!.leaseExpiresAt);
          await ctx.heartbeat();
          leases.push((await getJob(store, id))!.leaseExpiresAt);
          return { status: "done" };
        },
      },
    });
    const running = w.runDue();
    // Well past the first lease's expiry, another worker finds nothing to take over.
    await sleep(300);
    const rival = createWorker({ store, log: pino({ level: "silent" }), handlers: { slow: async () => ({ status: "done", result: "rival" }) } });
    expect(await rival.runDue()).toBe(0);
    expect(await running).toBe(1);
    expect(leases[1]! > leases[0]!).toBe(true);
    expect(leases[2]! >= leases[1]!).toBe(true);
    expect(await getJob(store, id)).toMatchObject({ status: "done", attempts: 1, result: null });
  });
});

describe("retry, list, get", () => {
  test("retry puts a dead job back in line with fresh attempts; a running or unknown job is left alone", async () => {
    const queue = createLibsqlQueue(store, { now: clock.now });
    const { id } = await queue.enqueue("fix", {}, { maxAttempts: 1 });
    let fail = true;
    const w = worker({
      fix: async () => {
        if (fail) throw new Error("boom");
        return { status: "done", result: "second time lucky" };
      },
    });
    await w.runDue();
    expect(await getJob(store, id)).toMatchObject({ status: "dead", attempts: 1 });

    clock.advance(1_000);
    const retried = await retryJob(store, id, clock.now());
    expect(retried).toMatchObject({ id, status: "queued", attempts: 0, runAfter: clock.iso(), lastError: null, result: null });
    fail = false;
    expect(await w.runDue()).toBe(1);
    expect(await getJob(store, id)).toMatchObject({ status: "done", result: "second time lucky" });

    expect(await retryJob(store, 9999)).toBeNull();
    const { id: runningId } = await queue.enqueue("fix", { other: true });
    await claimNextJob(store, "busy", 60_000, clock.now());
    expect(await retryJob(store, runningId)).toBeNull();
    expect(await getJob(store, runningId)).toMatchObject({ status: "running", leaseOwner: "busy" });
    expect(await getJob(store, 9999)).toBeNull();
  });

  test("list filters by status and kind, most recent first, up to a limit", async () => {
    const queue = createLibsqlQueue(store, { now: clock.now });
    const ids = [];
    for (const kind of ["a", "b", "a", "a"]) ids.push((await queue.enqueue(kind, {})).id);
    await claimNextJob(store, "w", 60_000, clock.now());
    expect((await listJobs(store)).map((j) => j.id)).toEqual([...ids].reverse());
    expect((await listJobs(store, { kind: "a" })).map((j) => j.id)).toEqual([ids[3], ids[2], ids[0]]);
    expect((await listJobs(store, { status: "running" })).map((j) => j.id)).toEqual([ids[0]]);
    expect((await listJobs(store, { status: ["queued"], kind: "a", limit: 1 })).map((j) => j.id)).toEqual([ids[3]]);
  });
});

describe("the worker loop", () => {
  test("start runs jobs as they arrive; stop aborts the job in flight and hands it back at once", async () => {
    const queue = createLibsqlQueue(store);
    const done: number[] = [];
    const inFlight = deferred();
    let abortedWith: unknown;
    const w = createWorker({
      store,
      log: pino({ level: "silent" }),
      pollMs: 5,
      handlers: {
        quick: async (_payload, ctx) => {
          done.push(ctx.job.id);
          return { status: "done" };
        },
        // Like a request that never answers: it ends only when its signal aborts.
        slow: async (_payload, ctx) => {
          inFlight.resolve();
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
          abortedWith = ctx.signal.reason;
          throw ctx.signal.reason;
        },
      },
    });
    w.start();
    w.start();
    for (let i = 0; i < 3; i++) await queue.enqueue("quick", { i });
    const slow = await queue.enqueue("slow", {});
    await inFlight.promise;
    const started = Date.now();
    await w.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(String(abortedWith)).toContain("the worker is stopping");
    expect(done).not.toContain(slow.id);
    // Handed back: queued, due now, no lease, the attempt given back, and the reason on the row.
    const handedBack = await getJob(store, slow.id);
    expect(handedBack).toMatchObject({ status: "queued", attempts: 0, leaseExpiresAt: null, lastError: "handed back: the worker stopped while running it" });
    expect(new Date(handedBack!.runAfter).getTime()).toBeLessThanOrEqual(Date.now());
    // Stopped: a new job waits for the next worker.
    const { id } = await queue.enqueue("quick", {});
    await sleep(20);
    expect(await getJob(store, id)).toMatchObject({ status: "queued" });
    expect((await listJobs(store, { status: "done" })).length).toBe(3);
  });

  test("the loop survives a store that fails under it, logging instead of throwing", async () => {
    const broken: Store = await openStore({ url: `file:${join(store.dir, "other.db")}` });
    broken.close();
    const { log, records } = captureLog();
    const w = createWorker({ store: broken, log, pollMs: 5, handlers: {} });
    w.start();
    await sleep(30);
    await w.stop();
    expect(records.filter((r) => r.msg === "could not claim a job; will poll again").length).toBeGreaterThan(1);
  });
});
