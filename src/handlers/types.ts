import type { Logger } from "pino";
import type { JobQueue } from "../queue/index.js";
import type { Store } from "../store/db.js";
import type { TransactionMemo } from "../store/transaction-scope.js";

/** What an ingest handler gets: the delivery's payload and the store, nothing of Probot's. */
export interface IngestContext {
  deliveryId: string;
  event: string;
  payload: Record<string, unknown>;
  store: Store;
  log: Logger;
  /** Where fix jobs go; absent in pure-ingest setups. */
  queue?: JobQueue;
  /** The delivery's body is in the store (the inbox put it there): rows may point at it instead of copying. */
  bodyStored?: boolean;
  /** Present when the delivery runs inside a write transaction (the inbox's batches): reads kept for its length. */
  memo?: TransactionMemo;
}

export interface HandlerResult {
  status: "processed" | "ignored";
  note?: string;
}

export type IngestHandler = (ctx: IngestContext) => Promise<HandlerResult>;

export function repoSlugOf(payload: Record<string, unknown>): string | null {
  const repo = payload.repository as { full_name?: unknown } | undefined;
  if (typeof repo?.full_name === "string") return repo.full_name;
  // GitLab names the project, not a repository.
  const project = payload.project as { path_with_namespace?: unknown } | undefined;
  return typeof project?.path_with_namespace === "string" ? project.path_with_namespace : null;
}

export function installationIdOf(payload: Record<string, unknown>): number | null {
  const installation = payload.installation as { id?: unknown } | undefined;
  return typeof installation?.id === "number" ? installation.id : null;
}

export function actionOf(payload: Record<string, unknown>): string | null {
  return typeof payload.action === "string" ? payload.action : null;
}

/** A stale event is still a processed delivery: the newer state was simply there first. */
export function upsertResult(result: "written" | "stale"): HandlerResult {
  return result === "stale" ? { status: "processed", note: "stale event: a newer state is stored" } : { status: "processed" };
}
