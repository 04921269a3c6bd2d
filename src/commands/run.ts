/**
 * The `command` job: one `/fixloop` comment, acted on once. The commenter's
 * write access is checked through the API (the payload's author_association
 * is not proof); people without it get no answer and nothing happens. An
 * accepted command is acknowledged with a reaction, then runs: `fix` and
 * `retry` enqueue a fix job (the pipeline's guards and budget still apply),
 * `stop` records a stop and cancels what is queued, `explain` answers with
 * what failed and why fixloop did or did not act.
 */
import { and, desc, eq, inArray, or, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { ProbotOctokit } from "probot";
import { v7 as uuidv7 } from "uuid";
import { InvalidConfigError, loadRepoConfig } from "../config/repo-config.js";
import { httpStatusOf } from "../github/actions.js";
import { upsertComment } from "../github/comments.js";
import { workflowRunSchema, ACTIONS_PROVIDER, CHECKS_PROVIDER, checkSuiteSchema, toWorkflowRunRow } from "../ingest/map.js";
import { triggerFromCheckSuite, triggerFromWorkflowRun } from "../handlers/fix-trigger.js";
import { attemptsOfChain } from "../store/attempts.js";
import { isFixBranch } from "../github/fix-branch.js";
import { cancelQueuedFixJobs } from "../fix/cancel.js";
import type { CommandRequest } from "../fix/held.js";
import { clip, defang, fence } from "../fix/pr-body.js";
import { redactSecrets } from "../fix/redact.js";
import { chainIdOf, FIX_JOB, RED_CONCLUSIONS, type FixTrigger } from "../fix/trigger.js";
import { COMMENT_METRIC, recordFeedback } from "../store/feedback.js";
import type { JobOutcome, JobQueue } from "../queue/index.js";
import { jobReason } from "../queue/index.js";
import type { Store } from "../store/db.js";
import { ciRunRawJson, upsertCiRun } from "../store/records.js";
import { ciRuns, fixAttempts, jobs, type CommentCommand, type FixAttempt } from "../store/schema.js";
import { nowIso } from "../time.js";
import { COMMAND_HELP, MAX_HINT_CHARS } from "./parse.js";
import { getCommand, liftStops, settleCommand, stoppedReason, stopWork } from "./store.js";

type Octokit = ProbotOctokit;

export interface CommandDeps {
  store: Store;
  github(installationId: number | null): Promise<Octokit>;
  queue: JobQueue;
  log: Logger;
}

/** What `GET /pulls/{n}` tells a command about its PR. */
interface PullRequestInfo {
  number: number;
  state: string;
  head: { ref: string; sha: string; repo: { full_name: string } | null };
  base: { ref: string; repo: { default_branch?: string } };
}

interface CommandContext {
  deps: CommandDeps;
  octokit: Octokit;
  owner: string;
  repo: string;
  command: CommentCommand;
  pr: PullRequestInfo;
}

/** How a command ended: settled on the row; `reply` (if any) is posted as one comment on the PR. */
interface CommandResult {
  status: "done" | "refused";
  outcome: string;
  reply?: string;
}

const WRITE_PERMISSIONS = new Set(["admin", "maintain", "write"]);
const IN_PROGRESS = new Set(["queued", "collecting", "prompting", "patching", "publishing"]);

/** The commenter's permission on the repository, through the API; "none" for someone GitHub does not know there. */
export async function permissionOf(octokit: Octokit, owner: string, repo: string, username: string): Promise<string> {
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username });
    // `permission` folds maintain into write and triage into read; role_name keeps them apart.
    const role = (data as { role_name?: string }).role_name;
    return role && WRITE_PERMISSIONS.has(role) ? role : data.permission;
  } catch (error) {
    if (httpStatusOf(error) === 404) return "none";
    throw error;
  }
}

