/**
 * The scheduled function (every 5 minutes): the periodic chores that the
 * embedded server does on timers. Each task runs even when another failed;
 * the function fails afterwards if any did, so the error shows in the
 * function's metrics, and the next tick is the retry.
 */
import type { Logger } from "../queue/types.js";

export interface ScheduledTask {
  name: string;
  run(now: Date): Promise<unknown>;
}

export type TaskReport = { name: string; ok: true; result: unknown; ms: number } | { name: string; ok: false; error: string; ms: number };

export interface ScheduledHandlerOptions {
  tasks: ScheduledTask[];
  log: Logger;
  now?: () => Date;
}

export class ScheduledTasksFailedError extends Error {
  constructor(readonly reports: TaskReport[]) {
    const failed = reports.filter((r) => !r.ok).map((r) => `${r.name}: ${(r as { error: string }).error}`);
    super(`${failed.length} of ${reports.length} scheduled tasks failed: ${failed.join("; ")}`);
    this.name = "ScheduledTasksFailedError";
  }
}

export function createScheduledHandler(options: ScheduledHandlerOptions): (event?: unknown) => Promise<{ tasks: TaskReport[] }> {
  const now = options.now ?? (() => new Date());
  return async function scheduled() {
    const reports: TaskReport[] = [];
    for (const task of options.tasks) {
      const started = Date.now();
      try {
        const result = await task.run(now());
        reports.push({ name: task.name, ok: true, result, ms: Date.now() - started });
        options.log.info({ task: task.name, result }, "scheduled task done");
      } catch (error) {
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        reports.push({ name: task.name, ok: false, error: message, ms: Date.now() - started });
        options.log.error({ task: task.name, err: error }, "scheduled task failed");
      }
    }
    if (reports.some((r) => !r.ok)) throw new ScheduledTasksFailedError(reports);
    return { tasks: reports };
  };
}
