/**
 * The scheduled function (every 5 minutes): the periodic chores that the
 * embedded server does on timers. Each task runs even when another failed;
 * the function fails afterwards if any did, so the error shows in the
 * function's metrics, and the next tick is the retry. With Lambda's clock
 * (the invocation context) the tasks get a deadline short of the function's
 * timeout: a task past it stops at its next safe point (a cursor keeps its
 * place for the next tick), and tasks not yet started are skipped, so the
 * invocation ends cleanly instead of being killed mid-write.
 */
import type { Logger } from "../queue/types.js";
import { UNLIMITED_BUDGET, type TaskBudget } from "../time.js";
import type { LambdaContext } from "./events.js";

/** Kept back from the invocation's remaining time: the tasks stop this long before the timeout. */
export const SCHEDULED_SAFETY_MARGIN_MS = 10_000;


export interface ScheduledTask {
  name: string;
  run(now: Date, budget?: TaskBudget): Promise<unknown>;
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

export function createScheduledHandler(
  options: ScheduledHandlerOptions,
): (event?: unknown, context?: LambdaContext) => Promise<{ tasks: TaskReport[] }> {
  const now = options.now ?? (() => new Date());
  return async function scheduled(_event, context) {
    const budget: TaskBudget = context ? { remainingMs: () => context.getRemainingTimeInMillis() - SCHEDULED_SAFETY_MARGIN_MS } : UNLIMITED_BUDGET;
    const reports: TaskReport[] = [];
    for (const task of options.tasks) {
      const started = Date.now();
      if (budget.remainingMs() <= 0) {
        reports.push({ name: task.name, ok: true, result: { skipped: "out of time: the next tick runs it" }, ms: 0 });
        options.log.warn({ task: task.name }, "scheduled task skipped: the invocation is nearly out of time");
        continue;
      }
      try {
        const result = await task.run(now(), budget);
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