export async function runCommandJob(deps: CommandDeps, payload: { commentId: number }): Promise<JobOutcome> {
  const db = deps.store.db;
  const command = await getCommand(db, payload.commentId);
  if (!command) return { status: "skipped", reason: `no command recorded for comment ${payload.commentId}` };
  if (command.status !== "received") return { status: "done", result: { command: command.command, status: command.status, outcome: command.outcome } };
  const [owner, repo] = command.repoSlug.split("/");
  const octokit = await deps.github(command.installationId);

  const permission = await permissionOf(octokit, owner, repo, command.author);
  if (!WRITE_PERMISSIONS.has(permission)) {
    // No reaction, no reply: a stranger's command leaves no trace on the PR.
    const outcome = `refused: @${command.author} has ${permission} access; commands need write access`;
    await settleCommand(db, command.commentId, "refused", outcome);
    deps.log.info({ comment: command.commentId, author: command.author, permission }, "command refused");
    return { status: "skipped", reason: outcome };
  }
  await octokit.rest.reactions.createForIssueComment({ owner, repo, comment_id: command.commentId, content: "eyes" });

  const { data: pr } = await octokit.rest.pulls.get({ owner, repo, pull_number: command.prNumber });
  const ctx: CommandContext = { deps, octokit, owner, repo, command, pr: pr as unknown as PullRequestInfo };
  const result: CommandResult =
    pr.state !== "open"
      ? { status: "refused", outcome: `refused: PR #${pr.number} is ${pr.state}` }
      : command.hintChars > MAX_HINT_CHARS
        ? {
            status: "refused",
            outcome: `refused: hint of ${command.hintChars} characters (at most ${MAX_HINT_CHARS})`,
            reply: `@${command.author} the hint is ${command.hintChars} characters long; \`/fixloop retry\` takes at most ${MAX_HINT_CHARS}. Nothing was started — please shorten it and comment again.`,
          }
        : await COMMANDS[command.command](ctx);
  if (result.reply) {
    await upsertComment(octokit, { owner, repo, issueNumber: command.prNumber, marker: `command-${command.commentId}`, body: result.reply });
  }
  await settleCommand(db, command.commentId, result.status, result.outcome);
  return result.status === "done" ? { status: "done", result: { command: command.command, outcome: result.outcome } } : { status: "skipped", reason: result.outcome };
}

const COMMANDS: Record<CommentCommand["command"], (ctx: CommandContext) => Promise<CommandResult>> = {
  fix: (ctx) => (isFixBranch(ctx.pr.head.ref) ? retryChain(ctx) : startFix(ctx)),
  retry: retryChain,
  stop: stop,
  explain: explain,
};

function refused(outcome: string, reply: string): CommandResult {
  return { status: "refused", outcome: `refused: ${outcome}`, reply };
}

async function maxAttemptsOf(ctx: CommandContext): Promise<number | string> {
  try {
    return (await loadRepoConfig(ctx.octokit as never, ctx.owner, ctx.repo)).max_attempts;
  } catch (error) {
    if (error instanceof InvalidConfigError) return error.message;
    throw error;
  }
}

/** The trigger a stored CI run row describes (its raw_json is the webhook's run or suite object). */
function triggerFromRow(ctx: CommandContext, row: { provider: string; rawJson: unknown }): FixTrigger | null {
  const envelope = {
    repository: { full_name: ctx.command.repoSlug, default_branch: ctx.pr.base.repo.default_branch },
    installation: ctx.command.installationId === null ? undefined : { id: ctx.command.installationId },
  };
  if (row.provider === ACTIONS_PROVIDER) {
    const run = workflowRunSchema.safeParse(row.rawJson);
    return run.success ? triggerFromWorkflowRun(envelope, run.data) : null;
  }
  if (row.provider === CHECKS_PROVIDER) {
    const suite = checkSuiteSchema.safeParse(row.rawJson);
    return suite.success ? triggerFromCheckSuite(envelope, suite.data) : null;
  }
  return null;
}

