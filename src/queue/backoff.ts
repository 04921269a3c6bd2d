import type { BackoffPolicy } from "./types.js";

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 5_000, factor: 2, capMs: 15 * 60_000, jitter: 0.1 };

/**
 * Delay before the next run after `attempt` failed runs (1 → base, 2 → base·factor, …).
 * Jitter spreads retries of jobs that failed together; kept under factor − 1 it
 * never reorders consecutive attempts, so the schedule still grows until the cap.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  // Past the cap the exact power no longer matters, and a large exponent would overflow to Infinity.
  const nominal = Math.min(policy.capMs, policy.baseMs * policy.factor ** Math.min(exponent, 64));
  const spread = 1 + policy.jitter * (2 * random() - 1);
  return Math.max(1, Math.round(Math.min(policy.capMs, nominal * spread)));
}
