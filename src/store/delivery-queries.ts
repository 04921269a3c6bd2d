/** Reading the deliveries inbox: listings (without payloads) for the CLI and the dashboard, one row in full. */
import { and, count, desc, eq, getTableColumns, gte, isNull, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Db, Queryable } from "./db.js";
import { deliveries, deliveryBodies, deliveryRecords, DELIVERY_STATUSES } from "./schema.js";

export { DELIVERY_STATUSES };
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export type Delivery = typeof deliveries.$inferSelect;
export type DeliverySummary = Omit<Delivery, "payload">;

export interface DeliveryQuery {
  status?: DeliveryStatus;
  event?: string;
  repo?: string;
  /** ISO time: received at or after. */
  since?: string;
  limit?: number;
  offset?: number;
}

/**
 * Body of a delivery still waiting with none of action, repository and
 * installation recorded: the webhook ingress stores GitHub's body unparsed
 * and the processor records them when it settles the delivery (inbox/rows.ts).
 * Joined for those rows only, so listings otherwise read no 20 KB bodies.
 */
const waitingBody = alias(deliveryBodies, "waiting_body");
const joinsWaitingBody = and(
  eq(waitingBody.id, deliveryRecords.id),
  eq(deliveryRecords.status, "received"),
  isNull(deliveryRecords.action),
  isNull(deliveryRecords.repoSlug),
  isNull(deliveryRecords.installationId),
);

/** A recorded fact, else the same fact read from the waiting body: `path` when it holds a value of `type` (as deliveryFacts reads it). */
function factOr<T>(column: SQL | typeof deliveryRecords.action, type: "text" | "integer", ...paths: string[]): SQL<T | null> {
  const body = waitingBody.body;
  const fromBody = paths.map((path) => sql`CASE WHEN json_type(${body}, ${path}) = ${type} THEN json_extract(${body}, ${path}) END`);
  const firstFound = fromBody.length === 1 ? fromBody[0] : sql`coalesce(${sql.join(fromBody, sql`, `)})`;
  return sql<T | null>`coalesce(${column}, CASE WHEN json_valid(${body}) THEN ${firstFound} END)`;
}

const repoSlug = factOr<string>(sql`${deliveryRecords.repoSlug}`, "text", "$.repository.full_name", "$.project.path_with_namespace");

/** Listings read the records, and a body only where its facts are not recorded yet (waitingBody). */
const summaryColumns = {
  ...getTableColumns(deliveryRecords),
  action: factOr<string>(sql`${deliveryRecords.action}`, "text", "$.action"),
  repoSlug,
  installationId: factOr<number>(sql`${deliveryRecords.installationId}`, "integer", "$.installation.id"),
};

function where(query: DeliveryQuery): SQL | undefined {
  const conditions: SQL[] = [];
  if (query.status) conditions.push(eq(deliveryRecords.status, query.status));
  if (query.event) conditions.push(eq(deliveryRecords.event, query.event));
  if (query.repo) conditions.push(sql`${repoSlug} = ${query.repo}`);
  if (query.since) conditions.push(gte(deliveryRecords.receivedAt, query.since));
  return conditions.length > 0 ? and(...conditions) : undefined;
}

/** Newest first, without payloads. */
export async function listDeliveries(db: Db, query: DeliveryQuery = {}): Promise<DeliverySummary[]> {
  return db
    .select(summaryColumns)
    .from(deliveryRecords)
    .leftJoin(waitingBody, joinsWaitingBody)
    .where(where(query))
    .orderBy(desc(deliveryRecords.receivedAt), desc(deliveryRecords.id))
    .limit(query.limit ?? 100)
    .offset(query.offset ?? 0);
}

export async function countMatchingDeliveries(db: Db, query: DeliveryQuery = {}): Promise<number> {
  const [row] = await db.select({ n: count() }).from(deliveryRecords).leftJoin(waitingBody, joinsWaitingBody).where(where(query));
  return row?.n ?? 0;
}

/** Whether any delivery matches, waiting ones included (their repository read from the body, as listings do). */
export async function anyDeliveryMatching(db: Queryable, query: Omit<DeliveryQuery, "limit" | "offset">): Promise<boolean> {
  const rows = await db.select({ one: sql<number>`1` }).from(deliveryRecords).leftJoin(waitingBody, joinsWaitingBody).where(where(query)).limit(1);
  return rows.length > 0;
}

export async function getDelivery(db: Db, id: string): Promise<Delivery | undefined> {
  const [row] = await db.select().from(deliveries).where(eq(deliveries.id, id)).limit(1);
  return row;
}

/** Event names seen, for filters. */
export async function deliveryEvents(db: Db): Promise<string[]> {
  const rows = await db.selectDistinct({ event: deliveryRecords.event }).from(deliveryRecords).orderBy(deliveryRecords.event);
  return rows.map((r) => r.event);
}
