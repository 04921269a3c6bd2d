/**
 * The fixloop Probot app. It takes its collaborators (store, settings) so
 * tests, the CLI and the servers all wire the same app differently.
 */
import type { ApplicationFunction, ApplicationFunctionOptions } from "probot";
import { createForgeWebhookHandler, forgeSecretsFromEnv, type ForgeSecrets } from "./forges/ingress.js";
import { createAdminApiHandler } from "./http/api.js";
import { createHealthHandler } from "./http/health.js";
import { markLogged } from "./ops/log.js";
import { createReadinessCheck, type ReadinessCheck } from "./ops/readiness.js";
import { createBodyBudget, type BodyBudget } from "./http/body-budget.js";
import { createDashboardHandler } from "./http/dashboard.js";
import { createMcpHttpHandler } from "./http/mcp.js";
import { createFailureLimiter, type FailureLimiter } from "./http/rate-limit.js";
import { createInbox, type Inbox } from "./inbox/index.js";
import { answerDelivery } from "./http/answer-slot.js";
import { createLibsqlQueue, type JobQueue } from "./queue/index.js";
import type { Store } from "./store/db.js";
import { adminTokenProblem, StartupConfigError } from "./config/startup.js";

export interface FixloopDeps {
  store: Store;
  /** FIXLOOP_ADMIN_TOKEN; the admin API is off when unset. */
  adminToken?: string | undefined;
  /** Where fix jobs go; the libSQL jobs table unless another queue (SQS) is given. */
  queue?: JobQueue;
  /** GitLab/Gitea webhook secrets; from GITLAB_WEBHOOK_TOKEN / GITEA_WEBHOOK_SECRET unless given. */
  forgeSecrets?: ForgeSecrets;
  /** The delivery inbox the HTTP ingress appends to; built on the store when not given. */
  inbox?: Inbox;
  /** What /readyz and the dashboard banner report; by default the database alone. */
  readiness?: ReadinessCheck;
  /** Wrong admin tokens per client, one count for the admin API, /mcp and the dashboard login; built when not given. */
  authLimiter?: FailureLimiter;
  /** Memory for request bodies not yet verified, shared by every webhook route of the process; built when not given. */
  bodyBudget?: BodyBudget;
}

/** Under `probot receive` and replay there is no HTTP server, and Probot's addHandler throws "No server instance". */
function mountRoutes(options: ApplicationFunctionOptions, handlers: Parameters<ApplicationFunctionOptions["addHandler"]>[0][]): void {
  try {
    for (const handler of handlers) options.addHandler(handler);
  } catch (error) {
    if (!/no server instance/i.test((error as Error).message)) throw error;
  }
}

export function fixloopApp(deps: FixloopDeps): ApplicationFunction {
  const weakToken = adminTokenProblem(deps.adminToken);
  if (weakToken) throw new StartupConfigError(`fixloop cannot start: ${weakToken}`);
  const queue = deps.queue ?? createLibsqlQueue(deps.store);
  const readiness = deps.readiness ?? createReadinessCheck({ store: deps.store, gatewayUrl: null, githubApiUrl: null });
  const routeDeps = { ...deps, authLimiter: deps.authLimiter ?? createFailureLimiter() };
  const bodyBudget = deps.bodyBudget ?? createBodyBudget();
  return (app, options) => {
    const inbox = deps.inbox ?? createInbox({ store: deps.store, log: app.log, queue });
    // Deliveries handed to Probot directly (`probot receive`, replay, the Lambda adapter) are stored and processed before the answer.
    app.onAny(async (context) => {
      const answer = await inbox.receiveNow({ id: context.id, name: context.name, payload: context.payload as unknown as Record<string, unknown> });
      answerDelivery(answer);
      // Probot turns a thrown error into a 500, so GitHub shows the delivery as failed and can redeliver it.
      // The inbox logged it with the delivery id already; Probot's own error log of it is dropped (ops/log.ts).
      if (answer.status === "failed" || answer.status === "retry") throw markLogged(new Error(answer.error));
    });
    const forgeWebhooks = createForgeWebhookHandler({ inbox, secrets: deps.forgeSecrets ?? forgeSecretsFromEnv(), bodyBudget });
    mountRoutes(options, [
      createHealthHandler({ store: deps.store, adminToken: deps.adminToken, readiness, authLimiter: routeDeps.authLimiter }),
      forgeWebhooks,
      createAdminApiHandler(routeDeps),
      createMcpHttpHandler(routeDeps),
      createDashboardHandler({ ...routeDeps, queue, inbox, readiness }),
    ]);
  };
}