/** The PR head's latest red run: recorded ones first, else GitHub Actions asked (and the answer recorded). */
async function latestFailedRun(ctx: CommandContext): Promise<FixTrigger | null> {
  const db = ctx.deps.store.db;
  const rows = await db
    .select({ provider: ciRuns.provider, rawJson: ciRunRawJson })
    .from(ciRuns)
    .where(and(sql`lower(${ciRuns.repoSlug}) = lower(${ctx.command.repoSlug})`, eq(ciRuns.commitSha, ctx.pr.head.sha), inArray(ciRuns.conclusion, [...RED_CONCLUSIONS])))
    .orderBy(desc(ciRuns.completedTs), desc(ciRuns.id))
    .limit(1);
  let trigger = rows[0] ? triggerFromRow(ctx, rows[0]) : null;
  if (!trigger) {
    const { data } = await ctx.octokit.rest.actions.listWorkflowRunsForRepo({ owner: ctx.owner, repo: ctx.repo, head_sha: ctx.pr.head.sha, per_page: 50 });
    const red = data.workflow_runs
      .filter((r) => r.status === "completed" && RED_CONCLUSIONS.has(r.conclusion ?? ""))
      .sort((a, b) => b.updated_at.localeCompare(a.updated_at))[0];
    if (!red) return null;
    const parsed = workflowRunSchema.parse(red);
    await upsertCiRun(db, toWorkflowRunRow(ctx.command.repoSlug, parsed, nowIso()));
    trigger = triggerFromRow(ctx, { provider: ACTIONS_PROVIDER, rawJson: red });
  }
  if (trigger && !trigger.prNumbers.includes(ctx.pr.number)) trigger.prNumbers = [...trigger.prNumbers, ctx.pr.number];
  return trigger;
}

function requestOf(command: CommentCommand, hint: string | null = null): CommandRequest {
  return { commentId: command.commentId, author: command.author, ...(hint ? { hint } : {}) };
}

/** Is the chain busy? A reply when it is, null when a next attempt may start. */
function busyReply(last: FixAttempt): CommandResult | null {
  if (IN_PROGRESS.has(last.status)) {
    return refused(`attempt ${last.attemptNumber} is ${last.status}`, `fixloop is already working on this failure (attempt ${last.attemptNumber}, ${last.status}).`);
  }
  return null;
}

/** `/fixloop fix` on a PR: a new chain for the head's latest red run, or the next attempt of the chain it already has. */
async function startFix(ctx: CommandContext): Promise<CommandResult> {
  const db = ctx.deps.store.db;
  const trigger = await latestFailedRun(ctx);
  if (!trigger) {
    return refused(`no failed run for ${ctx.pr.head.sha.slice(0, 7)}`, `fixloop found no failed CI run for the head of this PR (${ctx.pr.head.sha.slice(0, 7)}); nothing to fix.`);
  }
  const chainId = chainIdOf(trigger);
  await liftStops(db, ctx.command.repoSlug, [
    { scope: "pr", prNumber: ctx.pr.number },
    { scope: "chain", chainId },
  ]);
  const chain = await attemptsOfChain(db, chainId);
  const last = chain.at(-1);
  const run = `run ${trigger.runId} (${trigger.workflowName ?? "CI"})`;
  if (!last) {
    const job = await ctx.deps.queue.enqueue(FIX_JOB, { ...trigger, command: requestOf(ctx.command) }, { dedupKey: `fix:${chainId}:command:${ctx.command.commentId}` });
    return { status: "done", outcome: `fix job ${job.id} for ${run}` };
  }
  const busy = busyReply(last);
  if (busy) return busy;
  if (last.status === "awaiting_ci" && last.prNumber) {
    return refused(`fix PR #${last.prNumber} awaits CI`, `fix PR #${last.prNumber} for this failure is waiting for CI; comment \`/fixloop retry\` there to try again.`);
  }
  if (!last.inferenceId && last.triggerRunId === trigger.runId && last.attemptNumber === 1 && last.status === "skipped") {
    // Skipped before any tokens were spent (stopped, superseded, not watched…): the same attempt starts over.
    await ctx.deps.store.db.update(fixAttempts).set({ status: "queued", reason: null, requestedBy: ctx.command.author, updatedAt: nowIso() }).where(eq(fixAttempts.id, last.id));
    const job = await ctx.deps.queue.enqueue(FIX_JOB, { ...trigger, command: requestOf(ctx.command) }, { dedupKey: `fix:${chainId}:command:${ctx.command.commentId}` });
    return { status: "done", outcome: `fix job ${job.id} restarts attempt 1 for ${run}` };
  }
  return nextAttempt(ctx, chain, trigger, null);
}

