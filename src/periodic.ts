/**
 * A timer for the embedded server's periodic work (outcome checks). On Lambda
 * the same function runs from a schedule instead.
 */
import type { Logger } from "pino";

export interface PeriodicTask {
  start(): void;
  stop(): Promise<void>;
}

export function every(intervalMs: number, name: string, run: () => Promise<unknown>, log: Logger): PeriodicTask {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  const tick = () => {
    if (running) return; // a slow pass is never overlapped by the next
    running = run()
      .catch((error: unknown) => log.error({ err: error }, `${name} failed`))
      .finally(() => {
        running = undefined;
      });
  };
  return {
    start() {
      if (timer) return;
      timer = setInterval(tick, intervalMs);
      timer.unref();
      tick();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
