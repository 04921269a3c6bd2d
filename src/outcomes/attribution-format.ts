/**
 * Attribution answers as sentences for people: one line per session, e.g.
 * "a1b2c3d in acme/widgets came from fix attempt X (variant V, run R, PR #N;
 * CI passed; merged; not reverted; touched 2 times since)".
 */
import type { AttemptSummary, CommitAttribution, LinkExplanation, PrAttribution, PrSession, PrSummary } from "./attribution-explain.js";

function confidenceText(confidence: number): string {
  return confidence.toFixed(2);
}

function ciText(attempt: AttemptSummary): string {
  if (attempt.ci === "passed") return "CI passed";
  if (attempt.ci === "failed") return "CI failed";
  if (attempt.ci === "pending") return "CI pending";
  return `no CI verdict (${attempt.status})`;
}

/** merged / reverted / touched since: what happened to the work once it was a PR. */
function fateOf(pr: PrSummary | null, prNumber: number | null): string[] {
  if (!pr) return prNumber === null ? [] : ["PR not recorded"];
  if (!pr.merged) return [pr.state === "open" ? "not merged yet" : "closed without merging"];
  const touches = pr.downstreamTouchCount;
  return [
    "merged",
    pr.reverted ? "reverted" : "not reverted",
    touches === 0 ? "not touched since" : touches === 1 ? "touched once since" : `touched ${touches} times since`,
  ];
}

function attemptFacts(attempt: AttemptSummary, pr: PrSummary | null, withPr: boolean): string {
  const who = [`variant ${attempt.variant ?? "unknown"}`, `run ${attempt.triggerRunId}`];
  if (withPr) who.push(attempt.prNumber === null ? "no PR" : `PR #${attempt.prNumber}`);
  return [who.join(", "), ciText(attempt), ...fateOf(pr, withPr ? attempt.prNumber : pr?.number ?? null)].join("; ");
}

function filesText(files: unknown): string {
  const list = Array.isArray(files) ? files.filter((f): f is string => typeof f === "string") : [];
  if (list.length === 0) return "the fix's files";
  return list.length <= 3 ? list.join(", ") : `${list.slice(0, 3).join(", ")} and ${list.length - 3} more`;
}

function linkSentence(subject: string, link: LinkExplanation): string {
  const tag = `[${link.linkType}, confidence ${confidenceText(link.confidence)}]`;
  const { attempt, evidence } = link;
  if (attempt) {
    const facts = attemptFacts(attempt, link.pr, true);
    if (link.linkType === "inferred-by-touch") {
      const minutes = typeof evidence.minutesAfter === "number" ? evidence.minutesAfter : null;
      const when = minutes === null ? "after the fix" : `${minutes} min after the fix`;
      return `${subject} probably followed up fix attempt ${attempt.id} (${facts}): it touched ${filesText(evidence.files)} ${when}. ${tag}`;
    }
    const how = evidence.rule === "merge-of-fix-pr" ? "landed" : evidence.rule === "carries-fix-commit-message" ? "carries" : "came from";
    return `${subject} ${how} fix attempt ${attempt.id} (${facts}). ${tag}`;
  }
  if (link.agent !== null || link.sessionId.startsWith("agent:")) {
    const how = evidence.rule === "agent-is-author" ? "was committed by" : "was co-authored by";
    const source = typeof evidence.trailer === "string" ? `trailer "${evidence.trailer}"` : null;
    const pr = link.pr ? `PR #${link.pr.number}` : typeof evidence.pr === "number" ? `PR #${evidence.pr}` : "no PR known";
    const facts = [[source, pr].filter(Boolean).join(", "), ...fateOf(link.pr, null)].join("; ");
    return `${subject} ${how} ${link.agent ?? link.sessionId} (${facts}). ${tag}`;
  }
  return `${subject} is linked to session ${link.sessionId}, which is no longer recorded. ${tag}`;
}

function hiddenText(count: number, min: number): string | null {
  if (count === 0) return null;
  return `(${count} weaker ${count === 1 ? "candidate" : "candidates"} below confidence ${confidenceText(min)} not shown; --min-confidence 0 shows them)`;
}

export function formatCommitAttribution(a: CommitAttribution): string[] {
  const subject = `${a.sha.slice(0, 7)} in ${a.repo}`;
  const lines =
    a.links.length === 0
      ? [`${subject}: no session linked at confidence ≥ ${confidenceText(a.minConfidence)}.`]
      : a.links.map((link) => linkSentence(subject, link));
  const hidden = hiddenText(a.hiddenCount, a.minConfidence);
  return hidden ? [...lines, hidden] : lines;
}

function sessionSentence(subject: string, session: PrSession, pr: PrSummary | null): string {
  const tag = `[${session.linkType}, confidence ${confidenceText(session.confidence)}; ${session.via.join(", ")}]`;
  if (session.attempt) return `${subject} came from fix attempt ${session.attempt.id} (${attemptFacts(session.attempt, pr, false)}). ${tag}`;
  const commits = session.commits.length === 1 ? "1 commit" : `${session.commits.length} commits`;
  if (session.kind === "agent") {
    return `${subject} was co-authored by ${session.agent ?? session.sessionId} (${[commits, ...fateOf(pr, null)].join("; ")}). ${tag}`;
  }
  return `${subject} is linked to session ${session.sessionId}, which is no longer recorded (${commits}). ${tag}`;
}

export function formatPrAttribution(a: PrAttribution): string[] {
  const subject = `${a.repo}#${a.number}`;
  const lines =
    a.sessions.length === 0
      ? [`${subject}: no session linked at confidence ≥ ${confidenceText(a.minConfidence)}.`]
      : a.sessions.map((session) => sessionSentence(subject, session, a.pr));
  const hidden = hiddenText(a.hiddenCount, a.minConfidence);
  return hidden ? [...lines, hidden] : lines;
}
