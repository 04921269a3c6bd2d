/**
 * The start-up banner: one block at `info` that tells an operator where
 * fixloop listens and what it is wired to, with every secret left out.
 */
import type { Logger } from "pino";
import type { Runtime } from "../runtime.js";
import { fixloopVersion } from "../version.js";

export interface BannerFacts {
  url: string;
  /** Webhook routes by provider, e.g. { GitHub: "/api/github/webhooks" }. */
  webhookPaths: Record<string, string>;
  databaseUrl: string;
  /** "libSQL jobs table, in-process worker (2 at a time)", "SQS …". */
  queue: string;
  adminApi: boolean;
  tensorzeroUrl: string | null;
  appId: string | number | null;
  dryRun?: boolean;
}

/** A database URL without credentials: no user:password, no query (Turso's authToken lives there). */
export function printableUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === "file:" || url.startsWith("file:")) return url.replace(/\?.*$/, "");
    parsed.username = "";
    parsed.password = "";
    parsed.search = "";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return url.replace(/\?.*$/, "").replace(/\/\/[^@/]*@/, "//");
  }
}

export function startupBanner(facts: BannerFacts): string {
  const base = facts.url.replace(/\/$/, "");
  const hooks = Object.entries(facts.webhookPaths).map(([provider, path]) => `${provider} ${base}${path}`);
  const rows: [string, string][] = [
    ["listening", base],
    ["webhooks", hooks.join(", ") || "none"],
    ["dashboard", facts.adminApi ? `${base}/fixloop` : "off (set FIXLOOP_ADMIN_TOKEN)"],
    ["health", `${base}/healthz (liveness), ${base}/readyz (database, gateway, GitHub)`],
    ["database", printableUrl(facts.databaseUrl)],
    ["queue", facts.queue],
    ["admin API", facts.adminApi ? "on (Bearer FIXLOOP_ADMIN_TOKEN)" : "off (set FIXLOOP_ADMIN_TOKEN)"],
    ["TensorZero", facts.tensorzeroUrl ? printableUrl(facts.tensorzeroUrl) : "not configured: fix jobs will wait (set TENSORZERO_URL)"],
    ["GitHub App", facts.appId ? `id ${facts.appId}` : "no APP_ID"],
  ];
  if (facts.dryRun) rows.push(["dry run", "on: nothing is written to GitHub"]);
  const width = Math.max(...rows.map(([label]) => label.length));
  return [`fixloop ${fixloopVersion()} is running`, ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)].join("\n");
}

/** The facts of a running runtime. */
export function bannerFacts(runtime: Pick<Runtime, "env" | "store" | "queue" | "gateway" | "webhookPath">, url: string): BannerFacts {
  const { env } = runtime;
  const queue =
    runtime.queue.kind === "libsql"
      ? `libSQL jobs table, in-process worker (${env.FIXLOOP_WORKER_CONCURRENCY || 2} at a time)`
      : `SQS ${runtime.queue.queue.queueUrl} (the worker function runs the jobs)`;
  return {
    url,
    webhookPaths: { GitHub: runtime.webhookPath },
    databaseUrl: runtime.store.url,
    queue,
    adminApi: Boolean(env.FIXLOOP_ADMIN_TOKEN),
    tensorzeroUrl: runtime.gateway?.url ?? null,
    appId: env.APP_ID || null,
    dryRun: env.FIXLOOP_DRY_RUN === "1" || env.FIXLOOP_DRY_RUN === "true",
  };
}

export function logStartupBanner(log: Pick<Logger, "info">, facts: BannerFacts): void {
  log.info(startupBanner(facts));
}
