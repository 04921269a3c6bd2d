/**
 * Positions of the incremental periodic sweeps (the periodic_cursors table).
 * A sweep reads its position, works through what lies after it in a fixed
 * order, and writes the position of the last unit it finished; a run that
 * stops early (deadline) or dies leaves the position where the work stopped.
 */
import { eq } from "drizzle-orm";
import type { DbHandle, Queryable } from "./db.js";
import { periodicCursors } from "./schema.js";

export async function readCursor<T>(db: DbHandle, name: string): Promise<T | null> {
  const handle: Queryable = db;
  const [row] = await handle.select({ position: periodicCursors.position }).from(periodicCursors).where(eq(periodicCursors.name, name));
  return row ? (row.position as T) : null;
}

export async function writeCursor(db: DbHandle, name: string, position: unknown, now: Date): Promise<void> {
  const handle: Queryable = db;
  const updatedAt = now.toISOString();
  await handle
    .insert(periodicCursors)
    .values({ name, position, updatedAt })
    .onConflictDoUpdate({ target: periodicCursors.name, set: { position, updatedAt } });
}