/** Enqueues attempt n+1 of a chain (within max_attempts); a queued one (after red CI on the fix) gets the person's request. */
async function nextAttempt(ctx: CommandContext, chain: FixAttempt[], trigger: FixTrigger, hint: string | null): Promise<CommandResult> {
  const first = chain[0];
  const last = chain.at(-1)!;
  const max = await maxAttemptsOf(ctx);
  if (typeof max === "string") return refused("invalid fixloop.yml", `fixloop cannot act: ${defang(max)}`);
  const attemptNumber = last.attemptNumber + 1;
  if (attemptNumber > max) {
    return refused(
      `max_attempts (${max}) reached`,
      `This failure has had ${last.attemptNumber} attempt(s), and \`max_attempts\` in .github/fixloop.yml is ${max}. Raise it to let fixloop try again.`,
    );
  }
  const continuation = {
    chainId: first.chainId,
    attemptNumber,
    previousAttemptId: last.id,
    episodeId: first.episodeId ?? uuidv7(),
    baseBranch: first.headBranch,
    chainRunId: first.triggerRunId,
  };
  const request = requestOf(ctx.command, hint);
  const dedupKey = `fix:${first.chainId}:attempt:${attemptNumber}`;
  const job = await ctx.deps.queue.enqueue(FIX_JOB, { ...trigger, continuation, command: request }, { dedupKey });
  if (!job.created) {
    // The follow-up of a red fix already queued this attempt: it carries the person's request if it has not started.
    const updated = await ctx.deps.store.db
      .update(jobs)
      .set({ payload: sql`json_set(${jobs.payload}, '$.command', json(${JSON.stringify(request)}))`, updatedAt: nowIso() })
      .where(and(eq(jobs.id, job.id), eq(jobs.status, "queued")))
      .returning({ id: jobs.id });
    if (updated.length === 0) {
      return refused(`attempt ${attemptNumber} already started`, `Attempt ${attemptNumber} of this fix has already started${hint ? "; your hint could not reach it" : ""}.`);
    }
  }
  if (hint) await recordHintFeedback(ctx, last, hint);
  return { status: "done", outcome: `fix job ${job.id}: attempt ${attemptNumber} of ${max}${hint ? " with a hint" : ""}` };
}

/** The hint is also what the person thought of the previous attempt: TensorZero `comment` feedback on it. */
async function recordHintFeedback(ctx: CommandContext, previous: FixAttempt, hint: string): Promise<void> {
  const target = previous.inferenceId ? { type: "inference" as const, id: previous.inferenceId } : previous.episodeId ? { type: "episode" as const, id: previous.episodeId } : null;
  if (!target) return;
  await recordFeedback(ctx.deps.store.db, {
    attemptId: previous.id,
    metricName: COMMENT_METRIC,
    target,
    value: hint,
    tags: { repo: ctx.command.repoSlug, pr: String(ctx.pr.number), source: "fixloop retry", author: ctx.command.author },
    dedupKey: `command-${ctx.command.commentId}`,
  });
}

async function fixAttemptOfPr(ctx: CommandContext): Promise<FixAttempt | undefined> {
  const [row] = await ctx.deps.store.db
    .select()
    .from(fixAttempts)
    .where(and(sql`lower(${fixAttempts.repoSlug}) = lower(${ctx.command.repoSlug})`, eq(fixAttempts.prNumber, ctx.pr.number)))
    .orderBy(desc(fixAttempts.attemptNumber))
    .limit(1);
  return row;
}

/** The run the next attempt learns from: the fix branch's own red run, else the chain's first red run. */
async function runForNextAttempt(ctx: CommandContext, chain: FixAttempt[]): Promise<FixTrigger | null> {
  const last = chain.at(-1)!;
  const db = ctx.deps.store.db;
  const candidates = [
    last.fixCommitSha
      ? and(eq(ciRuns.commitSha, last.fixCommitSha), inArray(ciRuns.conclusion, [...RED_CONCLUSIONS]))
      : undefined,
    and(eq(ciRuns.provider, chain[0].triggerProvider), eq(ciRuns.runId, chain[0].triggerRunId)),
  ];
  for (const where of candidates) {
    if (!where) continue;
    const [row] = await db
      .select({ provider: ciRuns.provider, rawJson: ciRunRawJson })
      .from(ciRuns)
      .where(and(sql`lower(${ciRuns.repoSlug}) = lower(${ctx.command.repoSlug})`, where))
      .orderBy(desc(ciRuns.completedTs), desc(ciRuns.id))
      .limit(1);
    const trigger = row ? triggerFromRow(ctx, row) : null;
    if (trigger) return trigger;
  }
  return null;
}

