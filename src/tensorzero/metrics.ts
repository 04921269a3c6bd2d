/**
 * The TensorZero metrics fixloop reports. Their names and settings must match the
 * `[metrics.*]` sections of tensorzero/tensorzero.toml; test/tensorzero-config.test.ts
 * compares the two so a rename on one side cannot slip through.
 */

export type MetricLevel = "inference" | "episode";

export interface MetricDefinition {
  readonly name: string;
  readonly type: "boolean";
  readonly optimize: "max" | "min";
  /** `inference` metrics are sent with the attempt's inference id, `episode` metrics with the chain's episode id. */
  readonly level: MetricLevel;
}

export const METRICS = {
  patchApplied: "fixloop_patch_applied",
  ciPassed: "fixloop_ci_passed",
  prMerged: "fixloop_pr_merged",
  prReverted: "fixloop_pr_reverted",
  heldUp: "fixloop_held_up",
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];

export const METRIC_DEFINITIONS: Readonly<Record<MetricName, MetricDefinition>> = {
  fixloop_patch_applied: { name: "fixloop_patch_applied", type: "boolean", optimize: "max", level: "inference" },
  fixloop_ci_passed: { name: "fixloop_ci_passed", type: "boolean", optimize: "max", level: "inference" },
  fixloop_pr_merged: { name: "fixloop_pr_merged", type: "boolean", optimize: "max", level: "episode" },
  fixloop_pr_reverted: { name: "fixloop_pr_reverted", type: "boolean", optimize: "min", level: "episode" },
  fixloop_held_up: { name: "fixloop_held_up", type: "boolean", optimize: "max", level: "episode" },
};

export function isMetricName(value: string): value is MetricName {
  return Object.hasOwn(METRIC_DEFINITIONS, value);
}

/** Whether feedback for this metric targets an inference id or an episode id. */
export function metricLevel(name: MetricName): MetricLevel {
  return METRIC_DEFINITIONS[name].level;
}
