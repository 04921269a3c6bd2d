/**
 * Read-side queries for the outcomes dashboard: recent fix attempts, per-variant
 * outcome rates and a daily series of attempts and outcomes.
 *
 * Outcomes come from the `feedback` rows alone (the outbox is the single record
 * of what happened to a fix), joined to fix_attempts through attempt_id for the
 * variant. One attempt may hold several rows of one metric (a PR closed, then
 * reopened and merged records both, in that order), so the row with the
 * highest id per (attempt, metric) is the attempt's current value. Only
 * boolean values count; a rate is hits over attempts with a verdict, except
 * for reverts: the tracker records `fixloop_pr_reverted` only when a revert
 * happens (true), so its rate is over the merged fixes (merged true, or with a
 * revert verdict of their own).
 */
import { desc, gte, sql } from "drizzle-orm";
import type { Db } from "../store/db.js";
import { ATTEMPT_SUMMARY, type AttemptSummary } from "../store/operator-queries.js";
import { fixAttempts, type FixStatus } from "../store/schema.js";
import { METRICS, type MetricName } from "../tensorzero/metrics.js";

/** The five outcome metrics, in the order a fix lives through them. */
export const OUTCOME_METRICS: readonly MetricName[] = [METRICS.patchApplied, METRICS.ciPassed, METRICS.prMerged, METRICS.prReverted, METRICS.heldUp];

export type RecentAttempt = AttemptSummary;

/** The newest attempts first. */
export async function recentAttempts(db: Db, options: { limit?: number } = {}): Promise<RecentAttempt[]> {
  return db
    .select(ATTEMPT_SUMMARY)
    .from(fixAttempts)
    .orderBy(desc(fixAttempts.createdAt), desc(fixAttempts.id))
    .limit(options.limit ?? 50);
}

export interface Rate {
  hits: number;
  total: number;
}

/** The share of hits, or null when nothing was measured. */
export function rateOf(rate: Rate): number | null {
  return rate.total === 0 ? null : rate.hits / rate.total;
}

export interface VariantStats {
  /** The TensorZero variant; null for attempts that never got a model answer (skipped, failed early). */
  variant: string | null;
  attempts: number;
  /** Attempts that opened a PR. */
  withPr: number;
  byStatus: Partial<Record<FixStatus, number>>;
  outcomes: Record<MetricName, Rate>;
}

function emptyOutcomes(): Record<MetricName, Rate> {
  return Object.fromEntries(OUTCOME_METRICS.map((name) => [name, { hits: 0, total: 0 }])) as Record<MetricName, Rate>;
}

/**
 * The current boolean value of each (attempt, metric) among `metrics`: the newest row's.
 * Columns: attempt_id, metric_name, hit (1/0), recorded_at.
 */
function latestVerdicts(metrics: readonly string[]) {
  return sql`
    SELECT f.attempt_id AS attempt_id, f.metric_name AS metric_name,
           CASE WHEN f.value = 'true' THEN 1 ELSE 0 END AS hit, f.created_at AS recorded_at
    FROM feedback f
    JOIN (
      SELECT max(id) AS id FROM feedback
      WHERE attempt_id IS NOT NULL AND metric_name IN (${sql.join(
        metrics.map((name) => sql`${name}`),
        sql`, `,
      )})
      GROUP BY attempt_id, metric_name
    ) latest ON latest.id = f.id
    WHERE f.value IN ('true', 'false')`;
}

/** Column alias of a metric in the per-attempt pivot: m0…m4 in OUTCOME_METRICS order. */
const column = (metric: MetricName) => sql.raw(`m${OUTCOME_METRICS.indexOf(metric)}`);

/** One row per attempt with a verdict: attempt_id and m0…m4, each 1, 0 or NULL (no verdict). */
const attemptVerdicts = sql`
  SELECT v.attempt_id AS attempt_id, ${sql.join(
    OUTCOME_METRICS.map((name) => sql`max(CASE WHEN v.metric_name = ${name} THEN v.hit END) AS ${column(name)}`),
    sql`, `,
  )}
  FROM (${latestVerdicts(OUTCOME_METRICS)}) v
  GROUP BY v.attempt_id`;

/** Merged fixes: merged, or with a revert verdict of their own. */
const MERGED_FIX = sql`(v.${column(METRICS.prMerged)} = 1 OR v.${column(METRICS.prReverted)} IS NOT NULL)`;

function rateColumns(metric: MetricName, i: number) {
  const value = sql`v.${column(metric)}`;
  if (metric === METRICS.prReverted) {
    return sql`sum(CASE WHEN ${MERGED_FIX} THEN coalesce(${value}, 0) END) AS ${sql.raw(`h${i}`)}, count(CASE WHEN ${MERGED_FIX} THEN 1 END) AS ${sql.raw(`t${i}`)}`;
  }
  return sql`sum(${value}) AS ${sql.raw(`h${i}`)}, count(${value}) AS ${sql.raw(`t${i}`)}`;
}

/**
 * Attempts, PRs, statuses and outcome rates per variant, for attempts created
 * since `since` (all when absent). Variants with the most attempts first; the
 * attempts without a variant last.
 */
