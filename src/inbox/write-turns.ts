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
 * goes on) until the other side says it is done.
 *
 * Waking a sleeping thread costs the waker dearly: Atomics.notify (or a
 * postMessage) to a thread asleep in its event loop took ~35 µs of the
 * caller's CPU here, and notifying at the end of every group commit was
 * ~11 % of the request thread under load. So the request thread's turns are
 * quiet (`turns.quiet`, set when the inbox thread starts): they never wake anyone, and a sleeper looks
 * again at least every `POLL_MS`. The processor's side does wake a waiting
 * appender at once, from its own thread's time.
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
/** A sleeper looks at the turn again after this long at most (a quiet side never wakes it). */
export const POLL_MS = 1;
/** How long the processor leaves the turn free for waiting appends after a batch. */
export const GIVE_WAY_MS = 2;

export interface WriteTurns {
  /** The shared memory, for the other thread's `createWriteTurns(buffer)`. */
  readonly buffer: SharedArrayBuffer;
  /** Ending a turn here wakes no sleeper (they poll): set on the request thread's side when an inbox thread starts. */
  quiet: boolean;
  /** Waits for the turn and resolves with the function that ends it. */
  take(maxWaitMs?: number): Promise<() => void>;
  /** Appends queued and not yet written, on either thread. */
  appendsWaiting(): number;
  /** Counts appends in (positive) and out (negative) of the queue. */
  countAppends(delta: number): void;
  /** After a batch, when appends wait: lets them write first (until none waits, at most `GIVE_WAY_MS`). */
  giveWay(): Promise<void>;
}

export function createWriteTurns(buffer: SharedArrayBuffer = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT)): WriteTurns {
  const slots = new Int32Array(buffer);

  /**
   * Sleeps while TURN holds `value`, at most `ms` (and `POLL_MS`: a quiet side
   * will not say when it changes). The sleeper counts itself first and the
   * waker changes TURN first, both sequentially consistent, so either the
   * sleeper sees the change or the waker sees the sleeper.
   */
  async function sleepWhile(value: number, ms: number): Promise<void> {
    Atomics.add(slots, SLEEPERS, 1);
    try {
      const waited = Atomics.waitAsync(slots, TURN, value, Math.min(ms, POLL_MS));
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
    if (!turns.quiet) wakeSleepers();
  }

  const turns: WriteTurns = {
    buffer,
    quiet: false,
    async take(maxWaitMs = TURN_WAIT_MS) {
      const deadline = performance.now() + maxWaitMs;
      for (;;) {
        // No wake-up here: sleepers wait for the turn to come free, and a processor giving way for the release (giveWay).
        if (Atomics.compareExchange(slots, TURN, FREE, TAKEN) === FREE) return once(release);
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
      const deadline = performance.now() + GIVE_WAY_MS;
      // Until the waiting appends are written, looking every POLL_MS (the appenders' side is quiet).
      while (Atomics.load(slots, APPENDS_WAITING) > 0) {
        const left = deadline - performance.now();
        if (left <= 0) return;
        await sleepWhile(Atomics.load(slots, TURN), left);
      }
    },
  };
  return turns;
}

function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    action();
  };
}
