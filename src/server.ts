/**
 * `npm start`: with GitHub App credentials, fixloop's runtime on its own HTTP
 * server (store from DATABASE_URL, queue from FIXLOOP_QUEUE); without them,
 * Probot's manifest setup page so a fresh checkout can register its GitHub
 * App from app.yml.
 */
import { existsSync } from "node:fs";
import { createProbot, ProbotOctokit, run } from "probot";
import { assertStartable, StartupConfigError } from "./config/startup.js";
import { createHttpServer, listen } from "./http/server.js";
import { createRuntime } from "./runtime.js";
import { openStore } from "./store/db.js";
import { startWebhookProxy } from "./webhook-proxy.js";
import { bannerFacts, logStartupBanner } from "./ops/banner.js";
import { createLog } from "./ops/log.js";
import { networkAwareOctokit } from "./ops/octokit.js";
import { exitOnSignals, shutdownSignal } from "./ops/shutdown.js";

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
  // Logs at info, one line per event; GitHub requests fail fast on dead addresses and stop at shutdown.
  const probot = createProbot({ overrides: { log: createLog(), Octokit: networkAwareOctokit(ProbotOctokit, { signal: shutdownSignal }) } });
  const runtime = await createRuntime({ probot, store: await openStore(), inboxThread: true });
  const { env, log, webhookPath } = runtime;
  const server = await createHttpServer({
    probot: runtime.probot,
    app: runtime.app,
    webhookPath,
    inbox: runtime.inbox,
    bodyBudget: runtime.bodyBudget,
    // createProbot read the same variable (assertStartable made sure it is set).
    webhookSecret: env.WEBHOOK_SECRET,
  });
  const running = await listen(server, Number(env.PORT || 3000), env.HOST || "localhost");
  const background = runtime.startBackground();
  logStartupBanner(log, bannerFacts(runtime, running.url));
  if (env.WEBHOOK_PROXY_URL) await startWebhookProxy(env.WEBHOOK_PROXY_URL, `${running.url}${webhookPath}`, log);

  exitOnSignals({
    log,
    steps: [
      { name: "HTTP server", run: () => running.close() },
      { name: "worker, feedback sender and periodic checks", run: () => background.stop() },
      { name: "database", run: () => runtime.close() },
    ],
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof StartupConfigError ? error.message : error);
  process.exit(1);
});
