/**
 * Writes of the ingest path. Every write is an idempotent upsert guarded by an
 * order key, so redeliveries, replays, backfills and out-of-order events all
 * converge on the same row.
 */
import { and, desc, eq, getTableColumns, gte, SQL, sql, type Table } from "drizzle-orm";
import type { Db } from "./db.js";
import { clientOf, leanStatement } from "./lean-statement.js";
import { ciRuns, deliveries, prOutcomes, type CiRun, type CiStatus, type NewCiRun, type NewPrOutcome, type PrOutcome, type PrState } from "./schema.js";

/** "stale": the stored row is already further along; nothing was written. */
export type UpsertResult = "written" | "stale";

/**
 * `SET col = excluded.col` for the columns the ingest owns. Outcome-tracking
 * columns (reverts, touches, session links) are never overwritten by ingest.
 */
function excludedSet<T extends Table>(table: T, keys: (keyof T["$inferInsert"] & string)[]): Record<string, SQL> {
  const columns = getTableColumns(table) as Record<string, { name: string }>;
  return Object.fromEntries(keys.map((key) => [key, sql.raw(`excluded."${columns[key].name}"`)]));
}

const PR_INGEST_COLUMNS = [
  "title", "state", "draft", "author", "headRef", "headSha", "headRepoSlug", "isFork", "baseRef", "baseSha",
  "mergeCommitSha", "createdAt", "mergedAt", "closedAt", "updatedAt", "orderKey", "rawJson", "recordedAt",
] satisfies (keyof NewPrOutcome)[];

const CI_INGEST_COLUMNS = [
  "commitSha", "headBranch", "event", "status", "rawStatus", "conclusion", "workflowName", "workflowId", "appSlug",
  "runAttempt", "htmlUrl", "startedTs", "completedTs", "updatedAt", "orderKey", "rawJson", "rawDeliveryId", "rawPath", "recordedAt",
] satisfies (keyof NewCiRun)[];

/** Every column the ingest writes on insert: the key columns plus the ones it owns on update. */
const PR_INSERT_COLUMNS = ["provider", "repoSlug", "prNumber", ...PR_INGEST_COLUMNS] satisfies (keyof NewPrOutcome)[];
const CI_INSERT_COLUMNS = ["provider", "repoSlug", "runId", "prNumbers", ...CI_INGEST_COLUMNS] satisfies (keyof NewCiRun)[];

/**
 * `{ key: placeholder(key) }` for a prepared insert or update. Each
 * placeholder stays bound to its column, so booleans and JSON columns are
 * encoded as `.values(row)` and `.set(row)` would encode them.
 */
function columnPlaceholders(keys: readonly string[]): Record<string, unknown> {
  // raw_json is serialised once per call (rawJsonText), not once per statement that carries it.
  return Object.fromEntries(keys.map((key) => [key, key === "rawJson" ? sql`${sql.placeholder("rawJsonText")}` : sql.placeholder(key)]));
}

/**
 * The row as placeholder values, added to `values` (whose keys win): a key
 * left undefined gets what `.values(row)` would have written for it, the
 * column's default or NULL. One object is filled rather than spread into
 * another, which V8 builds slowly.
 */
function placeholderValues<T extends Table>(
  table: T,
  keys: readonly string[],
  row: Record<string, unknown>,
  values: Record<string, unknown>,
): Record<string, unknown> {
  const columns = getTableColumns(table) as Record<string, { default?: unknown }>;
  for (const key of keys) {
    if (key in values) continue;
    const value = row[key];
    if (value !== undefined) values[key] = value;
    else {
      const fallback = columns[key].default;
      if (fallback instanceof SQL) throw new Error(`${key} has an SQL default: give it a value`);
      values[key] = fallback ?? null;
    }
  }
  return values;
}

/**
 * The ingest's PR and run writes, built by Drizzle once per database instead
 * of on every delivery (building the statement cost more than running it).
 *
 * A row already stored (the run's second and third event, every later PR
 * event, a redelivery) is written by a plain UPDATE guarded by the order key:
 * SQLite's upsert first encodes and tries the whole insert, which costs about
 * as much again. The UPDATE sets what the upsert's DO UPDATE sets; when it
 * finds no row (new, or stale) the upsert decides, so a row inserted by
 * another process in between is still handled by the upsert's conflict rule.
 * Both say what they did by the rows they changed, not by RETURNING: a
 * statement that returns rows runs as a query in the driver, which took half
 * of a run's write (upsertCiRun 48.6 → 25.0 µs in a scratch bench). They run
 * as lean statements (lean-statement.ts): Drizzle's SQL, without its
 * per-call placeholder filling.
 */
