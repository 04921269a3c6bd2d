/**
 * One server of the ingest benchmark, run as a child process of bench/ingest.ts
 * so the load generator and the server under test do not share an event loop.
 *
 *   fixloop     fixloop's HTTP server and app on a fresh temp libSQL file,
 *               wired as src/server.ts wires it (createProbot from the
 *               environment): the ingress appends each verified delivery
 *               and the inbox thread processes it (BENCH_INBOX_THREAD=0:
 *               processing on the request thread too); the fix worker, feedback sender and periodic
 *               checks are not started. Its CPU figure counts every thread.
 *   probot-run  what `probot run` starts for `(app) => app.onAny(async () => {})`:
 *               Probot's `run()`, i.e. its `Server` class with the webhook
 *               middleware, ping and static-file handlers, and pino-http
 *               request logging (one info line per request).
 *   probot-mw   Probot's `createNodeMiddleware` with the same no-op app on
 *               plain node:http: the webhook path alone, no request log.
 *
 * All three read the same environment: APP_ID, PRIVATE_KEY, WEBHOOK_SECRET,
 * LOG_LEVEL (bench default info) and LOG_FORMAT=json (what production runs;
 * Probot's pretty format is dearer). Their loggers are Probot's own (getLog:
 * pino through @probot/pino's transform to fd 1), and the parent points every
 * child's stdout at /dev/null, so each log line is formatted and written but
 * costs no terminal. fixloop's request thread logs no line per request at info
 * (only duplicates and failures); its inbox thread logs one line per processed
 * delivery, as probot-run's request log writes one per request.
 *
 * The parent talks over IPC: "stats" answers once no request is in flight,
 * "stop" closes and exits (a clean exit, so `--cpu-prof` can write its profile).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { subscribe } from "node:diagnostics_channel";
import { createServer, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNodeMiddleware, createProbot, run, type ApplicationFunction } from "probot";
import { fixloopApp } from "../src/app.js";
import { createHttpServer, listen } from "../src/http/server.js";
import { createInbox } from "../src/inbox/index.js";
import { startInboxThread } from "../src/inbox/thread.js";
import { createLibsqlQueue } from "../src/queue/index.js";
import { openStore, type Store } from "../src/store/db.js";

export const BENCH_SERVER_KINDS = ["probot-run", "probot-mw", "fixloop"] as const;
export type BenchServerKind = (typeof BENCH_SERVER_KINDS)[number];

export type ParentMessage = { type: "stats" } | { type: "stop" };

export interface ServerStats {
  /** Rows in `deliveries` (fixloop), by status; null for the Probot baselines, which keep none. */
  deliveries: number | null;
  /** Rows the inbox processor has settled (every status but `received`); null for the baselines. */
  processed: number | null;
  byStatus: Record<string, number>;
  /** Requests answered so far, and the CPU time (user + system) this process has used so far. */
  answered: number;
  cpuMicros: number;
  /** The CPU time of the thread that answers HTTP (the main thread) alone; null where /proc/thread-self is missing. */
  requestThreadCpuMicros: number | null;
}

export type ChildMessage = { type: "ready"; url: string } | ({ type: "stats" } & ServerStats);

const HOST = "127.0.0.1";

/** The no-op app a Probot user would benchmark. */
const noopApp: ApplicationFunction = (app) => {
  app.onAny(async () => {});
};

