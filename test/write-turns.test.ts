/**
 * Write turns between the request thread's appends and the inbox thread's
 * processor (src/inbox/write-turns.ts), here across a real worker thread.
 */
import { Worker } from "node:worker_threads";
import { describe, expect, test, vi } from "vitest";
import { createWriteTurns, GIVE_WAY_MS } from "../src/inbox/write-turns.js";

describe("write turns", () => {
  test("one turn at a time: a second taker waits until the first ends its turn", async () => {
    const turns = createWriteTurns();
    const endFirst = await turns.take();
    let second = false;
    const taking = turns.take().then((end) => {
      second = true;
      return end;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(second).toBe(false);
    endFirst();
    const endSecond = await taking;
    expect(second).toBe(true);
    endSecond();
    // Ending twice frees nothing twice: a third taker still gets the turn only once.
    endFirst();
    const endThird = await turns.take();
    endThird();
  });

  test("the turn is advisory: a taker that waited maxWaitMs goes on (SQLite's own lock still guards the file)", async () => {
    const turns = createWriteTurns();
    await turns.take(); // never ended, as by a thread that died holding it
    const began = performance.now();
    const end = await turns.take(30);
    expect(performance.now() - began).toBeGreaterThanOrEqual(25);
    end();
  });

  test("giveWay returns at once when no append waits, and otherwise when the waiting appends are written", async () => {
    const turns = createWriteTurns();
    let began = performance.now();
    await turns.giveWay();
    expect(performance.now() - began).toBeLessThan(GIVE_WAY_MS);

    // An append is waiting; it takes the turn while the processor gives way, and writes for longer than GIVE_WAY_MS.
    turns.countAppends(1);
    const givingWay = turns.giveWay();
    const end = await turns.take();
    // The processor's next take waits for the appender's turn to end.
    let processorTook = false;
    const processor = givingWay.then(() =>
      turns.take().then((endProcessor) => {
        processorTook = true;
        endProcessor();
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(processorTook).toBe(false);
    // The writer counts its appends out, then ends its turn: that release wakes the processor.
    turns.countAppends(-1);
    end();
    await processor;
    expect(processorTook).toBe(true);
  });

  test("giveWay wakes at the release of the append it waits for, not at its deadline's end only", async () => {
    const turns = createWriteTurns();
    turns.countAppends(1);
    const end = await turns.take();
    const givingWay = turns.giveWay();
    turns.countAppends(-1);
    const released = performance.now();
    end();
    await givingWay;
    expect(performance.now() - released).toBeLessThan(GIVE_WAY_MS);
  });

  test("a quiet side wakes no sleeper when its turn ends; the other side still finds the turn free by looking again", async () => {
    const requestSide = createWriteTurns();
    requestSide.quiet = true;
    const processorSide = createWriteTurns(requestSide.buffer);
    const end = await requestSide.take();
    let processorTook = false;
    const processor = processorSide.take().then((endProcessor) => {
      processorTook = true;
      endProcessor();
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(processorTook).toBe(false);
    const notify = vi.spyOn(Atomics, "notify");
    try {
      end();
      expect(notify).not.toHaveBeenCalled();
      await processor;
      expect(processorTook).toBe(true);
    } finally {
      notify.mockRestore();
    }
  });

  test("the processor's side does wake a sleeping appender when its turn ends", async () => {
    const requestSide = createWriteTurns();
    requestSide.quiet = true;
    const processorSide = createWriteTurns(requestSide.buffer);
    const end = await processorSide.take();
    const appender = requestSide.take();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const notify = vi.spyOn(Atomics, "notify");
    try {
      end();
      expect(notify).toHaveBeenCalled();
      (await appender)();
    } finally {
      notify.mockRestore();
    }
  });

  test("across threads: a worker holding the turn keeps this thread waiting until it ends it, and the counts are shared", async () => {
    const turns = createWriteTurns();
    // The worker takes the turn, says so, and ends it when told to (plain JS: it shares only the memory).
    const worker = new Worker(
      `const { parentPort, workerData } = require("node:worker_threads");
       const slots = new Int32Array(workerData);
       Atomics.store(slots, 0, 1);
       Atomics.add(slots, 1, 5);
       parentPort.postMessage("taken");
       parentPort.once("message", () => { Atomics.store(slots, 0, 0); if (Atomics.load(slots, 2) > 0) Atomics.notify(slots, 0); parentPort.postMessage("ended"); });`,
      { eval: true, workerData: turns.buffer },
    );
    try {
      await new Promise((resolve) => worker.once("message", resolve));
      expect(turns.appendsWaiting()).toBe(5);
      let took = false;
      const taking = turns.take(5_000).then((end) => {
        took = true;
        return end;
      });
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(took).toBe(false);
      const began = performance.now();
      worker.postMessage("end");
      const end = await taking;
      // Woken by the other thread's notify, not by the 5 s deadline.
      expect(performance.now() - began).toBeLessThan(1_000);
      end();
    } finally {
      await worker.terminate();
    }
  });
});
