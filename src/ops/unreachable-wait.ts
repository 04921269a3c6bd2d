/**
 * Jobs whose GitHub (or gateway) cannot be reached wait instead of failing:
 * the handler's ServiceUnreachableError becomes a `wait` outcome (no attempt
 * spent) with the reason, and the fix attempt the job works on shows that
 * reason too, so the dashboard says why it is still queued.
 */
import { and, desc, eq, inArray } from "drizzle-orm";
import type { Store } from "../store/db.js";
import { fixAttempts } from "../store/schema.js";
import type { JobHandler, JobOutcome } from "../queue/types.js";
import { findUnreachable } from "./network.js";

/** Long enough not to hammer a dead address, short enough that recovery shows within a minute or two. */
export const UNREACHABLE_WAIT_MS = 60_000;

const IN_PROGRESS = ["queued", "collecting", "prompting", "patching", "publishing"] as const;

/** The in-progress attempt a fix job payload is about, if any: same repo, provider and trigger run. */
async function markAttemptWaiting(store: Store, payload: unknown, reason: string): Promise<void> {
  const p = payload as { repo?: unknown; provider?: unknown; runId?: unknown } | null;
  if (!p || typeof p.repo !== "string" || typeof p.provider !== "string" || typeof p.runId !== "string") return;
  const [attempt] = await store.db
    .select({ id: fixAttempts.id })
    .from(fixAttempts)
    .where(and(eq(fixAttempts.repoSlug, p.repo), eq(fixAttempts.triggerProvider, p.provider), eq(fixAttempts.triggerRunId, p.runId), inArray(fixAttempts.status, [...IN_PROGRESS])))
    .orderBy(desc(fixAttempts.attemptNumber))
    .limit(1);
  if (!attempt) return;
  await store.db.update(fixAttempts).set({ status: "queued", reason, updatedAt: new Date().toISOString() }).where(eq(fixAttempts.id, attempt.id));
}

export function waitWhileUnreachable<H extends Record<string, JobHandler>>(handlers: H, deps: { store: Store; delayMs?: number }): H {
  const delayMs = deps.delayMs ?? UNREACHABLE_WAIT_MS;
  const wrapped: Record<string, JobHandler> = {};
  for (const [kind, handler] of Object.entries(handlers)) {
    wrapped[kind] = async (payload, ctx): Promise<JobOutcome> => {
      try {
        return await handler(payload, ctx);
      } catch (error) {
        const unreachable = findUnreachable(error);
        if (!unreachable || ctx.signal.aborted) throw error;
        const reason = `waiting: ${unreachable.message}`;
        await markAttemptWaiting(deps.store, payload, reason).catch((e: unknown) => ctx.log.warn({ err: e }, "could not note the wait on the fix attempt"));
        ctx.log.warn({ jobId: ctx.job.id, kind, service: unreachable.service, code: unreachable.detail.code }, `job ${ctx.job.id} waits ${Math.round(delayMs / 1000)} s: ${unreachable.message}`);
        return { status: "wait", delayMs, reason: unreachable.message };
      }
    };
  }
  return wrapped as H;
}
