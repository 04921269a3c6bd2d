/**
 * What the store already holds for a page of objects, by order key. A
 * backfill that finds the same key skips the write, so a re-run changes
 * nothing (not even recorded_at) and its summary says what was new.
 */
import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "../store/db.js";
import { ciRuns, prOutcomes } from "../store/schema.js";

export async function knownPrOrderKeys(db: Db, provider: string, repoSlug: string, prNumbers: number[]): Promise<Map<number, string>> {
  if (prNumbers.length === 0) return new Map();
  const rows = await db
    .select({ prNumber: prOutcomes.prNumber, orderKey: prOutcomes.orderKey })
    .from(prOutcomes)
    .where(and(eq(prOutcomes.provider, provider), eq(prOutcomes.repoSlug, repoSlug), inArray(prOutcomes.prNumber, prNumbers)));
  return new Map(rows.map((r) => [r.prNumber, r.orderKey]));
}

export async function knownCiOrderKeys(db: Db, provider: string, runIds: string[]): Promise<Map<string, string>> {
  if (runIds.length === 0) return new Map();
  const rows = await db
    .select({ runId: ciRuns.runId, orderKey: ciRuns.orderKey })
    .from(ciRuns)
    .where(and(eq(ciRuns.provider, provider), inArray(ciRuns.runId, runIds)));
  return new Map(rows.map((r) => [r.runId, r.orderKey]));
}
