/**
 * Recording feedback for TensorZero: one `feedback` row per (target, metric,
 * dedup key), written in the same transaction as the outcome it reports, and
 * checked against the metric's level and value type when it is written. The
 * rows wait in this outbox until outcomes/outbox.ts sends them.
 */
import { and, eq } from "drizzle-orm";
import { METRIC_DEFINITIONS, isMetricName, type MetricLevel } from "../tensorzero/metrics.js";
import type { DbHandle, Queryable } from "./db.js";
import { FEEDBACK_STATUSES, feedback } from "./schema.js";

export type FeedbackStatus = (typeof FEEDBACK_STATUSES)[number];
export type FeedbackTarget = { type: "inference"; id: string } | { type: "episode"; id: string };
export type FeedbackItemValue = boolean | number | string | Record<string, unknown> | unknown[];

export interface FeedbackItem {
  attemptId: string | null;
  metricName: string;
  target: FeedbackTarget;
  value: FeedbackItemValue;
  /** Flat string tags TensorZero stores with the feedback (repo, PR number…). */
  tags?: Record<string, string>;
  /**
   * Separates several feedbacks of one metric on one target, e.g. the review
   * comment's id for `comment`. Default '' (once per target and metric).
   */
  dedupKey?: string;
}

/** TensorZero's built-in feedback kinds (no `[metrics.*]` section in tensorzero.toml). */
export const DEMONSTRATION_METRIC = "demonstration";
export const COMMENT_METRIC = "comment";

/** The item is malformed: a programming error in the caller, thrown at record time. */
export class InvalidFeedbackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidFeedbackError";
  }
}

/** The levels each accepted metric name may target: the configured metrics, plus TensorZero's built-in kinds. */
export const FEEDBACK_LEVELS: Readonly<Record<string, readonly MetricLevel[]>> = Object.freeze({
  ...Object.fromEntries(Object.values(METRIC_DEFINITIONS).map((definition) => [definition.name, [definition.level]])),
  // TensorZero: demonstrations are inference-level only; comments may target either.
  [DEMONSTRATION_METRIC]: ["inference"],
  [COMMENT_METRIC]: ["inference", "episode"],
});

const MAX_DEDUP_KEY_CHARS = 200;

/** Checks an item against the metric's level and value type; returns the problem, or null. */
export function feedbackItemProblem(item: FeedbackItem): string | null {
  const name = item.metricName;
  const levels = Object.hasOwn(FEEDBACK_LEVELS, name) ? FEEDBACK_LEVELS[name] : undefined;
  if (!levels) return `unknown metric "${name}" (not in tensorzero.toml, not demonstration or comment)`;
  const target = item.target as { type?: unknown; id?: unknown } | undefined;
  if (!target || (target.type !== "inference" && target.type !== "episode")) return `${name}: target type must be "inference" or "episode"`;
  if (typeof target.id !== "string" || target.id.trim() === "") return `${name}: target ${String(target.type)} id is empty`;
  if (!levels.includes(target.type)) return `${name} is ${levels.join("/")}-level feedback, but the target is an ${target.type}`;

  const value: unknown = item.value;
  if (name === DEMONSTRATION_METRIC) {
    // The demonstrated output: text, or TensorZero content blocks for a chat function.
    if (!((typeof value === "string" && value !== "") || (Array.isArray(value) && value.length > 0))) {
      return "demonstration value must be the demonstrated output (a non-empty string or content-block array)";
    }
  } else if (name === COMMENT_METRIC) {
    if (typeof value !== "string" || value.trim() === "") return "comment value must be a non-empty string";
  } else if (isMetricName(name)) {
    const type: string = METRIC_DEFINITIONS[name].type;
    if (type === "boolean" && typeof value !== "boolean") return `${name} is a boolean metric, got ${describeValue(value)}`;
    if (type === "float" && !(typeof value === "number" && Number.isFinite(value))) return `${name} is a float metric, got ${describeValue(value)}`;
  }
  if (!isJson(value)) return `${name}: value is not JSON-serialisable`;

  if (item.tags !== undefined) {
    if (item.tags === null || typeof item.tags !== "object" || Array.isArray(item.tags)) return `${name}: tags must be an object of strings`;
    for (const [key, tagValue] of Object.entries(item.tags)) {
      if (key === "") return `${name}: tag names must not be empty`;
      // The gateway reserves this prefix for its own tags and refuses feedback that sets them.
      if (key.startsWith("tensorzero::")) return `${name}: tag "${key}" uses the reserved tensorzero:: prefix`;
      if (typeof tagValue !== "string") return `${name}: tag "${key}" must be a string, got ${describeValue(tagValue)}`;
    }
  }
  if (item.dedupKey !== undefined && (typeof item.dedupKey !== "string" || item.dedupKey.length > MAX_DEDUP_KEY_CHARS)) {
    return `${name}: dedupKey must be a string of at most ${MAX_DEDUP_KEY_CHARS} characters`;
  }
  return null;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? `the string ${JSON.stringify(value.slice(0, 40))}` : `${typeof value} ${String(value).slice(0, 40)}`;
}

function isJson(value: unknown): boolean {
  try {
    return JSON.stringify(value) !== undefined;
  } catch {
    return false;
  }
}

/**
 * Writes one feedback row, due now. Pass the transaction that writes the outcome
 * so both commit (or roll back) together. The same (target, metric, dedup key)
 * again creates nothing and returns the existing row's id with `created: false`.
 * Throws InvalidFeedbackError for an unknown metric, a target at the wrong level
 * or a value of the wrong type.
 */
export async function recordFeedback(db: DbHandle, item: FeedbackItem, now: Date = new Date()): Promise<{ created: boolean; id: number }> {
  const problem = feedbackItemProblem(item);
  if (problem) throw new InvalidFeedbackError(problem);
  const handle: Queryable = db;
  const dedupKey = item.dedupKey ?? "";
  const at = now.toISOString();
  const inserted = await handle
    .insert(feedback)
    .values({
      attemptId: item.attemptId,
      metricName: item.metricName,
      dedupKey,
      targetType: item.target.type,
      targetId: item.target.id,
      value: item.value,
      tags: item.tags ?? {},
      status: "pending",
      tries: 0,
      nextTryAt: at,
      createdAt: at,
    })
    .onConflictDoNothing({ target: [feedback.targetId, feedback.metricName, feedback.dedupKey] })
    .returning({ id: feedback.id });
  if (inserted.length > 0) return { created: true, id: inserted[0].id };
  const [existing] = await handle
    .select({ id: feedback.id })
    .from(feedback)
    .where(and(eq(feedback.targetId, item.target.id), eq(feedback.metricName, item.metricName), eq(feedback.dedupKey, dedupKey)));
  if (!existing) throw new Error(`recordFeedback ${item.metricName}: insert refused and no row holds its key`);
  return { created: false, id: existing.id };
}
