/**
 * The daily token budget, reserved before an inference and settled after it.
 * Checking the spend before the call and charging it after let concurrent
 * jobs all pass the check and overshoot together; here the estimate is written
 * onto the attempt (as its input tokens) by one conditional UPDATE that only
 * succeeds while today's spend, reservations included, plus the estimate stays
 * within every cap. SQLite runs writes one at a time, so two jobs cannot both
 * take the last room. The call's real usage then replaces the estimate, and a
 * call that never happened gives the room back.
 */
import { sql } from "drizzle-orm";
import type { DbHandle } from "../store/db.js";
import { fixAttempts } from "../store/schema.js";

export interface TokenCaps {
  repo: string;
  /** ISO time the budget's day started. */
  since: string;
  /** max_tokens_per_day of the repository. */
  perRepo: number;
  /** FIXLOOP_MAX_TOKENS_PER_DAY over all repositories; null for none. */
  global: number | null;
}

const spentToday = (since: string, repo: string | null) => sql`(
  SELECT coalesce(sum(coalesce(${fixAttempts.inputTokens}, 0) + coalesce(${fixAttempts.outputTokens}, 0)), 0)
  FROM ${fixAttempts}
  WHERE ${fixAttempts.createdAt} >= ${since}${repo === null ? sql`` : sql` AND lower(${fixAttempts.repoSlug}) = lower(${repo})`}
)`;

/**
 * Reserves `estimate` tokens for the attempt's inference; false when a cap
 * would be passed (nothing is reserved then). An attempt's earlier
 * reservation is replaced, not added to.
 */
export async function reserveTokens(db: DbHandle, attemptId: string, estimate: number, caps: TokenCaps): Promise<boolean> {
  const own = sql`(SELECT coalesce(${fixAttempts.inputTokens}, 0) + coalesce(${fixAttempts.outputTokens}, 0) FROM ${fixAttempts} WHERE ${fixAttempts.id} = ${attemptId})`;
  const fits = (spent: ReturnType<typeof spentToday>, cap: number) => sql`${spent} - ${own} + ${estimate} <= ${cap}`;
  const rows = await db.run(sql`
    UPDATE ${fixAttempts} SET input_tokens = ${estimate}, output_tokens = NULL
    WHERE ${fixAttempts.id} = ${attemptId}
      AND ${fits(spentToday(caps.since, caps.repo), caps.perRepo)}
      ${caps.global === null ? sql`` : sql`AND ${fits(spentToday(caps.since, null), caps.global)}`}
  `);
  return rows.rowsAffected > 0;
}

/** Gives a reservation back: the inference did not happen. */
export async function releaseTokens(db: DbHandle, attemptId: string): Promise<void> {
  await db.run(sql`UPDATE ${fixAttempts} SET input_tokens = NULL, output_tokens = NULL WHERE ${fixAttempts.id} = ${attemptId}`);
}

/** What the gateway's templates add around our arguments (fixloop_patch's system and user templates). */
export const TEMPLATE_TOKEN_ALLOWANCE = 1_000;
/** The answer: an explanation and a diff within max_changed_lines. The real usage replaces this when the call returns. */
export const ANSWER_TOKEN_ALLOWANCE = 4_000;

/** Tokens an inference on these arguments may cost: the arguments at 4 characters a token, the templates, the answer. */
export function estimateInferenceTokens(...args: unknown[]): number {
  const chars = args.reduce<number>((sum, a) => sum + JSON.stringify(a).length, 0);
  return Math.ceil(chars / 4) + TEMPLATE_TOKEN_ALLOWANCE + ANSWER_TOKEN_ALLOWANCE;
}

/**
 * Reserves the inference's estimate on the attempt; the reason it cannot be
 * (naming the cap and today's spend, reservations included) or null.
 */
export async function reserveInference(db: DbHandle, attemptId: string, estimate: number, caps: TokenCaps): Promise<string | null> {
  if (await reserveTokens(db, attemptId, estimate, caps)) return null;
  const spent = async (repo: string | null) => {
    const [row] = (await db.all(sql`SELECT ${spentToday(caps.since, repo)} - (SELECT coalesce(${fixAttempts.inputTokens}, 0) + coalesce(${fixAttempts.outputTokens}, 0) FROM ${fixAttempts} WHERE ${fixAttempts.id} = ${attemptId}) AS total`)) as { total: number }[];
    return Number(row.total);
  };
  const repoSpent = await spent(caps.repo);
  if (repoSpent + estimate > caps.perRepo) {
    return `budget: ${repoSpent} tokens spent or reserved today, this inference needs ~${estimate}, max_tokens_per_day is ${caps.perRepo}`;
  }
  return `budget: ${await spent(null)} tokens spent or reserved today across repositories, this inference needs ~${estimate}, FIXLOOP_MAX_TOKENS_PER_DAY is ${caps.global}`;
}