/** `/fixloop retry [hint]` on a fix PR: the chain's next attempt, with the person's hint for the model. */
async function retryChain(ctx: CommandContext): Promise<CommandResult> {
  const mine = await fixAttemptOfPr(ctx);
  if (!mine) {
    return refused("not a fixloop fix PR", `\`/fixloop retry\` works on fixloop's own fix PRs. On this PR, \`/fixloop fix\` starts a fix for the latest failed run.\n\n${COMMAND_HELP}`);
  }
  const chain = await attemptsOfChain(ctx.deps.store.db, mine.chainId);
  const busy = busyReply(chain.at(-1)!);
  if (busy) return busy;
  const trigger = await runForNextAttempt(ctx, chain);
  if (!trigger) return refused("no recorded run to learn from", "fixloop has no record of the CI run this fix chain started from, so it cannot try again.");
  await liftStops(ctx.deps.store.db, ctx.command.repoSlug, [{ scope: "chain", chainId: mine.chainId }]);
  const hint = ctx.command.hint ? redactSecrets(ctx.command.hint).text : null;
  return nextAttempt(ctx, chain, trigger, hint);
}

/** `/fixloop stop`: a fix PR stops its chain; any other PR stops all work on it. Queued fix jobs end now. */
async function stop(ctx: CommandContext): Promise<CommandResult> {
  const db = ctx.deps.store.db;
  const by = { login: ctx.command.author, commentId: ctx.command.commentId };
  const repo = ctx.command.repoSlug.toLowerCase();
  const mine = await fixAttemptOfPr(ctx);
  const reason = `stopped by @${ctx.command.author} (/fixloop stop)`;
  let cancelled: number[];
  if (mine) {
    await stopWork(db, ctx.command.repoSlug, { scope: "chain", chainId: mine.chainId }, by);
    cancelled = await cancelQueuedFixJobs(
      db,
      sql`lower(json_extract(payload, '$.repo')) = ${repo} AND (json_extract(payload, '$.continuation.chainId') = ${mine.chainId} OR json_extract(payload, '$.headSha') = ${mine.headSha})`,
      reason,
    );
  } else {
    await stopWork(db, ctx.command.repoSlug, { scope: "pr", prNumber: ctx.pr.number }, by);
    cancelled = await cancelQueuedFixJobs(
      db,
      sql`lower(json_extract(payload, '$.repo')) = ${repo} AND (json_extract(payload, '$.headSha') = ${ctx.pr.head.sha} OR EXISTS (SELECT 1 FROM json_each(payload, '$.prNumbers') WHERE value = ${ctx.pr.number}))`,
      reason,
    );
  }
  const what = mine ? "this fix chain" : "this PR";
  return {
    status: "done",
    outcome: `stopped ${what}${cancelled.length > 0 ? `; cancelled fix job(s) ${cancelled.join(", ")}` : ""}`,
    reply: `fixloop stopped on ${what}, as @${ctx.command.author} asked: no more attempts will start${cancelled.length > 0 ? ` (${cancelled.length} queued fix cancelled)` : ""}. Comment \`/fixloop fix\` to start again.`,
  };
}

/** The attempts about this PR: its chain when it is a fix PR, else the attempts on its head commit. */
async function attemptsAbout(ctx: CommandContext): Promise<FixAttempt[]> {
  const mine = await fixAttemptOfPr(ctx);
  if (mine) return attemptsOfChain(ctx.deps.store.db, mine.chainId);
  return ctx.deps.store.db
    .select()
    .from(fixAttempts)
    .where(and(sql`lower(${fixAttempts.repoSlug}) = lower(${ctx.command.repoSlug})`, or(eq(fixAttempts.headSha, ctx.pr.head.sha), eq(fixAttempts.headBranch, ctx.pr.head.ref))))
    .orderBy(desc(fixAttempts.createdAt))
    .limit(5);
}

