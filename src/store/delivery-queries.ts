/** Reading the deliveries inbox: listings (without payloads) for the CLI and the dashboard, one row in full. */
import { and, count, desc, eq, getTableColumns, gte, type SQL } from "drizzle-orm";
import type { Db } from "./db.js";
import { deliveries, deliveryRecords, DELIVERY_STATUSES } from "./schema.js";

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

/** Listings read the records alone: the bodies are another table (see schema.ts), so a page of them costs no 20 KB reads. */
const summaryColumns = getTableColumns(deliveryRecords);

function where(query: DeliveryQuery): SQL | undefined {
  const conditions: SQL[] = [];
  if (query.status) conditions.push(eq(deliveryRecords.status, query.status));
  if (query.event) conditions.push(eq(deliveryRecords.event, query.event));
  if (query.repo) conditions.push(eq(deliveryRecords.repoSlug, query.repo));
  if (query.since) conditions.push(gte(deliveryRecords.receivedAt, query.since));
  return conditions.length > 0 ? and(...conditions) : undefined;
}

/** Newest first, without payloads. */
export async function listDeliveries(db: Db, query: DeliveryQuery = {}): Promise<DeliverySummary[]> {
  return db
    .select(summaryColumns)
    .from(deliveryRecords)
    .where(where(query))
    .orderBy(desc(deliveryRecords.receivedAt), desc(deliveryRecords.id))
    .limit(query.limit ?? 100)
    .offset(query.offset ?? 0);
}

export async function countMatchingDeliveries(db: Db, query: DeliveryQuery = {}): Promise<number> {
  const [row] = await db.select({ n: count() }).from(deliveryRecords).where(where(query));
  return row?.n ?? 0;
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
