/**
 * fixloop's webhook server in its own process, for the inbox kill test: the
 * real HTTP ingress handing deliveries to the inbox thread, which appends and
 * processes them, as src/server.ts wires it (FIXLOOP_INBOX_THREAD=0: all on
 * one thread), on a shared libSQL file. Run with `node --import tsx`.
 *
 * Environment: DATABASE_URL (file:…), WEBHOOK_SECRET, PRIVATE_KEY (PEM),
 * FIXLOOP_DELIVERY_LEASE_MS (how soon a dead process's claim runs out),
 * LOG_LEVEL (default warn, to stderr). Prints "ready <url>" once listening.
 */
import { pino } from "pino";
import { Probot } from "probot";
import { fixloopApp } from "../../../src/app.js";
import { createHttpServer, listen } from "../../../src/http/server.js";
import { createInbox } from "../../../src/inbox/index.js";
import { startInboxThread } from "../../../src/inbox/thread.js";
import { createLibsqlQueue } from "../../../src/queue/index.js";
import { openStore } from "../../../src/store/db.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const log = pino({ level: process.env.LOG_LEVEL ?? "warn" }, pino.destination(2));
  const probot = new Probot({ appId: 123, privateKey: required("PRIVATE_KEY"), secret: required("WEBHOOK_SECRET"), log });
  const store = await openStore({ url: required("DATABASE_URL") });
  const queue = createLibsqlQueue(store);
  const leaseMs = Number(process.env.FIXLOOP_DELIVERY_LEASE_MS ?? 60_000);
  const local = createInbox({ store, queue, log, leaseMs, pollMs: 100 });
  const inbox =
    process.env.FIXLOOP_INBOX_THREAD === "0"
      ? local
      : await startInboxThread(local, { databaseUrl: store.url, logLevel: process.env.LOG_LEVEL ?? "warn", leaseMs, pollMs: 100 });
  const server = await createHttpServer({ probot, app: fixloopApp({ store, queue, inbox }), inbox, webhookSecret: required("WEBHOOK_SECRET") });
  const running = await listen(server, 0, "127.0.0.1");
  inbox.processor.start();
  process.stdout.write(`ready ${running.url}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
