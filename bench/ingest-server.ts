/**
 * One server of the ingest benchmark, run as a child process of bench/ingest.ts
 * so the load generator and the server under test do not share an event loop.
 *
 *   fixloop: fixloop's own HTTP server and app on a fresh temp libSQL file
 *   bare:    Probot's createNodeMiddleware with a no-op handler on node:http
 *
 * Both use the same webhook secret, key and log level. The parent talks over
 * IPC: "stats" answers once no request is in flight, "stop" closes and exits
 * (a clean exit, so `--cpu-prof` can write its profile).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { createNodeMiddleware, Probot } from "probot";
import { fixloopApp } from "../src/app.js";
import { createHttpServer, listen } from "../src/http/server.js";
import { openStore, type Store } from "../src/store/db.js";

export type BenchServerKind = "fixloop" | "bare";

export type ParentMessage = { type: "stats" } | { type: "stop" };

export interface ServerStats {
  /** Rows in `deliveries` (fixloop), by status; null for bare Probot, which keeps none. */
  deliveries: number | null;
  byStatus: Record<string, number>;
  /** Requests answered so far, and the CPU time (user + system) this process has used so far. */
  answered: number;
  cpuMicros: number;
}

export type ChildMessage = { type: "ready"; url: string } | ({ type: "stats" } & ServerStats);

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: bench/ingest-server.ts is started by bench/ingest.ts`);
  return value;
}

function benchProbot(): Probot {
  return new Probot({
    appId: 1,
    privateKey: required("BENCH_PRIVATE_KEY"),
    secret: required("BENCH_WEBHOOK_SECRET"),
    // Neither ingest path logs per delivery at info; anything that does would show in the bench output.
    log: pino({ level: "info" }),
  });
}

async function bareServer(probot: Probot): Promise<Server> {
  const middleware = await createNodeMiddleware(
    (app) => {
      app.onAny(async () => {});
    },
    { probot },
  );
  return createServer((req, res) => {
    void middleware(req, res, () => {
      res.writeHead(404).end();
    });
  });
}

async function countByStatus(store: Store): Promise<Record<string, number>> {
  const result = await store.client.execute("SELECT status, count(*) AS n FROM deliveries GROUP BY status");
  return Object.fromEntries(result.rows.map((row) => [String(row.status), Number(row.n)]));
}

async function main(): Promise<void> {
  const kind = process.argv[2] as BenchServerKind;
  if (kind !== "fixloop" && kind !== "bare") throw new Error(`usage: ingest-server.ts fixloop|bare (got ${kind})`);
  const send = (message: ChildMessage) => process.send?.(message);
  const probot = benchProbot();

  let store: Store | undefined;
  let dir: string | undefined;
  let server: Server;
  if (kind === "fixloop") {
    dir = mkdtempSync(join(tmpdir(), "fixloop-bench-"));
    store = await openStore({ url: `file:${join(dir, "fixloop.db")}` });
    server = await createHttpServer({ probot, app: fixloopApp({ store }) });
  } else {
    server = await bareServer(probot);
  }

  // The load generator stops between requests; still, count only once every answer is out.
  let inFlight = 0;
  let answered = 0;
  let idle: (() => void)[] = [];
  server.on("request", (_req, res) => {
    inFlight += 1;
    res.once("close", () => {
      inFlight -= 1;
      answered += 1;
      if (inFlight === 0) {
        for (const resolve of idle) resolve();
        idle = [];
      }
    });
  });
  const whenIdle = () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => idle.push(resolve)));

  const running = await listen(server, 0, "127.0.0.1");
  process.on("message", (message: ParentMessage) => {
    if (message.type === "stats") {
      void whenIdle()
        .then(async () => {
          const { user, system } = process.cpuUsage();
          const byStatus = store ? await countByStatus(store) : {};
          const deliveries = store ? Object.values(byStatus).reduce((a, b) => a + b, 0) : null;
          send({ type: "stats", deliveries, byStatus, answered, cpuMicros: user + system });
        })
        .catch((error: unknown) => {
          console.error(error);
          process.exit(1);
        });
    } else if (message.type === "stop") {
      void running.close().finally(() => {
        store?.close();
        if (dir) rmSync(dir, { recursive: true, force: true });
        process.exit(0);
      });
    }
  });
  // The parent going away (Ctrl-C, crash) takes this server with it.
  process.on("disconnect", () => process.exit(0));
  send({ type: "ready", url: running.url });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