/** This thread's user + system CPU time, from Linux's per-thread stat (fields 14 and 15, in clock ticks of 10 ms). */
function threadCpuMicros(): number | null {
  try {
    const stat = readFileSync("/proc/thread-self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return null;
  }
}

function isKind(value: string | undefined): value is BenchServerKind {
  return (BENCH_SERVER_KINDS as readonly string[]).includes(value ?? "");
}

/** Probot's Server treats port 0 as "use 3000", so pick a free port first. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once("error", reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

interface Started {
  url: string;
  close(): Promise<void>;
  store?: Store;
}

async function startProbotRun(): Promise<Started> {
  const port = await freePort();
  // `env` stands in for process.env wherever `run()` reads options, as `probot run` reads them.
  const probotServer = await run(noopApp, { env: { ...process.env, PORT: String(port), HOST } });
  return { url: `http://${HOST}:${probotServer.port}`, close: () => probotServer.stop() };
}

async function startProbotMiddleware(): Promise<Started> {
  const middleware = await createNodeMiddleware(noopApp, { probot: createProbot({ env: process.env }) });
  const server = createServer((req, res) => {
    void middleware(req, res, () => {
      res.writeHead(404).end();
    });
  });
  const running = await listen(server, 0, HOST);
  return { url: running.url, close: running.close };
}

/** BENCH_TRANSACTION_MS: the processor's batch transaction length, to compare settings (default: the processor's own). */
function benchTransactionMs(): number | undefined {
  const value = process.env.BENCH_TRANSACTION_MS;
  return value === undefined || value === "" ? undefined : Number(value);
}

async function startFixloop(): Promise<Started & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "fixloop-bench-"));
  const store = await openStore({ url: `file:${join(dir, "fixloop.db")}` });
  const probot = createProbot({ env: process.env });
  // As src/server.ts wires it: the ingress appends to the inbox and the processor runs beside it.
  await probot.ready(); // probot.log exists from here on
  const queue = createLibsqlQueue(store);
  const local = createInbox({ store, queue, log: probot.log.child({ name: "inbox" }) });
  const threaded =
    process.env.BENCH_INBOX_THREAD === "0" ? null : await startInboxThread(local, { databaseUrl: store.url, logLevel: process.env.LOG_LEVEL || "info", transactionMs: benchTransactionMs() });
  const inbox = threaded ?? local;
  const server = await createHttpServer({ probot, app: fixloopApp({ store, queue, inbox }), inbox, webhookSecret: process.env.WEBHOOK_SECRET });
  const running = await listen(server, 0, HOST);
  inbox.processor.start();
  return {
    url: running.url,
    close: async () => {
      await running.close();
      await inbox.processor.stop();
      await threaded?.close();
    },
    store,
    dir,
  };
}

async function countByStatus(store: Store): Promise<Record<string, number>> {
  const result = await store.client.execute("SELECT status, count(*) AS n FROM deliveries GROUP BY status");
  return Object.fromEntries(result.rows.map((row) => [String(row.status), Number(row.n)]));
}

async function main(): Promise<void> {
  const kind = process.argv[2];
  if (!isKind(kind)) throw new Error(`usage: ingest-server.ts ${BENCH_SERVER_KINDS.join("|")} (got ${kind})`);
  const send = (message: ChildMessage) => process.send?.(message);

  let started: Started & { dir?: string };
  if (kind === "fixloop") started = await startFixloop();
  else if (kind === "probot-mw") started = await startProbotMiddleware();
  else started = await startProbotRun();
  const { store } = started;

  // Counted for whichever node:http server this process runs (Probot's Server keeps its own private).
  // The load generator stops between requests; still, count only once every answer is out.
  let inFlight = 0;
  let answered = 0;
  let idle: (() => void)[] = [];
  subscribe("http.server.request.start", (message) => {
    const { response } = message as { response: ServerResponse };
    inFlight += 1;
    response.once("close", () => {
      inFlight -= 1;
      answered += 1;
      if (inFlight === 0) {
        for (const resolve of idle) resolve();
        idle = [];
      }
    });
  });
  const whenIdle = () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => idle.push(resolve)));

  process.on("message", (message: ParentMessage) => {
    if (message.type === "stats") {
      void whenIdle()
        .then(async () => {
          const { user, system } = process.cpuUsage();
          const byStatus = store ? await countByStatus(store) : {};
          const deliveries = store ? Object.values(byStatus).reduce((a, b) => a + b, 0) : null;
          const processed = deliveries === null ? null : deliveries - (byStatus.received ?? 0);
          send({ type: "stats", deliveries, processed, byStatus, answered, cpuMicros: user + system, requestThreadCpuMicros: threadCpuMicros() });
        })
        .catch((error: unknown) => {
          console.error(error);
          process.exit(1);
        });
    } else if (message.type === "stop") {
      void started.close().finally(() => {
        store?.close();
        if (started.dir) rmSync(started.dir, { recursive: true, force: true });
        process.exit(0);
      });
    }
  });
  // The parent going away (Ctrl-C, crash) takes this server with it.
  process.on("disconnect", () => process.exit(0));
  send({ type: "ready", url: started.url });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