export async function variantStats(db: Db, options: { since?: string } = {}): Promise<VariantStats[]> {
  const since = options.since ?? "";
  const statusRows = await db.all<{ variant: string | null; status: FixStatus; attempts: number; with_pr: number }>(sql`
    SELECT variant, status, count(*) AS attempts, count(pr_number) AS with_pr
    FROM fix_attempts WHERE created_at >= ${since}
    GROUP BY variant, status`);
  const outcomeRows = await db.all<Record<string, number | string | null>>(sql`
    SELECT a.variant AS variant, ${sql.join(OUTCOME_METRICS.map(rateColumns), sql`, `)}
    FROM (${attemptVerdicts}) v
    JOIN fix_attempts a ON a.id = v.attempt_id
    WHERE a.created_at >= ${since}
    GROUP BY a.variant`);

  const byVariant = new Map<string | null, VariantStats>();
  const entry = (variant: string | null): VariantStats => {
    let stats = byVariant.get(variant);
    if (!stats) {
      stats = { variant, attempts: 0, withPr: 0, byStatus: {}, outcomes: emptyOutcomes() };
      byVariant.set(variant, stats);
    }
    return stats;
  };
  for (const row of statusRows) {
    const stats = entry(row.variant);
    stats.attempts += Number(row.attempts);
    stats.withPr += Number(row.with_pr);
    stats.byStatus[row.status] = Number(row.attempts);
  }
  for (const row of outcomeRows) {
    const stats = entry(row.variant as string | null);
    OUTCOME_METRICS.forEach((metric, i) => {
      stats.outcomes[metric] = { hits: Number(row[`h${i}`] ?? 0), total: Number(row[`t${i}`] ?? 0) };
    });
  }
  return [...byVariant.values()].sort((a, b) => {
    if ((a.variant === null) !== (b.variant === null)) return a.variant === null ? 1 : -1;
    return b.attempts - a.attempts || String(a.variant).localeCompare(String(b.variant));
  });
}

export interface OutcomeTotals {
  attempts: number;
  withPr: number;
  byStatus: Partial<Record<FixStatus, number>>;
  outcomes: Record<MetricName, Rate>;
}

/** All variants together. */
export function totalsOf(stats: readonly VariantStats[]): OutcomeTotals {
  const totals: OutcomeTotals = { attempts: 0, withPr: 0, byStatus: {}, outcomes: emptyOutcomes() };
  for (const variant of stats) {
    totals.attempts += variant.attempts;
    totals.withPr += variant.withPr;
    for (const [status, n] of Object.entries(variant.byStatus) as [FixStatus, number][]) totals.byStatus[status] = (totals.byStatus[status] ?? 0) + n;
    for (const name of OUTCOME_METRICS) {
      totals.outcomes[name].hits += variant.outcomes[name].hits;
      totals.outcomes[name].total += variant.outcomes[name].total;
    }
  }
  return totals;
}

export interface DailyPoint {
  /** YYYY-MM-DD, UTC. */
  day: string;
  /** Attempts created that day. */
  opened: number;
  /** Attempts whose CI passed, on the day that was recorded. */
  ciPassed: number;
  /** Attempts whose PR was merged, on the day that was recorded. */
  merged: number;
}

const DAY_MS = 86_400_000;

/** The UTC days of the window ending today, oldest first. */
export function windowDays(days: number, now: Date): string[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: days }, (_, i) => new Date(today - (days - 1 - i) * DAY_MS).toISOString().slice(0, 10));
}

/** Per UTC day of the last `days` days (today included): attempts opened, CI passed, merged. Days without any are zeros. */
export async function dailyOutcomes(db: Db, options: { days?: number; now?: Date } = {}): Promise<DailyPoint[]> {
  const days = windowDays(options.days ?? 30, options.now ?? new Date());
  const start = `${days[0]}T00:00:00.000Z`;
  const points = new Map(days.map((day) => [day, { day, opened: 0, ciPassed: 0, merged: 0 }]));
  const opened = await db
    .select({ day: sql<string>`substr(${fixAttempts.createdAt}, 1, 10)`, n: sql<number>`count(*)` })
    .from(fixAttempts)
    .where(gte(fixAttempts.createdAt, start))
    .groupBy(sql`1`);
  for (const row of opened) {
    const point = points.get(row.day);
    if (point) point.opened = Number(row.n);
  }
  const outcomes = await db.all<{ day: string; metric_name: string; n: number }>(sql`
    SELECT substr(v.recorded_at, 1, 10) AS day, v.metric_name AS metric_name, count(*) AS n
    FROM (${latestVerdicts([METRICS.ciPassed, METRICS.prMerged])}) v
    WHERE v.hit = 1 AND v.recorded_at >= ${start}
    GROUP BY 1, 2`);
  for (const row of outcomes) {
    const point = points.get(row.day);
    if (!point) continue;
    if (row.metric_name === METRICS.ciPassed) point.ciPassed = Number(row.n);
    else point.merged = Number(row.n);
  }
  return [...points.values()];
}
