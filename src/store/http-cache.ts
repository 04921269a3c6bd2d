/**
 * The conditional-request cache: one row per GET URL with the validators
 * GitHub sent (ETag, Last-Modified) and the body that went with them. A 304
 * answer costs no rate limit, so an unchanged re-run is nearly free.
 * Only response bodies and headers GitHub sends are kept; never request headers, never tokens.
 */
import { eq, sql } from "drizzle-orm";
import type { Db } from "./db.js";
import { httpCache } from "./schema.js";

/** What a cached GET needs to be replayed: its data and the headers pagination reads (Link). */
export interface CachedBody {
  data: unknown;
  headers: Record<string, string>;
}

export interface CachedResponse {
  key: string;
  etag: string | null;
  lastModified: string | null;
  body: CachedBody;
  fetchedAt: string;
}

function isCachedBody(value: unknown): value is CachedBody {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return "data" in candidate && typeof candidate.headers === "object" && candidate.headers !== null;
}

export async function readCachedResponse(db: Db, key: string): Promise<CachedResponse | null> {
  const [row] = await db.select().from(httpCache).where(eq(httpCache.key, key)).limit(1);
  // A row in another shape (written by an older version) is treated as absent: it is simply fetched again.
  if (!row || !isCachedBody(row.body)) return null;
  return { key: row.key, etag: row.etag, lastModified: row.lastModified, body: row.body, fetchedAt: row.fetchedAt };
}

export async function writeCachedResponse(db: Db, entry: CachedResponse): Promise<void> {
  await db
    .insert(httpCache)
    .values(entry)
    .onConflictDoUpdate({
      target: httpCache.key,
      set: { etag: entry.etag, lastModified: entry.lastModified, body: entry.body, fetchedAt: entry.fetchedAt },
    });
}

export async function countCachedResponses(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)` }).from(httpCache);
  return Number(row.n);
}
