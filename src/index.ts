/**
 * Entry for Probot's own tooling: `probot run ./dist/index.js` serves fixloop
 * on Probot's server and runs the job worker, feedback sender and periodic
 * checks beside it; `probot receive -e <event> -p <payload> ./dist/index.js`
 * handles one delivery. Both build the same runtime as `npm start`.
 */
import type { ApplicationFunction, ApplicationFunctionOptions } from "probot";
import { assertStartable } from "./config/startup.js";
import { createRuntime, type Background, type RuntimeOptions } from "./runtime.js";
import { openStore } from "./store/db.js";

/** `probot receive` has no server (its addHandler throws), and a worker there would keep the process from exiting. */
function servesHttp(options: ApplicationFunctionOptions): boolean {
  try {
    options.addHandler(async () => false);
    return true;
  } catch {
    return false;
  }
}

export type ProbotEntry = ApplicationFunction & { stop(): Promise<void> };

/** The store DATABASE_URL names unless one is given (tests). */
export function fixloopProbotEntry(runtimeOptions: Omit<RuntimeOptions, "probot" | "store"> & { store?: RuntimeOptions["store"] } = {}): ProbotEntry {
  let running: { background?: Background; close(): void } | undefined;
  const entry = async (probot: Parameters<ApplicationFunction>[0], options: ApplicationFunctionOptions) => {
    const serving = servesHttp(options);
    // `probot receive` reads a payload from a file: no webhook server, so no secret is needed there.
    assertStartable(runtimeOptions.env ?? process.env, { webhooks: serving });
    const runtime = await createRuntime({ ...runtimeOptions, probot, store: runtimeOptions.store ?? (await openStore()) });
    await runtime.app(probot, options);
    running = { background: serving ? runtime.startBackground() : undefined, close: () => runtime.close() };
  };
  return Object.assign(entry, {
    async stop() {
      await running?.background?.stop();
      running?.close();
      running = undefined;
    },
  });
}

export default fixloopProbotEntry();
