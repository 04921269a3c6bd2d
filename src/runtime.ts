/**
 * The one runtime every entry point builds: `npm start` (server.ts), `probot
 * run` / `probot receive` (index.ts), the Lambda functions (lambda.ts) and the
 * CLI where it runs deliveries or jobs. It turns the environment into the
 * store, the queue, the Probot app, the handlers of every job kind, the
 * feedback sender and the periodic checks; an entry point only attaches it to
 * its transport (an HTTP server, Probot's own server, API Gateway, SQS, a
 * schedule). Nothing here knows which transport it is on.
 */
import type { Logger } from "pino";
import type { ApplicationFunction, Probot } from "probot";
import { fixloopApp } from "./app.js";
import { createLastGreenBaselines } from "./fix/last-green.js";
import { createTensorZeroModelClient, type ModelClient } from "./fix/model.js";
import { fixJobHandlers, type FixDeps, type Octokit } from "./fix/pipeline.js";
import { DEFAULT_WEBHOOK_PATH } from "./http/ingress-core.js";
import { createBodyBudget, type BodyBudget } from "./http/body-budget.js";
import { createInbox, type Inbox } from "./inbox/index.js";
import { startInboxThread } from "./inbox/thread.js";
import type { ScheduledTask } from "./lambda/scheduled.js";
import { outcomeJobHandlers } from "./outcomes/jobs.js";
import { createFeedbackSender, drainFeedbackOutbox } from "./outcomes/outbox.js";
import { runPeriodicOutcomeChecks } from "./outcomes/periodic.js";
import { every } from "./periodic.js";
import { createWorker, PermanentJobError, type JobHandler } from "./queue/index.js";
import { queueFromEnv, type SelectedQueue } from "./queue/select.js";
import { redispatchStrandedJobs } from "./queue/sqs.js";
import type { Store } from "./store/db.js";
import type { TaskBudget } from "./time.js";
import { gatewayConfigFromEnv, type GatewayConfig } from "./tensorzero/gateway.js";
import { apiBaseUrlFromEnv } from "./github/auth.js";
import { createReadinessCheck, type ReadinessCheck } from "./ops/readiness.js";
import { serviceFetch } from "./ops/shutdown.js";
import { waitWhileUnreachable } from "./ops/unreachable-wait.js";

export interface RuntimeOptions {
  /** The Probot the transport made (its credentials come from the same environment). */
  probot: Probot;
  env?: NodeJS.ProcessEnv;
  /**
   * The store DATABASE_URL names, opened by the entry point: the embedded file through the native libSQL
   * driver on node (openStore), a remote URL over HTTP on Lambda (remoteStoreFromEnv), so the Lambda
   * bundle never carries the native driver. The runtime owns it from here: close() closes it.
   */
  store: Store;
  /** The queue to use; by default the one FIXLOOP_QUEUE names. */
  queue?: SelectedQueue;
  /** Overrides the TensorZero client built from TENSORZERO_URL (tests). */
  model?: ModelClient | null;
  now?: () => Date;
  /**
   * Runs the inbox processor on a worker thread of its own, beside the HTTP
   * thread's appends (the node server asks for it; see inbox/thread.ts).
   * Only for a local libSQL file with the jobs-table queue; FIXLOOP_INBOX_THREAD=0 turns it off.
   */
  inboxThread?: boolean;
}

/** What a long-running process runs beside its transport; stop() waits for work in flight. */
export interface Background {
  stop(): Promise<void>;
}

export interface Runtime {
  env: NodeJS.ProcessEnv;
  probot: Probot;
  store: Store;
  queue: SelectedQueue;
  log: Logger;
  gateway: GatewayConfig | null;
  webhookPath: string;
  /** Database, gateway and GitHub reachability for /readyz and the dashboard (cached a minute). */
  readiness: ReadinessCheck;
  /** The Probot app: deliveries in, health, admin API and dashboard routes. */
  app: ApplicationFunction;
  /** The delivery inbox: the node ingress appends to it, its processor (started with the background) handles what was appended. */
  inbox: Inbox;
  /** Memory for webhook bodies not yet verified, one for every webhook route of the process (FIXLOOP_UNVERIFIED_BODY_BYTES). */
  bodyBudget: BodyBudget;
  /** An installation client; a job that names no installation fails once, with that reason, on every transport. */
  github(installationId: number | null): Promise<Octokit>;
  /** The handler of every job kind fixloop enqueues: the in-process worker and the SQS worker run these same ones. */
  jobHandlers: Record<string, JobHandler>;
  /** The periodic chores, each safe to run at any time: the Lambda schedule runs them all, a server on timers. */
  periodicTasks: ScheduledTask[];
  /** Starts the in-process work of a long-running process: the inbox processor, the job worker (jobs-table queue), the feedback sender, the periodic chores. */
  startBackground(): Background;
  /** Closes the store (and ends the inbox thread, if there is one). */
  close(): void;
}

/** No installation id: an app-JWT client cannot read a repository, so say so instead of failing on GitHub's 401. */
export class NoInstallationError extends PermanentJobError {
  constructor() {
    super("the job names no GitHub App installation: cannot act on GitHub for it");
    this.name = "NoInstallationError";
  }
}

function nonNegativeNumber(env: NodeJS.ProcessEnv, name: string): number | null {
  const value = env[name];
  if (value === undefined || value.trim() === "") return null;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${value}"`);
  return n;
}

/** A file another thread can open too (not `:memory:`, not a remote URL). */
function isLocalFile(url: string): boolean {
  return url.startsWith("file:") && !url.includes(":memory:");
}

const truthy = (value: string | undefined) => value === "1" || value === "true";

