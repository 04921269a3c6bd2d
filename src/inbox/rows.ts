/**
 * The inbox is the `delivery_records` table (read as the `deliveries` view):
 * a row in status `received` is a delivery waiting for the processor; its
 * body sits in `delivery_bodies`, written once. These are the statements, in
 * plain SQL on the libSQL client: the append is built for any number of rows
 * at once (one transaction per group commit), which Drizzle's prepared
 * statements cannot express.
 */
import type { Client, InValue } from "@libsql/client";
import { actionOf, installationIdOf, repoSlugOf } from "../handlers/types.js";

/** Read from the payload: by the ingress when it parsed one, else by the processor when it settles the delivery. */
export interface DeliveryFacts {
  action: string | null;
  repoSlug: string | null;
  installationId: number | null;
}

export function deliveryFacts(payload: Record<string, unknown>): DeliveryFacts {
  return { action: actionOf(payload), repoSlug: repoSlugOf(payload), installationId: installationIdOf(payload) };
}

export interface InboxEntry extends DeliveryFacts {
  id: string;
  event: string;
  /** The body exactly as received: stored once, parsed again by the processor. */
  body: string;
  /** Headers worth keeping (hook id, installation target), or null. */
  headers: Record<string, string> | null;
}

/** A leased delivery; its body is read when its turn comes (readDeliveryBodies), so a batch does not hold them all. */
export interface ClaimedDelivery {
  id: string;
  event: string;
  /** Tries so far, this one included. */
  attempts: number;
  /** When it was appended (ISO): how far behind the processor is. */
  receivedAt: string;
}

const RECORD_COLUMNS = "id, event, action, repo_slug, installation_id, received_at, claimed_at, status, attempts, headers";
const RECORD_ROW = "(?, ?, ?, ?, ?, ?, ?, 'received', 0, ?)";
const appendSql = new Map<number, { bodies: string; records: string }>();

/**
 * The two statements of an append of n rows, run in one transaction, bodies
 * first. A delivery already in the inbox, or processed, is a duplicate: its
 * record is left alone (nothing returned) and so is its body. One that failed
 * for good is taken in again, as a redelivery from GitHub's settings page
 * means "try this once more": the body is replaced while its record still
 * says `failed`, then the record goes back to `received`.
 */
function appendStatements(rows: number): { bodies: string; records: string } {
  let statements = appendSql.get(rows);
  if (!statements) {
    const values = (row: string) => Array.from({ length: rows }, () => row).join(", ");
    statements = {
      bodies:
        `INSERT INTO delivery_bodies (id, body) VALUES ${values("(?, ?)")} ` +
        "ON CONFLICT(id) DO UPDATE SET body = excluded.body " +
        "WHERE (SELECT status FROM delivery_records WHERE delivery_records.id = excluded.id) = 'failed'",
      records:
        `INSERT INTO delivery_records (${RECORD_COLUMNS}) VALUES ${values(RECORD_ROW)} ` +
        "ON CONFLICT(id) DO UPDATE SET status = 'received', headers = excluded.headers, " +
        "attempts = 0, lease_until = NULL, next_attempt_at = NULL, claimed_at = excluded.claimed_at " +
        "WHERE delivery_records.status = 'failed' RETURNING id",
    };
    appendSql.set(rows, statements);
  }
  return statements;
}

/**
 * Appends the entries in one transaction and returns the ids taken in; an id
 * missing from the result was a duplicate. Entries must have distinct ids
 * (the caller settles repeats within a batch).
 */
export async function appendDeliveries(client: Client, entries: readonly InboxEntry[], now: string): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  const bodyArgs: InValue[] = [];
  const recordArgs: InValue[] = [];
  for (const entry of entries) {
    bodyArgs.push(entry.id, entry.body);
    recordArgs.push(entry.id, entry.event, entry.action, entry.repoSlug, entry.installationId, now, now, entry.headers ? JSON.stringify(entry.headers) : null);
  }
  const statements = appendStatements(entries.length);
  const [, records] = await client.batch(
    [
      { sql: statements.bodies, args: bodyArgs },
      { sql: statements.records, args: recordArgs },
    ],
    "write",
  );
  return new Set(records.rows.map((row) => String(row.id)));
}

/** What a claim returns: the record's order, tries and age (the body stays in its own table until wanted). */
const CLAIMED = "rowid, id, event, attempts, received_at";
const DUE = "status = 'received' AND (lease_until IS NULL OR lease_until < ?) AND (next_attempt_at IS NULL OR next_attempt_at <= ?)";

function claimedRows(rows: Record<string, unknown>[]): ClaimedDelivery[] {
  return rows
    .map((row) => ({ order: Number(row.rowid), id: String(row.id), event: String(row.event), attempts: Number(row.attempts), receivedAt: String(row.received_at) }))
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
      "UPDATE delivery_records SET lease_until = ?, claimed_at = ?, attempts = attempts + 1 " +
      `WHERE rowid IN (SELECT rowid FROM delivery_records WHERE ${DUE} ORDER BY rowid LIMIT ?) ` +
      `RETURNING ${CLAIMED}`,
    args: [new Date(now.getTime() + leaseMs).toISOString(), at, at, at, limit],
  });
  return claimedRows(result.rows as unknown as Record<string, unknown>[]);
}

/**
 * A delivery's body as received, or null when its row has none (a broken
 * row, failed as malformed).
 */