function describeAttempt(a: FixAttempt): string[] {
  const lines = [`**Attempt ${a.attemptNumber}** for run ${a.triggerRunId} at ${a.headSha.slice(0, 7)}: **${a.status}**${a.prNumber ? ` — fix PR #${a.prNumber}` : ""}`];
  if (a.reason) lines.push(`- why: ${defang(clip(a.reason, 500))}`);
  const s = a.failureSummary;
  if (s) {
    if (s.job || s.failingStep) lines.push(`- failed: ${[s.job && `job **${defang(s.job)}**`, s.failingStep && `step **${defang(s.failingStep)}**`].filter(Boolean).join(", ")}`);
    if (s.sameFailureJobs.length > 0) lines.push(`- the same failure in: ${s.sameFailureJobs.map((j) => `**${defang(j)}**`).join(", ")}`);
  }
  if (a.failureClass) lines.push(`- failure class: ${a.failureClass}`);
  if (a.requestedBy) lines.push(`- asked for by @${a.requestedBy}${a.hint ? " with a hint" : ""}`);
  if (a.instructionFiles.length > 0) lines.push(`- repository instructions used: ${a.instructionFiles.map((f) => `\`${f}\``).join(", ")}`);
  if (s?.firstErrorLine) lines.push("", fence(defang(clip(s.firstErrorLine, 500)), "text"));
  return lines;
}

/** `/fixloop explain`: the failure context in short, and why fixloop did or did not act. */
async function explain(ctx: CommandContext): Promise<CommandResult> {
  const db = ctx.deps.store.db;
  const attempts = await attemptsAbout(ctx);
  const sections: string[] = [];
  if (attempts.length > 0) {
    for (const a of attempts) sections.push(describeAttempt(a).join("\n"));
  } else {
    const [job] = await db
      .select()
      .from(jobs)
      .where(and(eq(jobs.kind, FIX_JOB), sql`lower(json_extract(payload, '$.repo')) = lower(${ctx.command.repoSlug})`, sql`json_extract(payload, '$.headSha') = ${ctx.pr.head.sha}`))
      .orderBy(desc(jobs.id))
      .limit(1);
    const [run] = await db
      .select({ runId: ciRuns.runId, workflowName: ciRuns.workflowName, status: ciRuns.status, conclusion: ciRuns.conclusion })
      .from(ciRuns)
      .where(and(sql`lower(${ciRuns.repoSlug}) = lower(${ctx.command.repoSlug})`, eq(ciRuns.commitSha, ctx.pr.head.sha)))
      .orderBy(desc(ciRuns.id))
      .limit(1);
    if (job) sections.push(`A fix job for ${ctx.pr.head.sha.slice(0, 7)} is **${job.status}**${jobReason(job) ? `: ${defang(clip(jobReason(job)!, 500))}` : ""}.`);
    else if (run) sections.push(`The latest recorded CI run for ${ctx.pr.head.sha.slice(0, 7)} (${defang(run.workflowName ?? "CI")}, run ${run.runId}) is **${run.conclusion ?? run.status}**: ${RED_CONCLUSIONS.has(run.conclusion ?? "") ? "no fix was started for it (comment `/fixloop fix` to start one)" : "nothing to fix"}.`);
    else sections.push(`fixloop has recorded no CI run for the head of this PR (${ctx.pr.head.sha.slice(0, 7)}), so it has not acted.`);
  }
  const stopped = await stoppedReason(db, ctx.command.repoSlug, { chainId: attempts[0]?.chainId ?? "", prNumbers: [ctx.pr.number] });
  if (stopped) sections.push(`Work is ${defang(stopped)}.`);
  const reply = [`fixloop on PR #${ctx.pr.number}, as @${ctx.command.author} asked:`, "", ...sections.flatMap((s) => [s, ""]), `<details><summary>Commands</summary>\n\n${COMMAND_HELP}\n\n</details>`].join("\n");
  return { status: "done", outcome: `explained ${attempts.length} attempt(s)`, reply };
}

export function commandJobHandlers(deps: CommandDeps) {
  return { command: (payload: { commentId: number }) => runCommandJob(deps, payload) };
}
