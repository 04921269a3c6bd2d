/**
 * `attribute session`: the story of one fix attempt (or of every attempt of
 * a TensorZero episode, which is one failing run's chain): the commits it
 * produced, the PR they went through and its fate, the CI verdict, and what
 * happened since (downstream touches, a revert) — each claim with the rows
 * behind it, as `attribute commit` gives them for a commit.
 */
import { and, asc, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import type { Db } from "../store/db.js";
import { ciRuns, commitLinks, downstreamTouches, feedback, fixAttempts, prOutcomes, type FixAttempt, type PrOutcome } from "../store/schema.js";
import type { LinkType } from "../store/commit-links.js";
import { ciVerdict, type CiVerdict } from "./attribution-explain.js";

export interface SessionCommit {
  sha: string;
  linkType: LinkType | "fix-commit";
  confidence: number;
  evidence: Record<string, unknown>;
}

export interface SessionPr {
  provider: string;
  number: number;
  title: string;
  state: PrOutcome["state"];
  headRef: string | null;
  baseRef: string | null;
  mergedAt: string | null;
  closedAt: string | null;
  mergeCommitSha: string | null;
  revertedAt: string | null;
  revertedBy: string | null;
}

export interface SessionRun {
  provider: string;
  runId: string;
  workflowName: string | null;
  commitSha: string;
  branch: string | null;
  status: string;
  conclusion: string | null;
  completedTs: string | null;
  htmlUrl: string | null;
}

export interface SessionTouch {
  sha: string;
  committedAt: string;
  files: string[];
}

export interface SessionFeedback {
  metric: string;
  value: unknown;
  status: string;
  target: string;
}

export interface AttemptStory {
  id: string;
  repo: string;
  attemptNumber: number;
  status: FixAttempt["status"];
  reason: string | null;
  variant: string | null;
  model: string | null;
  triggerRunId: string;
  workflowName: string | null;
  inferenceId: string | null;
  episodeId: string | null;
  fixBranch: string | null;
  createdAt: string;
  /** Commits the attempt produced: its own fix commit and the commits linked to it as authored or co-authored. */
  commits: SessionCommit[];
  pr: SessionPr | null;
  ci: { verdict: CiVerdict; runs: SessionRun[] };
  touches: { count: number; commits: SessionTouch[] };
  reverts: number;
  feedback: SessionFeedback[];
  /** The one-line story ("produced commits A, B; in PR #N (merged); CI passed; touched 3 times since (1 revert)"). */
  sentence: string;
}

export interface SessionStory {
  /** The id asked about. */
  id: string;
  matchedBy: "attempt" | "episode";
  attempts: AttemptStory[];
}

function evidenceOf(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The forge whose PR rows hold an attempt's PR (github-actions → github, gitlab-ci → gitlab, gitea-* → gitea). */
export function forgeOfTrigger(triggerProvider: string): string {
  if (triggerProvider.startsWith("gitlab")) return "gitlab";
  if (triggerProvider.startsWith("gitea")) return "gitea";
  return "github";
}

function short(sha: string): string {
  return sha.slice(0, 7);
}

function prText(pr: SessionPr | null, number: number | null): string {
  if (!pr) return number === null ? "no PR" : `PR #${number} (not recorded)`;
  const fate = pr.state === "merged" ? "merged" : pr.state === "closed" ? "closed without merging" : "open";
  return `in PR #${pr.number} (${fate})`;
}

function ciText(verdict: CiVerdict, status: FixAttempt["status"]): string {
  if (verdict === "passed") return "CI passed";
  if (verdict === "failed") return "CI failed";
  if (verdict === "pending") return "CI pending";
  return `no CI verdict (${status})`;
}

export function storySentence(story: Omit<AttemptStory, "sentence">, prNumber: number | null): string {
  const subject = `fix attempt ${story.id}`;
  if (story.commits.length === 0) {
    return `${subject} produced no commit (${story.status}${story.reason ? `: ${story.reason}` : ""})`;
  }
  const commits = `produced ${story.commits.length === 1 ? "commit" : "commits"} ${story.commits.map((c) => short(c.sha)).join(", ")}`;
  const parts = [commits, prText(story.pr, prNumber), ciText(story.ci.verdict, story.status)];
  if (story.pr?.state === "merged") {
    const n = story.touches.count;
    const touched = n === 0 ? "not touched since" : n === 1 ? "touched once since" : `touched ${n} times since`;
    parts.push(story.reverts > 0 ? `${touched} (${story.reverts === 1 ? "1 revert" : `${story.reverts} reverts`})` : touched);
  }
  return `${subject} ${parts.join("; ")}`;
}

async function prOfAttempt(db: Db, attempt: FixAttempt): Promise<PrOutcome | undefined> {
  const matches: SQL[] = [];
  if (attempt.prNumber !== null) matches.push(eq(prOutcomes.prNumber, attempt.prNumber));
  if (attempt.fixBranch) matches.push(eq(prOutcomes.headRef, attempt.fixBranch));
  if (matches.length === 0) return undefined;
  const rows = await db
    .select()
    .from(prOutcomes)
    .where(and(eq(prOutcomes.provider, forgeOfTrigger(attempt.triggerProvider)), eq(prOutcomes.repoSlug, attempt.repoSlug), or(...matches), eq(prOutcomes.isFork, false)));
  // The PR the attempt opened wins over one that merely shares the branch name.
  return rows.find((r) => r.prNumber === attempt.prNumber) ?? rows[0];
}

async function storyOf(db: Db, attempt: FixAttempt): Promise<AttemptStory> {
  const links = await db
    .select()
    .from(commitLinks)
    .where(and(eq(commitLinks.sessionId, attempt.id), inArray(commitLinks.linkType, ["authored", "co-authored"])))
    .orderBy(asc(commitLinks.establishedTs), asc(commitLinks.commitSha));
  const commits: SessionCommit[] = links.map((l) => ({ sha: l.commitSha, linkType: l.linkType, confidence: l.confidence, evidence: evidenceOf(l.evidenceJson) }));
  const fixSha = attempt.fixCommitSha?.toLowerCase() ?? null;
  if (fixSha && !commits.some((c) => c.sha === fixSha)) {
    commits.unshift({ sha: fixSha, linkType: "fix-commit", confidence: 1, evidence: { rule: "fixloop-committed", branch: attempt.fixBranch } });
  }

  const prRow = await prOfAttempt(db, attempt);
  const pr: SessionPr | null = prRow
    ? {
        provider: prRow.provider,
        number: prRow.prNumber,
        title: prRow.title,
        state: prRow.state,
        headRef: prRow.headRef,
        baseRef: prRow.baseRef,
        mergedAt: prRow.mergedAt,
        closedAt: prRow.closedAt,
        mergeCommitSha: prRow.mergeCommitSha,
        revertedAt: prRow.revertedAt,
        revertedBy: prRow.revertedBy,
      }
    : null;

  // The runs that judged the fix: on its commit, or on the PR's head when the branch moved on.
  const heads = [...new Set([fixSha, prRow?.headSha?.toLowerCase() ?? null].filter((s): s is string => Boolean(s)))];
  const runs =
    heads.length > 0
      ? await db
          .select()
          .from(ciRuns)
          .where(and(eq(ciRuns.repoSlug, attempt.repoSlug), inArray(ciRuns.commitSha, heads)))
          .orderBy(asc(ciRuns.startedTs), asc(ciRuns.id))
      : [];

  const touchRows = await db
    .select()
    .from(downstreamTouches)
    .where(eq(downstreamTouches.attemptId, attempt.id))
    .orderBy(asc(downstreamTouches.committedAt), asc(downstreamTouches.commitSha));
  const feedbackRows = await db.select().from(feedback).where(eq(feedback.attemptId, attempt.id)).orderBy(asc(feedback.id));

  const story: Omit<AttemptStory, "sentence"> = {
    id: attempt.id,
    repo: attempt.repoSlug,
    attemptNumber: attempt.attemptNumber,
    status: attempt.status,
    reason: attempt.reason,
    variant: attempt.variant,
    model: attempt.model,
    triggerRunId: attempt.triggerRunId,
    workflowName: attempt.workflowName,
    inferenceId: attempt.inferenceId,
    episodeId: attempt.episodeId,
    fixBranch: attempt.fixBranch,
    createdAt: attempt.createdAt,
    commits,
    pr,
    ci: {
      verdict: ciVerdict(attempt.status),
      runs: runs.map((r) => ({
        provider: r.provider,
        runId: r.runId,
        workflowName: r.workflowName,
        commitSha: r.commitSha,
        branch: r.headBranch,
        status: r.status,
        conclusion: r.conclusion,
        completedTs: r.completedTs,
        htmlUrl: r.htmlUrl,
      })),
    },
    touches: { count: touchRows.length, commits: touchRows.map((t) => ({ sha: t.commitSha, committedAt: t.committedAt, files: t.files })) },
    reverts: prRow?.revertedAt ? 1 : 0,
    feedback: feedbackRows.map((f) => ({ metric: f.metricName, value: f.value, status: f.status, target: `${f.targetType} ${f.targetId}` })),
  };
  return { ...story, sentence: storySentence(story, attempt.prNumber) };
}

/**
 * The story of a fix attempt id, or of every attempt of a TensorZero episode
 * id (oldest first). Null when neither is recorded.
 */
export async function explainSession(db: Db, id: string): Promise<SessionStory | null> {
  const key = id.trim();
  if (key === "") return null;
  const byId = await db.select().from(fixAttempts).where(eq(fixAttempts.id, key));
  if (byId.length > 0) return { id: key, matchedBy: "attempt", attempts: [await storyOf(db, byId[0])] };
  const byEpisode = await db
    .select()
    .from(fixAttempts)
    .where(sql`lower(${fixAttempts.episodeId}) = lower(${key})`)
    .orderBy(asc(fixAttempts.attemptNumber), asc(fixAttempts.createdAt));
  if (byEpisode.length === 0) return null;
  const attempts: AttemptStory[] = [];
  for (const attempt of byEpisode) attempts.push(await storyOf(db, attempt));
  return { id: key, matchedBy: "episode", attempts };
}

/** The story as lines for people: the sentence, then the evidence behind each claim. */
export function formatSessionStory(story: SessionStory): string[] {
  const lines: string[] = [];
  if (story.matchedBy === "episode") lines.push(`episode ${story.id}: ${story.attempts.length} ${story.attempts.length === 1 ? "attempt" : "attempts"}`);
  for (const a of story.attempts) {
    lines.push(`${a.sentence}.`);
    lines.push(`  attempt: #${a.attemptNumber} on ${a.repo}, run ${a.triggerRunId}${a.workflowName ? ` (${a.workflowName})` : ""}, variant ${a.variant ?? "unknown"}, inference ${a.inferenceId ?? "none"}, episode ${a.episodeId ?? "none"}`);
    for (const c of a.commits) {
      const rule = typeof c.evidence.rule === "string" ? c.evidence.rule : c.linkType;
      lines.push(`  commit ${c.sha}: ${c.linkType} (confidence ${c.confidence.toFixed(2)}; ${rule})`);
    }
    if (a.pr) {
      const when = a.pr.state === "merged" ? ` at ${a.pr.mergedAt ?? "?"}${a.pr.mergeCommitSha ? ` as ${short(a.pr.mergeCommitSha)}` : ""}` : a.pr.state === "closed" ? ` at ${a.pr.closedAt ?? "?"}` : "";
      lines.push(`  PR #${a.pr.number} (${a.pr.provider}) "${a.pr.title}": ${a.pr.state}${when}, ${a.pr.headRef ?? "?"} → ${a.pr.baseRef ?? "?"}`);
    }
    for (const r of a.ci.runs) {
      lines.push(`  CI: ${r.provider} run ${r.runId}${r.workflowName ? ` (${r.workflowName})` : ""} on ${short(r.commitSha)}: ${r.status}${r.completedTs ? ` at ${r.completedTs}` : ""}`);
    }
    for (const t of a.touches.commits) lines.push(`  touched by ${t.sha} at ${t.committedAt}: ${t.files.join(", ")}`);
    if (a.pr?.revertedAt) lines.push(`  reverted by ${a.pr.revertedBy ?? "?"} at ${a.pr.revertedAt}`);
    for (const f of a.feedback) lines.push(`  feedback ${f.metric} = ${JSON.stringify(f.value)} (${f.status})`);
  }
  return lines;
}
