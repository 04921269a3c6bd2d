/** Timestamps are stored as ISO-8601 UTC text so they compare correctly as strings. */
export function toIso(value: string | number | Date | null | undefined): string | null {
  if (value === null || value === undefined || value === "") return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

export function nowIso(): string {
  return new Date().toISOString();
}

const UNIT_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };

/**
 * Parses a `--since` value: a relative age (`30d`, `12h`, `90m`, `2w`) or an absolute date.
 * Returns the ISO instant it stands for.
 */
export function parseSince(value: string, now: Date = new Date()): string {
  const relative = /^(\d+)\s*([smhdw])$/i.exec(value.trim());
  if (relative) {
    const ms = Number(relative[1]) * UNIT_MS[relative[2].toLowerCase()];
    return new Date(now.getTime() - ms).toISOString();
  }
  const absolute = toIso(value);
  if (!absolute) throw new Error(`Cannot read --since "${value}": use an age like 30d, 12h, 2w or a date like 2024-05-01`);
  return absolute;
}

/**
 * How long a piece of periodic work may still run; it checks between units of
 * work (one PR, one batch) and stops, keeping its place, when this reaches 0.
 * The scheduled Lambda derives it from the invocation's remaining time.
 */
export interface TaskBudget {
  remainingMs(): number;
}

export const UNLIMITED_BUDGET: TaskBudget = { remainingMs: () => Number.POSITIVE_INFINITY };
