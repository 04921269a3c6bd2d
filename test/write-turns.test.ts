/**
 * Write turns between the request thread's appends and the inbox thread's
 * processor (src/inbox/write-turns.ts), here across a real worker thread.
 */
import { Worker } from "node:worker_threads";
import { describe, expect, test } from "vitest";
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

  test("giveWay returns at once when no append waits, and otherwise as soon as an appender takes the turn", async () => {
    const turns = createWriteTurns();
    let began = performance.now();
    await turns.giveWay();
    expect(performance.now() - began).toBeLessThan(GIVE_WAY_MS);

    turns.countAppends(1);
    began = performance.now();
    const givingWay = turns.giveWay();
    const appender = turns.take();
    await givingWay;
    const end = await appender;
    // The appender has the turn: the processor's next take waits for it.
    let processorTook = false;
    const processor = turns.take().then((endProcessor) => {
      processorTook = true;
      endProcessor();
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(processorTook).toBe(false);
    turns.countAppends(-1);
    end();
    await processor;
    expect(processorTook).toBe(true);
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
