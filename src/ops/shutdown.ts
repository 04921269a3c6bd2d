/**
 * Shutdown within a few seconds of SIGTERM/SIGINT: one process-wide signal
 * aborts every GitHub and gateway request in flight, the worker stops
 * claiming and hands its running jobs back (lease released, attempt given
 * back) so another worker takes them over at once, then the rest closes.
 * Whatever has not finished by the deadline is abandoned and the process
 * exits anyway; a second signal exits at once.
 */
import type { Logger } from "pino";
import { watchedFetch, type ServiceName } from "./network.js";

const controller = new AbortController();

/** Aborted when the process begins to shut down. */
export const shutdownSignal: AbortSignal = controller.signal;

export function beginShutdown(reason = "shutting down"): void {
  if (!controller.signal.aborted) controller.abort(new Error(reason));
}

/** fetch for a service: unreachable addresses recorded (see network.ts), cut short by shutdown. */
export function serviceFetch(service: ServiceName, inner: typeof fetch = fetch): typeof fetch {
  const signalled: typeof fetch = (input, init) => {
    const own = init?.signal ?? undefined;
    return inner(input, { ...init, signal: own ? AbortSignal.any([own, shutdownSignal]) : shutdownSignal });
  };
  return watchedFetch(service, signalled);
}

export interface ShutdownStep {
  name: string;
  run(): Promise<unknown> | unknown;
}

export interface ShutdownOptions {
  log: Pick<Logger, "info" | "warn" | "error">;
  /** Run in order; each gets whatever time is left. */
  steps: ShutdownStep[];
  /** Exit by then at the latest (default 4 s, inside the 5 s orchestrators usually give). */
  deadlineMs?: number;
  exit?: (code: number) => void;
  signals?: NodeJS.Signals[];
}

/** Runs the steps (after aborting network calls) and resolves with the exit code it chose. */
export async function shutDown(signal: string, options: ShutdownOptions): Promise<number> {
  const started = Date.now();
  const deadlineMs = options.deadlineMs ?? 4000;
  options.log.info(`${signal}: stopping (no new jobs, network calls aborted, running jobs handed back)`);
  beginShutdown(`${signal} received`);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"deadline">((resolve) => {
    timer = setTimeout(() => resolve("deadline"), deadlineMs);
    timer.unref();
  });
  const steps = (async () => {
    for (const step of options.steps) {
      try {
        await step.run();
      } catch (error) {
        options.log.warn({ err: error }, `shutdown: ${step.name} failed`);
      }
    }
  })();
  const ended = await Promise.race([steps.then(() => "done" as const), deadline]);
  clearTimeout(timer);
  if (ended === "deadline") {
    options.log.warn(`shutdown: not finished after ${deadlineMs} ms; exiting anyway (unfinished jobs come back when their leases expire)`);
    return 1;
  }
  options.log.info(`stopped in ${Date.now() - started} ms`);
  return 0;
}

/** Installs the signal handlers of a long-running process. */
export function exitOnSignals(options: ShutdownOptions): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  for (const signal of options.signals ?? ["SIGTERM", "SIGINT"]) {
    process.on(signal, () => {
      if (stopping) {
        options.log.warn(`${signal} again: exiting now`);
        exit(1);
        return;
      }
      stopping = true;
      void shutDown(signal, options).then(exit, () => exit(1));
    });
  }
}