function prepareIngestWrites(db: Db) {
  const updatePr = leanStatement(
    db
      .update(prOutcomes)
      .set(columnPlaceholders(PR_INGEST_COLUMNS) as unknown as NewPrOutcome)
      .where(
        and(
          eq(prOutcomes.provider, sql.placeholder("provider")),
          eq(prOutcomes.repoSlug, sql.placeholder("repoSlug")),
          eq(prOutcomes.prNumber, sql.placeholder("prNumber")),
          sql`${sql.placeholder("orderKey")} >= ${prOutcomes.orderKey}`,
        ),
      ),
  );
  const upsertPr = leanStatement(
    db
      .insert(prOutcomes)
      .values(columnPlaceholders(PR_INSERT_COLUMNS) as unknown as NewPrOutcome)
      .onConflictDoUpdate({
        target: [prOutcomes.provider, prOutcomes.repoSlug, prOutcomes.prNumber],
        set: excludedSet(prOutcomes, PR_INGEST_COLUMNS),
        setWhere: sql`excluded.order_key >= ${prOutcomes.orderKey}`,
      }),
  );
  // Fork PRs: their workflow runs carry no pull_requests; link the runs by head SHA.
  const linkRunsToPr = leanStatement(
    db
      .update(ciRuns)
      .set({ prNumbers: sql`json_array(${sql.placeholder("prNumber")})` })
      .where(
        and(
          eq(ciRuns.repoSlug, sql.placeholder("repoSlug")),
          eq(ciRuns.commitSha, sql.placeholder("headSha")),
          sql`${ciRuns.prNumbers} = '[]'`,
        ),
      ),
  );
  const prNumbersAt = db
    .select({ prNumber: prOutcomes.prNumber })
    .from(prOutcomes)
    .where(and(eq(prOutcomes.repoSlug, sql.placeholder("repoSlug")), eq(prOutcomes.headSha, sql.placeholder("commitSha"))))
    .prepare();
  // A run's later events name the same commit and branch: the UPDATE leaves those indexed columns out of its SET
  // and asks for them to match instead (a row whose differ is the upsert's). SQLite rewrites the index entries of
  // every column a SET names, equal or not: two index pages dirtied, written to the WAL and checkpointed, per event.
  const updateRun = leanStatement(
    db
      .update(ciRuns)
      .set({
        ...(columnPlaceholders(CI_INGEST_COLUMNS.filter((key) => key !== "commitSha" && key !== "headBranch")) as unknown as NewCiRun),
        prNumbers: sql`CASE WHEN ${sql.placeholder("prNumbersJson")} = '[]' THEN ${ciRuns.prNumbers} ELSE ${sql.placeholder("prNumbersJson")} END`,
      })
      .where(
        and(
          eq(ciRuns.provider, sql.placeholder("provider")),
          eq(ciRuns.runId, sql.placeholder("runId")),
          sql`${sql.placeholder("orderKey")} >= ${ciRuns.orderKey}`,
          eq(ciRuns.commitSha, sql.placeholder("commitSha")),
          sql`${ciRuns.headBranch} IS ${sql.placeholder("headBranch")}`,
        ),
      ),
  );
  const upsertRun = leanStatement(
    db
      .insert(ciRuns)
      .values(columnPlaceholders(CI_INSERT_COLUMNS) as unknown as NewCiRun)
      .onConflictDoUpdate({
        target: [ciRuns.provider, ciRuns.runId],
        set: {
          ...excludedSet(ciRuns, CI_INGEST_COLUMNS),
          // Keep a PR link found earlier (by SHA) when a later event carries none.
          prNumbers: sql`CASE WHEN excluded.pr_numbers = '[]' THEN ${ciRuns.prNumbers} ELSE excluded.pr_numbers END`,
        },
        setWhere: sql`excluded.order_key >= ${ciRuns.orderKey}`,
      }),
  );
  return { updatePr, upsertPr, linkRunsToPr, prNumbersAt, updateRun, upsertRun };
}

const ingestWrites = new WeakMap<Db, ReturnType<typeof prepareIngestWrites>>();

function ingestWritesFor(db: Db): ReturnType<typeof prepareIngestWrites> {
  let writes = ingestWrites.get(db);
  if (!writes) {
    writes = prepareIngestWrites(db);
    ingestWrites.set(db, writes);
  }
  return writes;
}

export async function upsertPrOutcome(db: Db, row: NewPrOutcome): Promise<UpsertResult> {
  const writes = ingestWritesFor(db);
  const values = placeholderValues(prOutcomes, PR_INSERT_COLUMNS, row, { rawJsonText: JSON.stringify(row.rawJson) });
  const client = clientOf(db);
  if ((await writes.updatePr.run(client, values)).rowsAffected === 0 && (await writes.upsertPr.run(client, values)).rowsAffected === 0) return "stale";
  if (row.headSha) await writes.linkRunsToPr.run(client, { prNumber: row.prNumber, repoSlug: row.repoSlug, headSha: row.headSha });
  return "written";
}

/** Where a row's raw object already sits: the stored body of the delivery that carried it, at a JSON path. */
export interface RawSource {
  deliveryId: string;
  /** A JSON path into the body, e.g. `$.workflow_run`. */
  path: string;
}