export async function readDeliveryBody(client: Client, id: string): Promise<string | null> {
  return (await readDeliveryBodies(client, [id])).get(id) ?? null;
}

const readBodiesSql = new Map<number, string>();

/**
 * The bodies of a few deliveries in one statement, by id; an id without a
 * body is missing from the map. The processor reads a few ahead of where it
 * is (see processor.ts): a statement costs ~20 µs of the client's own work,
 * as much as reading a 20 KB body, but all 64 bodies of a claim held through
 * its batch were copied by every young garbage collection, and then promoted.
 */
export async function readDeliveryBodies(client: Client, ids: readonly string[]): Promise<Map<string, string>> {
  const bodies = new Map<string, string>();
  if (ids.length === 0) return bodies;
  let statement = readBodiesSql.get(ids.length);
  if (!statement) {
    statement = `SELECT id, body FROM delivery_bodies WHERE id IN (${ids.map(() => "?").join(", ")})`;
    readBodiesSql.set(ids.length, statement);
  }
  const result = await client.execute({ sql: statement, args: ids as string[] });
  for (const row of result.rows) if (typeof row.body === "string") bodies.set(String(row.id), row.body);
  return bodies;
}

/** Leases one delivery by id if it is due (the synchronous path: `probot receive`, replay). */
export async function claimDeliveryById(client: Client, id: string, now: Date, leaseMs: number): Promise<ClaimedDelivery | null> {
  const at = now.toISOString();
  const result = await client.execute({
    sql:
      "UPDATE delivery_records SET lease_until = ?, claimed_at = ?, attempts = attempts + 1 " +
      `WHERE id = ? AND ${DUE} RETURNING ${CLAIMED}`,
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

/** Fills what the ingress left for the processor (see DeliveryFacts); what is there already stays. */
const FILL_FACTS = "action = coalesce(action, ?), repo_slug = coalesce(repo_slug, ?), installation_id = coalesce(installation_id, ?)";

function factArgs(facts: DeliveryFacts | null | undefined): InValue[] {
  return [facts?.action ?? null, facts?.repoSlug ?? null, facts?.installationId ?? null];
}

export async function settleDelivery(client: Client, id: string, settlement: Settlement, now: Date, facts?: DeliveryFacts | null): Promise<void> {
  const at = now.toISOString();
  if (settlement.status === "retry") {
    await client.execute({
      sql: `UPDATE delivery_records SET status = 'received', error = ?, lease_until = NULL, next_attempt_at = ?, ${FILL_FACTS} WHERE id = ?`,
      args: [settlement.error, settlement.retryAt.toISOString(), ...factArgs(facts), id],
    });
    return;
  }
  const failed = settlement.status === "failed";
  await client.execute({
    sql: `UPDATE delivery_records SET status = ?, error = ?, note = ?, processed_at = ?, lease_until = NULL, next_attempt_at = NULL, ${FILL_FACTS} WHERE id = ?`,
    args: [settlement.status, failed ? settlement.error : null, failed ? null : (settlement.note ?? null), at, ...factArgs(facts), id],
  });
}

const settleManySql = new Map<number, string>();

/**
 * Settles n processed (or ignored) deliveries in one statement: what a batch
 * transaction of the processor writes at its end, beside the handlers' rows.
 */
export async function settleDeliveries(
  client: Client,
  settled: readonly { id: string; status: "processed" | "ignored"; note?: string; facts?: DeliveryFacts | null }[],
  now: Date,
): Promise<void> {
  if (settled.length === 0) return;
  let statement = settleManySql.get(settled.length);
  if (!statement) {
    statement =
      "UPDATE delivery_records SET status = settled.column2, note = settled.column3, error = NULL, processed_at = ?, " +
      "lease_until = NULL, next_attempt_at = NULL, action = coalesce(action, settled.column4), " +
      "repo_slug = coalesce(repo_slug, settled.column5), installation_id = coalesce(installation_id, settled.column6) " +
      `FROM (VALUES ${Array.from({ length: settled.length }, () => "(?, ?, ?, ?, ?, ?)").join(", ")}) AS settled ` +
      "WHERE delivery_records.id = settled.column1";
    settleManySql.set(settled.length, statement);
  }
  const args: InValue[] = [now.toISOString()];
  for (const row of settled) args.push(row.id, row.status, row.note ?? null, ...factArgs(row.facts));
  await client.execute({ sql: statement, args });
}

/** When the next delivery falls due (a retry's wait, or a lease running out), or null when none waits. */
export async function nextDueAt(client: Client): Promise<Date | null> {
  const result = await client.execute(
    "SELECT min(max(coalesce(next_attempt_at, ''), coalesce(lease_until, ''))) AS due FROM delivery_records WHERE status = 'received'",
  );
  const due = result.rows[0]?.due;
  if (due === null || due === undefined) return null;
  return due === "" ? new Date(0) : new Date(String(due));
}

/** Puts a delivery that failed for good back in the inbox, for a person's retry. */
export async function requeueDelivery(client: Client, id: string): Promise<boolean> {
  const result = await client.execute({
    sql: "UPDATE delivery_records SET status = 'received', attempts = 0, lease_until = NULL, next_attempt_at = NULL WHERE id = ? AND status = 'failed'",
    args: [id],
  });
  return result.rowsAffected > 0;
}
