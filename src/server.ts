/**
 * `npm start`: with GitHub App credentials, fixloop's server on the embedded
 * libSQL store; without them, Probot's manifest setup page so a fresh
 * checkout can register its GitHub App from app.yml.
 */
import { existsSync } from "node:fs";
import { createProbot, run } from "probot";
import { fixloopApp } from "./app.js";
import { createHttpServer, listen } from "./http/server.js";
import { DEFAULT_WEBHOOK_PATH } from "./http/webhooks.js";
import { createLibsqlQueue } from "./queue/index.js";
import { openStore } from "./store/db.js";
import { createFixWorker } from "./worker.js";
import { createFeedbackSender } from "./outcomes/outbox.js";
import { runPeriodicOutcomeChecks } from "./outcomes/periodic.js";
import { every } from "./periodic.js";
import { gatewayConfigFromEnv } from "./tensorzero/gateway.js";

function hasCredentials(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.APP_ID && (env.PRIVATE_KEY || env.PRIVATE_KEY_PATH));
}

async function main(): Promise<void> {
  if (existsSync(".env")) process.loadEnvFile(".env");
  if (!hasCredentials(process.env)) {
    // Probot's setup flow writes APP_ID, PRIVATE_KEY and WEBHOOK_SECRET into .env; restart afterwards.
    await run(async () => {});
    return;
  }
  const probot = createProbot();
  const store = await openStore();
  const adminToken = process.env.FIXLOOP_ADMIN_TOKEN || undefined;
  const webhookPath = process.env.WEBHOOK_PATH || DEFAULT_WEBHOOK_PATH;
  const queue = createLibsqlQueue(store);
  const server = await createHttpServer({ probot, app: fixloopApp({ store, adminToken, queue }), webhookPath });
  const running = await listen(server, Number(process.env.PORT || 3000), process.env.HOST || "localhost");
  probot.log.info(`fixloop listening on ${running.url} (webhooks at ${webhookPath}, database ${store.url.replace(/\?.*$/, "")})`);
  const worker = createFixWorker({ probot, store, queue, log: probot.log.child({ name: "worker" }) });
  worker.start();
  const gateway = gatewayConfigFromEnv();
  const sender = createFeedbackSender({ store, gateway, log: probot.log.child({ name: "feedback" }) });
  sender.start();
  const outcomeLog = probot.log.child({ name: "outcomes" });
  const outcomes = every(
    Number(process.env.FIXLOOP_OUTCOME_CHECK_MS || 15 * 60_000),
    "periodic outcome checks",
    () => runPeriodicOutcomeChecks({ store, queue, log: outcomeLog, github: async (id) => probot.auth(id ?? undefined) as never }),
    outcomeLog,
  );
  outcomes.start();
  if (process.env.WEBHOOK_PROXY_URL) await startWebhookProxy(process.env.WEBHOOK_PROXY_URL, `${running.url}${webhookPath}`, probot.log);

  const stop = async (signal: string) => {
    probot.log.info(`${signal}: stopping`);
    await running.close();
    await Promise.all([worker.stop(), sender.stop(), outcomes.stop()]);
    store.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}

/** Local development: forward deliveries from a smee.io channel (smee-client is an optional dev install). */
async function startWebhookProxy(source: string, target: string, log: { info(msg: string): void; warn(msg: string): void }) {
  try {
    const moduleName = "smee-client";
    type SmeeClientClass = new (o: object) => { start(): unknown };
    const mod = (await import(moduleName)) as { SmeeClient?: SmeeClientClass; default?: SmeeClientClass };
    const SmeeClient = mod.SmeeClient ?? mod.default;
    if (!SmeeClient) throw new Error("smee-client has no SmeeClient export");
    new SmeeClient({ source, target, logger: console }).start();
    log.info(`forwarding ${source} → ${target}`);
  } catch {
    log.warn("WEBHOOK_PROXY_URL is set but smee-client is not installed: run `npm install --no-save smee-client`");
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
