/**
 * The inbox is the `deliveries` table: a row in status `received` is a
 * delivery waiting for the processor. These are its statements, in plain SQL
 * on the libSQL client: the append is built for any number of rows at once
 * (one statement per group commit), which Drizzle's prepared statements
 * cannot express.
 */
import type { Client, InValue } from "@libsql/client";

export interface InboxEntry {
  id: string;
  event: string;
  action: string | null;
  repoSlug: string | null;
  installationId: number | null;
  /** The body exactly as received: stored once, parsed again by the processor. */
  body: string;
  /** Headers worth keeping (hook id, installation target), or null. */
  headers: Record<string, string> | null;
}

export interface ClaimedDelivery {
  id: string;
  event: string;
  body: string;
  /** Tries so far, this one included. */
  attempts: number;
}

const APPEND_COLUMNS = "id, event, action, repo_slug, installation_id, received_at, claimed_at, status, payload, attempts, headers";
const APPEND_ROW = "(?, ?, ?, ?, ?, ?, ?, 'received', ?, 0, ?)";
const appendSql = new Map<number, string>();

/**
 * `INSERT … VALUES (…), (…) … ON CONFLICT DO UPDATE … RETURNING id` for n rows.
 * A delivery already in the inbox, or processed, is a duplicate (nothing
 * returned); one that failed for good is taken in again, as a redelivery
 * from GitHub's settings page means "try this once more".
 */
function appendStatement(rows: number): string {
  let sql = appendSql.get(rows);
  if (!sql) {
    sql =
      `INSERT INTO deliveries (${APPEND_COLUMNS}) VALUES ${Array.from({ length: rows }, () => APPEND_ROW).join(", ")} ` +
      "ON CONFLICT(id) DO UPDATE SET status = 'received', payload = excluded.payload, headers = excluded.headers, " +
      "attempts = 0, lease_until = NULL, next_attempt_at = NULL, claimed_at = excluded.claimed_at " +
      "WHERE deliveries.status = 'failed' RETURNING id";
    appendSql.set(rows, sql);
  }
  return sql;
}

/**
 * Appends the entries in one statement (one transaction) and returns the ids
 * taken in; an id missing from the result was a duplicate. Entries must have
 * distinct ids (the caller settles repeats within a batch).
 */
export async function appendDeliveries(client: Client, entries: readonly InboxEntry[], now: string): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  const args: InValue[] = [];
  for (const entry of entries) {
    args.push(
      entry.id,
      entry.event,
      entry.action,
      entry.repoSlug,
      entry.installationId,
      now,
      now,
      entry.body,
      entry.headers ? JSON.stringify(entry.headers) : null,
    );
  }
  const result = await client.execute({ sql: appendStatement(entries.length), args });
  return new Set(result.rows.map((row) => String(row.id)));
}

const DUE = "status = 'received' AND (lease_until IS NULL OR lease_until < ?) AND (next_attempt_at IS NULL OR next_attempt_at <= ?)";

function claimedRows(rows: Record<string, unknown>[]): ClaimedDelivery[] {
  return rows
    .map((row) => ({ order: Number(row.rowid), id: String(row.id), event: String(row.event), body: String(row.payload), attempts: Number(row.attempts) }))
    .sort((a, b) => a.order - b.order)
    .map(({ order: _order, ...delivery }) => delivery);
}

/**
 * Leases up to `limit` due deliveries in arrival order (rowid) and counts the
 * try. A lease left behind by a crashed process runs out and the row is due
 * again: nothing acknowledged is ever lost.
 */
export async function claimDueDeliveries(client: Client, limit: number, now: Date, leaseMs: number): Promise<ClaimedDelivery[]> {
  const at = now.toISOString();
  const result = await client.execute({
    sql:
      "UPDATE deliveries SET lease_until = ?, claimed_at = ?, attempts = attempts + 1 " +
      `WHERE rowid IN (SELECT rowid FROM deliveries WHERE ${DUE} ORDER BY rowid LIMIT ?) ` +
      "RETURNING rowid, id, event, payload, attempts",
    args: [new Date(now.getTime() + leaseMs).toISOString(), at, at, at, limit],
  });
  return claimedRows(result.rows as unknown as Record<string, unknown>[]);
}

/** Leases one delivery by id if it is due (the synchronous path: `probot receive`, replay). */
export async function claimDeliveryById(client: Client, id: string, now: Date, leaseMs: number): Promise<ClaimedDelivery | null> {
  const at = now.toISOString();
  const result = await client.execute({
    sql:
      "UPDATE deliveries SET lease_until = ?, claimed_at = ?, attempts = attempts + 1 " +
      `WHERE id = ? AND ${DUE} RETURNING rowid, id, event, payload, attempts`,
    args: [new Date(now.getTime() + leaseMs).toISOString(), at, id, at, at],
  });
  return claimedRows(result.rows as unknown as Record<string, unknown>[])[0] ?? null;
}

export type Settlement =
  | { status: "processed" | "ignored"; note?: string }
  /** Final: no more tries (a malformed payload, or the tries ran out). */
  | { status: "failed"; error: string }
  /** Another try at `retryAt`; the error stays visible on the row meanwhile. */
  | { status: "retry"; error: string; retryAt: Date };

export async function settleDelivery(client: Client, id: string, settlement: Settlement, now: Date): Promise<void> {
  const at = now.toISOString();
  if (settlement.status === "retry") {
    await client.execute({
      sql: "UPDATE deliveries SET status = 'received', error = ?, lease_until = NULL, next_attempt_at = ? WHERE id = ?",
      args: [settlement.error, settlement.retryAt.toISOString(), id],
    });
    return;
  }
  const failed = settlement.status === "failed";
  await client.execute({
    sql: "UPDATE deliveries SET status = ?, error = ?, note = ?, processed_at = ?, lease_until = NULL, next_attempt_at = NULL WHERE id = ?",
    args: [settlement.status, failed ? settlement.error : null, failed ? null : (settlement.note ?? null), at, id],
  });
}

/** When the next delivery falls due (a retry's wait, or a lease running out), or null when none waits. */
export async function nextDueAt(client: Client): Promise<Date | null> {
  const result = await client.execute(
    "SELECT min(max(coalesce(next_attempt_at, ''), coalesce(lease_until, ''))) AS due FROM deliveries WHERE status = 'received'",
  );
  const due = result.rows[0]?.due;
  if (due === null || due === undefined) return null;
  return due === "" ? new Date(0) : new Date(String(due));
}

/** Puts a delivery that failed for good back in the inbox, for a person's retry. */
export async function requeueDelivery(client: Client, id: string): Promise<boolean> {
  const result = await client.execute({
    sql: "UPDATE deliveries SET status = 'received', attempts = 0, lease_until = NULL, next_attempt_at = NULL WHERE id = ? AND status = 'failed'",
    args: [id],
  });
  return result.rowsAffected > 0;
}
