/**
 * GitHub's workflow-run list answers at most 1,000 runs for a query with a
 * `created` filter. A busy repository is read in date windows small enough to
 * stay under that cap; these helpers describe and split the windows.
 */

/** Inclusive UTC days, YYYY-MM-DD; `to: null` is open-ended (runs created during the backfill included). */
export interface CreatedWindow {
  from: string;
  to: string | null;
}

/** The most runs GitHub returns for one filtered query. */
export const RUNS_QUERY_CAP = 1000;

const DAY_MS = 86_400_000;

export function utcDay(iso: string | Date): string {
  return (iso instanceof Date ? iso : new Date(iso)).toISOString().slice(0, 10);
}

function addDays(day: string, days: number): string {
  return utcDay(new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS));
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/** The `created` query value of GitHub's search syntax. */
export function createdQuery(window: CreatedWindow): string {
  if (window.to === null) return `>=${window.from}`;
  return window.from === window.to ? window.from : `${window.from}..${window.to}`;
}

/** Two halves covering the same days, or null when the window is a single day and cannot shrink. */
export function splitCreatedWindow(window: CreatedWindow, today: string): [CreatedWindow, CreatedWindow] | null {
  const lastDay = window.to ?? today;
  const span = daysBetween(window.from, lastDay);
  if (span < 1) return null;
  const middle = addDays(window.from, Math.floor(span / 2));
  return [
    { from: window.from, to: middle },
    { from: addDays(middle, 1), to: window.to },
  ];
}
