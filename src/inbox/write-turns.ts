/**
 * Whose turn it is to write: the webhook path's group commits (the request
 * thread) and the processor's batch transactions (the inbox thread) take
 * turns on one SQLite file, and appends go first.
 *
 * SQLite lets one connection write at a time; a connection that finds the
 * file locked sleeps in its busy handler (1 ms, then 2, 5, 10 …) without
 * knowing when the lock comes free, and on the request thread that sleep
 * would stop HTTP altogether. So the two threads agree on turns in shared
 * memory first: a writer waits (asynchronously: the thread's event loop
 * goes on) until the other side says it is done, and is woken at once.
 *
 * The turn is advisory: whoever waits longer than `maxWaitMs` writes anyway
 * and SQLite's own locking keeps the file correct, so a thread that died
 * holding the turn slows the other down, never stops it.
 */

/** Slots of the shared Int32Array. */
const TURN = 0;
const APPENDS_WAITING = 1;
/** Threads waiting on TURN: a notify is only sent when one may be asleep (it is a cross-thread wake-up otherwise for nobody). */
const SLEEPERS = 2;
const FREE = 0;
const TAKEN = 1;

export const TURN_WAIT_MS = 100;
/** How long the processor leaves the turn free for waiting appends after a batch. */
export const GIVE_WAY_MS = 2;

export interface WriteTurns {
  /** The shared memory, for the other thread's `createWriteTurns(buffer)`. */
  readonly buffer: SharedArrayBuffer;
  /** Waits for the turn and resolves with the function that ends it. */
  take(maxWaitMs?: number): Promise<() => void>;
  /** Appends queued and not yet written, on either thread. */
  appendsWaiting(): number;
  /** Counts appends in (positive) and out (negative) of the queue. */
  countAppends(delta: number): void;
  /** After a batch, when appends wait: lets them take the turn first (at most `GIVE_WAY_MS`). */
  giveWay(): Promise<void>;
}

export function createWriteTurns(buffer: SharedArrayBuffer = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT)): WriteTurns {
  const slots = new Int32Array(buffer);

  /**
   * Sleeps while TURN holds `value`, at most `ms`. The sleeper counts itself
   * first and the waker changes TURN first, both sequentially consistent, so
   * either the sleeper sees the change or the waker sees the sleeper.
   */
  async function sleepWhile(value: number, ms: number): Promise<void> {
    Atomics.add(slots, SLEEPERS, 1);
    try {
      const waited = Atomics.waitAsync(slots, TURN, value, ms);
      if (waited.async) await waited.value;
    } finally {
      Atomics.sub(slots, SLEEPERS, 1);
    }
  }

  function wakeSleepers(): void {
    if (Atomics.load(slots, SLEEPERS) > 0) Atomics.notify(slots, TURN);
  }

  function release(): void {
    Atomics.store(slots, TURN, FREE);
    wakeSleepers();
  }

  return {
    buffer,
    async take(maxWaitMs = TURN_WAIT_MS) {
      const deadline = performance.now() + maxWaitMs;
      for (;;) {
        if (Atomics.compareExchange(slots, TURN, FREE, TAKEN) === FREE) {
          // Wakes a processor giving way (see giveWay), which waits for this slot to change.
          wakeSleepers();
          return once(release);
        }
        const left = deadline - performance.now();
        // Advisory: past the deadline write anyway (SQLite's lock still guards the file); ending it frees nothing.
        if (left <= 0) return () => {};
        await sleepWhile(TAKEN, left);
      }
    },
    appendsWaiting: () => Atomics.load(slots, APPENDS_WAITING),
    countAppends(delta) {
      Atomics.add(slots, APPENDS_WAITING, delta);
    },
    async giveWay() {
      if (Atomics.load(slots, APPENDS_WAITING) === 0) return;
      // Free now: wait until an appender takes the turn (the slot changes) or the time is up.
      await sleepWhile(FREE, GIVE_WAY_MS);
    },
  };
}

function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    action();
  };
}