/**
 * A CI run's raw object, wherever it is kept: on the row, or in the body of
 * the delivery that carried it. Select this instead of `ciRuns.rawJson`.
 */
export const ciRunRawJson = sql<unknown>`coalesce(${ciRuns.rawJson}, (SELECT json_extract(delivery_bodies.body, ${ciRuns.rawPath}) FROM delivery_bodies WHERE delivery_bodies.id = ${ciRuns.rawDeliveryId}))`.mapWith(
  (text: unknown) => (typeof text === "string" ? (JSON.parse(text) as unknown) : null),
);

/**
 * Inserts or updates a CI run. With a `source` the raw object is not copied:
 * the row points at the stored delivery body that holds it (ingest); without
 * one (backfill, forges) it is stored on the row.
 */
export async function upsertCiRun(db: Db, row: NewCiRun, source?: RawSource): Promise<UpsertResult> {
  const writes = ingestWritesFor(db);
  let prNumbers = row.prNumbers ?? [];
  // Only a run without PRs (a push, a fork PR's run) is looked up: a PR stored earlier may name its head SHA.
  if (prNumbers.length === 0) {
    const linked = await writes.prNumbersAt.all({ repoSlug: row.repoSlug, commitSha: row.commitSha });
    prNumbers = linked.map((r) => r.prNumber).sort((a, b) => a - b);
  }
  const values = placeholderValues(ciRuns, CI_INSERT_COLUMNS, row, {
    prNumbers,
    prNumbersJson: JSON.stringify(prNumbers),
    rawJsonText: source ? null : JSON.stringify(row.rawJson),
    rawDeliveryId: source?.deliveryId ?? null,
    rawPath: source?.path ?? null,
  });
  const client = clientOf(db);
  if ((await writes.updateRun.run(client, values)).rowsAffected === 0 && (await writes.upsertRun.run(client, values)).rowsAffected === 0) return "stale";
  return "written";
}

// ---- deliveries (written by src/inbox/) --------------------------------------

export async function countDeliveries(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)` }).from(deliveries);
  return Number(row.n);
}

// ---- queries ----------------------------------------------------------------

/**
 * A provider filter: the exact provider, or a forge's family (`github`
 * matches github, github-actions and github-checks; `gitlab` matches gitlab-ci).
 */
function providerMatches(column: typeof prOutcomes.provider | typeof ciRuns.provider, provider: string): SQL {
  return sql`(${column} = ${provider} OR ${column} LIKE ${`${provider.replace(/[%_\\]/g, "")}-%`})`;
}

export interface PrQuery {
  repo?: string;
  /** github | gitlab | gitea (or any stored provider) */
  provider?: string;
  state?: PrState;
  since?: string;
  limit?: number;
}

export async function listPrOutcomes(db: Db, query: PrQuery = {}): Promise<PrOutcome[]> {
  const where = [
    query.repo ? sql`lower(${prOutcomes.repoSlug}) = lower(${query.repo})` : undefined,
    query.provider ? providerMatches(prOutcomes.provider, query.provider) : undefined,
    query.state ? eq(prOutcomes.state, query.state) : undefined,
    query.since ? gte(prOutcomes.updatedAt, query.since) : undefined,
  ].filter((w): w is SQL => w !== undefined);
  return db
    .select()
    .from(prOutcomes)
    .where(and(...where))
    .orderBy(desc(prOutcomes.updatedAt), desc(prOutcomes.prNumber))
    .limit(query.limit ?? 100);
}

export interface RunQuery {
  repo?: string;
  /** github-actions, github-checks, gitlab-ci, gitea-status, gitea-actions, or a forge's family (github, gitlab, gitea) */
  provider?: string;
  commitSha?: string;
  status?: CiStatus;
  since?: string;
  limit?: number;
}

export async function listCiRuns(db: Db, query: RunQuery = {}): Promise<CiRun[]> {
  const where = [
    query.repo ? sql`lower(${ciRuns.repoSlug}) = lower(${query.repo})` : undefined,
    query.provider ? providerMatches(ciRuns.provider, query.provider) : undefined,
    // Short SHAs are what people paste; match by prefix.
    query.commitSha ? sql`${ciRuns.commitSha} LIKE ${`${query.commitSha.toLowerCase()}%`}` : undefined,
    query.status ? eq(ciRuns.status, query.status) : undefined,
    query.since ? gte(ciRuns.updatedAt, query.since) : undefined,
  ].filter((w): w is SQL => w !== undefined);
  return db
    .select()
    .from(ciRuns)
    .where(and(...where))
    .orderBy(desc(ciRuns.updatedAt), desc(ciRuns.id))
    .limit(query.limit ?? 100);
}

/** Rows as the JSON API and `--json` print them: raw payloads left out unless asked for. */
export function withoutRaw<T extends { rawJson: unknown }>(row: T): Omit<T, "rawJson"> {
  const { rawJson: _raw, ...rest } = row;
  return rest;
}