export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const env = options.env ?? process.env;
  const { probot } = options;
  // Probot's logger exists once it has started; its start reads only the environment (no network).
  await probot.ready();
  const log = probot.log.child({ name: "fixloop" }) as Logger;
  const { store } = options;
  const queue = options.queue ?? queueFromEnv(store, { env, now: options.now });
  const gateway = gatewayConfigFromEnv(env);
  const model = options.model !== undefined ? options.model : gateway ? createTensorZeroModelClient({ gateway, fetch: serviceFetch("TensorZero") }) : null;

  const github = async (installationId: number | null): Promise<Octokit> => {
    if (installationId === null || installationId === undefined) throw new NoInstallationError();
    return (await probot.auth(installationId)) as Octokit;
  };

  const deps: FixDeps = {
    store,
    github,
    model,
    queue: queue.queue,
    log: log.child({ name: "jobs" }) as Logger,
    dryRun: truthy(env.FIXLOOP_DRY_RUN),
    globalTokensPerDay: nonNegativeNumber(env, "FIXLOOP_MAX_TOKENS_PER_DAY"),
    now: options.now,
    // The last green run's log of each failed job, to drop what passing runs print too (FIXLOOP_BASELINE=0: off).
    ...(env.FIXLOOP_BASELINE === "0" || env.FIXLOOP_BASELINE === "false" ? {} : { baselines: createLastGreenBaselines() }),
  };
  // A GitHub or gateway that cannot be reached makes a job wait with the reason, on every transport.
  const jobHandlers: Record<string, JobHandler> = waitWhileUnreachable({ ...fixJobHandlers(deps), ...outcomeJobHandlers(deps) } as Record<string, JobHandler>, { store });
  const readiness = createReadinessCheck({ store, gatewayUrl: gateway?.url ?? null, githubApiUrl: apiBaseUrlFromEnv(env) ?? "https://api.github.com" });

  const localInbox = createInbox({ store, queue: queue.queue, log: log.child({ name: "inbox" }) as Logger, now: options.now });
  const threaded =
    options.inboxThread && !options.now && queue.kind === "libsql" && isLocalFile(store.url) && env.FIXLOOP_INBOX_THREAD !== "0"
      ? await startInboxThread(localInbox, { databaseUrl: store.url, authToken: env.DATABASE_AUTH_TOKEN, logLevel: env.LOG_LEVEL || "info" })
      : null;
  const inbox: Inbox = threaded ?? localInbox;
  const bodyBudget = createBodyBudget(nonNegativeNumber(env, "FIXLOOP_UNVERIFIED_BODY_BYTES") ?? undefined);

  const now = () => options.now?.() ?? new Date();
  const choresLog = log.child({ name: "periodic" }) as Logger;
  const periodicTasks: ScheduledTask[] = [
    ...(queue.kind === "sqs"
      ? [{ name: "resend-stranded-jobs", run: async (at: Date) => ({ resent: await redispatchStrandedJobs(store, queue.queue, { now: at }) }) }]
      : []),
    // Deliveries a dead process left half-done (its lease ran out), or waiting for a retry; a server's processor does this continuously.
    { name: "drain-delivery-inbox", run: async (_at: Date, budget?: TaskBudget) => ({ processed: await inbox.processor.drain(budget) }) },
    { name: "drain-feedback-outbox", run: (at: Date) => drainFeedbackOutbox({ store, gateway, log: choresLog, now: () => at }) },
    { name: "periodic-outcome-checks", run: (at: Date, budget?: TaskBudget) => runPeriodicOutcomeChecks({ store, github, log: choresLog, queue: queue.queue, now: at, budget }) },
  ];

  function startBackground(): Background {
    const stoppers: (() => Promise<void>)[] = [];
    inbox.processor.start();
    stoppers.push(async () => {
      await inbox.writer.flush();
      await inbox.processor.stop();
    });
    if (queue.kind === "libsql") {
      const worker = createWorker({
        store,
        handlers: jobHandlers,
        concurrency: nonNegativeNumber(env, "FIXLOOP_WORKER_CONCURRENCY") ?? 2,
        log: log.child({ name: "worker" }) as Logger,
      });
      worker.start();
      stoppers.push(() => worker.stop());
    } else {
      log.info(`FIXLOOP_QUEUE=${queue.kind}: jobs go to ${queue.queue.queueUrl} and the SQS worker function runs them; no in-process worker`);
    }
    // The feedback sender paces itself (backoff while the gateway is down); the other chores run on timers.
    const sender = createFeedbackSender({ store, gateway, log: log.child({ name: "feedback" }) as Logger });
    sender.start();
    stoppers.push(() => sender.stop());
    const intervals: Record<string, number> = {
      "resend-stranded-jobs": 5 * 60_000,
      "periodic-outcome-checks": nonNegativeNumber(env, "FIXLOOP_OUTCOME_CHECK_MS") ?? 15 * 60_000,
    };
    for (const task of periodicTasks) {
      const intervalMs = intervals[task.name];
      if (intervalMs === undefined) continue;
      const timer = every(intervalMs, task.name, () => task.run(now()), choresLog);
      timer.start();
      stoppers.push(() => timer.stop());
    }
    return { stop: async () => void (await Promise.all(stoppers.map((stop) => stop()))) };
  }

  return {
    env,
    probot,
    store,
    queue,
    log,
    gateway,
    webhookPath: env.WEBHOOK_PATH || DEFAULT_WEBHOOK_PATH,
    readiness,
    app: fixloopApp({ store, adminToken: env.FIXLOOP_ADMIN_TOKEN || undefined, queue: queue.queue, inbox, readiness, bodyBudget }),
    inbox,
    bodyBudget,
    github,
    jobHandlers,
    periodicTasks,
    startBackground,
    close() {
      void threaded?.close();
      store.close();
    },
  };
}
