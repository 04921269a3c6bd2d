/**
 * fixloop's HTTP server: the webhook ingress first, then whatever the app
 * mounted with `addHandler` (health, admin API, dashboard), then a 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApplicationFunction, Probot } from "probot";
import type { Inbox } from "../inbox/index.js";
import type { BodyBudget } from "./body-budget.js";
import { BadRequestUrlError, sendJson } from "./respond.js";
import { createWebhookIngress } from "./webhooks.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface HttpServerOptions {
  probot: Probot;
  app: ApplicationFunction;
  webhookPath?: string;
  /** The secret Probot was built with (WEBHOOK_SECRET), for the ingress's own signature check. */
  webhookSecret?: string;
  /** Where verified deliveries go before the answer; without one they are processed before it. */
  inbox?: Inbox;
  /** Memory for unverified webhook bodies; pass the app's (FixloopDeps.bodyBudget) so every webhook route shares one. */
  bodyBudget?: BodyBudget;
}

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function createHttpServer(options: HttpServerOptions): Promise<Server> {
  const { probot, webhookPath: path, inbox, bodyBudget, webhookSecret } = options;
  const handlers: Handler[] = [createWebhookIngress({ probot, path, inbox, bodyBudget, webhookSecret })];
  await options.probot.load(options.app, { cwd: process.cwd(), addHandler: (handler: Handler) => handlers.push(handler) });
  const log = options.probot.log;
  return createServer(async (req, res) => {
    try {
      for (const handler of handlers) {
        if (await handler(req, res)) return;
      }
      sendJson(res, 404, { error: `not found: ${req.method} ${req.url}` });
    } catch (error) {
      if (error instanceof BadRequestUrlError) {
        sendJson(res, 400, { error: error.message });
        return;
      }
      log.error({ err: error, url: req.url }, "request failed");
      if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      else res.end();
    }
  });
}

export async function listen(server: Server, port: number, host: string): Promise<RunningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const printable = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${printable}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
