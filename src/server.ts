/**
 * `npm start`: with GitHub App credentials, fixloop's runtime on its own HTTP
 * server (store from DATABASE_URL, queue from FIXLOOP_QUEUE); without them,
 * Probot's manifest setup page so a fresh checkout can register its GitHub
 * App from app.yml.
 */
import { existsSync } from "node:fs";
import { createProbot, run } from "probot";
import { assertStartable, StartupConfigError } from "./config/startup.js";
import { createHttpServer, listen } from "./http/server.js";
import { createRuntime } from "./runtime.js";
import { openStore } from "./store/db.js";
import { startWebhookProxy } from "./webhook-proxy.js";

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
  assertStartable(process.env, { webhooks: true });
  const runtime = await createRuntime({ probot: createProbot(), store: await openStore() });
  const { env, log, webhookPath } = runtime;
  const server = await createHttpServer({ probot: runtime.probot, app: runtime.app, webhookPath, inbox: runtime.inbox });
  const running = await listen(server, Number(env.PORT || 3000), env.HOST || "localhost");
  log.info(`fixloop listening on ${running.url} (webhooks at ${webhookPath}, database ${runtime.store.url.replace(/\?.*$/, "")}, queue ${runtime.queue.kind})`);
  const background = runtime.startBackground();
  if (env.WEBHOOK_PROXY_URL) await startWebhookProxy(env.WEBHOOK_PROXY_URL, `${running.url}${webhookPath}`, log);

  const stop = async (signal: string) => {
    log.info(`${signal}: stopping`);
    await running.close();
    await background.stop();
    runtime.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((error: unknown) => {
  console.error(error instanceof StartupConfigError ? error.message : error);
  process.exit(1);
});
