/**
 * Comment commands and stops in the store. A command row per comment id makes
 * every redelivery or replay of the comment a no-op; a stop row per PR or
 * chain is what the fix job's guard reads.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../store/db.js";
import { commentCommands, fixStops, type CommentCommand } from "../store/schema.js";
import { nowIso } from "../time.js";

export const COMMAND_JOB = "command";

export function commandJobKey(commentId: number): string {
  return `command:${commentId}`;
}

export type NewCommand = Omit<typeof commentCommands.$inferInsert, "status" | "outcome" | "createdAt" | "updatedAt">;

/** True when this comment's command is new; false when it was recorded before (a redelivery). */
export async function recordCommand(db: Db, command: NewCommand): Promise<boolean> {
  const at = nowIso();
  const inserted = await db
    .insert(commentCommands)
    .values({ ...command, status: "received", createdAt: at, updatedAt: at })
    .onConflictDoNothing({ target: commentCommands.commentId })
    .returning({ id: commentCommands.commentId });
  return inserted.length > 0;
}

export async function getCommand(db: Db, commentId: number): Promise<CommentCommand | undefined> {
  const [row] = await db.select().from(commentCommands).where(eq(commentCommands.commentId, commentId));
  return row;
}

/** Settles a received command; false when it was settled already (the job ran before). */
export async function settleCommand(db: Db, commentId: number, status: "done" | "refused" | "failed", outcome: string): Promise<boolean> {
  const rows = await db
    .update(commentCommands)
    .set({ status, outcome, updatedAt: nowIso() })
    .where(and(eq(commentCommands.commentId, commentId), eq(commentCommands.status, "received")))
    .returning({ id: commentCommands.commentId });
  return rows.length > 0;
}

export type StopScope = { scope: "pr"; prNumber: number } | { scope: "chain"; chainId: string };

function keyOf(stop: StopScope): string {
  return stop.scope === "pr" ? String(stop.prNumber) : stop.chainId;
}

export async function stopWork(db: Db, repo: string, stop: StopScope, by: { login: string; commentId: number | null }): Promise<void> {
  const at = nowIso();
  await db
    .insert(fixStops)
    .values({ repoSlug: repo.toLowerCase(), scope: stop.scope, key: keyOf(stop), stoppedBy: by.login, commentId: by.commentId, createdAt: at, liftedAt: null })
    .onConflictDoUpdate({
      target: [fixStops.repoSlug, fixStops.scope, fixStops.key],
      set: { stoppedBy: by.login, commentId: by.commentId, createdAt: at, liftedAt: null },
    });
}

/** `/fixloop fix` after a stop: work may start again. */
export async function liftStops(db: Db, repo: string, stops: StopScope[]): Promise<number> {
  let lifted = 0;
  for (const stop of stops) {
    const rows = await db
      .update(fixStops)
      .set({ liftedAt: nowIso() })
      .where(and(eq(fixStops.repoSlug, repo.toLowerCase()), eq(fixStops.scope, stop.scope), eq(fixStops.key, keyOf(stop)), isNull(fixStops.liftedAt)))
      .returning({ key: fixStops.key });
    lifted += rows.length;
  }
  return lifted;
}

/** Why no attempt may start for this chain or PR, or null: the fix job's guard asks this. */
export async function stoppedReason(db: Db, repo: string, where: { chainId: string; prNumbers: number[] }): Promise<string | null> {
  const keys = [sql`(${fixStops.scope} = 'chain' AND ${fixStops.key} = ${where.chainId})`];
  for (const n of where.prNumbers) keys.push(sql`(${fixStops.scope} = 'pr' AND ${fixStops.key} = ${String(n)})`);
  const [stop] = await db
    .select()
    .from(fixStops)
    .where(and(eq(fixStops.repoSlug, repo.toLowerCase()), isNull(fixStops.liftedAt), sql`(${sql.join(keys, sql` OR `)})`))
    .limit(1);
  if (!stop) return null;
  const what = stop.scope === "pr" ? `PR #${stop.key}` : "this fix chain";
  return `stopped: @${stop.stoppedBy} asked fixloop to stop on ${what} (/fixloop stop)`;
}
