/**
 * The text fixloop writes on GitHub: fix PR bodies and comments. Everything
 * that came from logs, the repository or the model is untrusted and rendered
 * as text: the model's explanation and the error lines go into fenced blocks
 * (no images that leak data when viewed, no raw HTML, links shown as text),
 * names and paths into inline code; nothing pings people or closes issues.
 */

export interface PrBodyInput {
  repo: string;
  workflow: string | null;
  job: string | null;
  failingStep: string | null;
  errorLines: string[];
  runUrl: string | null;
  explanation: string;
  diffStat: { path: string; added: number; removed: number }[];
  inferenceId: string | null;
  episodeId: string | null;
  variant: string | null;
  attempt: number;
  maxAttempts: number;
  failingSha: string;
  failingBranch: string | null;
  /** Other jobs that failed the same way (a matrix): one fix for all of them. */
  sameFailureJobs?: string[];
  /** Who asked for this attempt with `/fixloop fix` or `/fixloop retry`. */
  requestedBy?: string | null;
  hint?: string | null;
  /** Repository instruction files the model was given. */
  instructionFiles?: string[];
}

/** Neutralise @mentions and #refs/closing keywords in model and log text so nothing is pinged or closed. */
export function defang(text: string): string {
  return text
    .replace(/@(?=[A-Za-z0-9-])/g, "@\u200b")
    .replace(/\b(close[sd]?|fix(e[sd])?|resolve[sd]?)(\s+)(#\d+)/gi, "$1$3\u200b$4")
    .replace(/<!--/g, "&lt;!--");
}

/** A fenced block that its content cannot break out of. */
export function fence(text: string, info = ""): string {
  const longest = Math.max(2, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length));
  const ticks = "`".repeat(longest + 1);
  return `${ticks}${info}\n${text}\n${ticks}`;
}

/** Inline code that its content cannot end: one line, a backtick run longer than any inside. */
export function inlineCode(text: string): string {
  const line = text.replace(/[\r\n]+/g, " ");
  const longest = Math.max(0, ...Array.from(line.matchAll(/`+/g), (m) => m[0].length));
  const ticks = "`".repeat(longest + 1);
  const pad = line.startsWith("`") || line.endsWith("`") || longest > 0 ? " " : "";
  return `${ticks}${pad}${line}${pad}${ticks}`;
}

/** The model's prose as text: a fenced block renders no markdown, so no image, link or HTML. */
function explanationBlock(explanation: string): string {
  return fence(defang(explanation.trim() || "(none given)"), "text");
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The model's prose without its diff block. */
export function explanationOf(modelAnswer: string): string {
  const withoutDiff = modelAnswer.replace(/(`{3,}|~{3,})[^\n]*\n[\s\S]*?\1/g, "").trim();
  return clip(withoutDiff, 3000);
}

export function diffStat(changes: { path: string; before: string | undefined; after: string | null }[]) {
  return changes.map(({ path, before, after }) => {
    const old = before === undefined ? [] : before.split("\n");
    const next = after === null ? [] : after.split("\n");
    const oldSet = new Map<string, number>();
    for (const line of old) oldSet.set(line, (oldSet.get(line) ?? 0) + 1);
    let kept = 0;
    for (const line of next) {
      const n = oldSet.get(line) ?? 0;
      if (n > 0) {
        kept++;
        oldSet.set(line, n - 1);
      }
    }
    return { path, added: next.length - kept, removed: old.length - kept };
  });
}

export const FEEDBACK_HELP =
  "Merging this PR tells fixloop the fix was good; closing it unmerged tells it the fix was not. " +
  "Review comments are passed on as feedback too. Edit the branch freely: what gets merged is what counts.";

export function renderPrBody(input: PrBodyInput): string {
  const where = [input.workflow && `workflow ${inlineCode(defang(input.workflow))}`, input.job && `job ${inlineCode(defang(input.job))}`, input.failingStep && `step ${inlineCode(defang(input.failingStep))}`]
    .filter(Boolean)
    .join(", ");
  const errors = input.errorLines.slice(0, 12).map((l) => clip(l, 300)).join("\n");
  const stat = input.diffStat.map((f) => `- ${inlineCode(f.path)} (+${f.added} −${f.removed})`).join("\n");
  return [
    `fixloop proposes this fix for a red CI run on ${inlineCode(input.failingBranch ?? input.failingSha.slice(0, 10))} at ${input.failingSha.slice(0, 10)}.`,
    "",
    "### What failed",
    "",
    `${where || "The CI run"} failed${input.runUrl ? ` ([run](${input.runUrl}))` : ""}.`,
    ...(errors ? ["", fence(defang(errors), "text")] : []),
    ...sameFailureLines(input.sameFailureJobs),
    "",
    "### What this changes",
    "",
    stat || "(no files)",
    "",
    "The model's explanation (unverified; CI on this PR is the check), as it wrote it:",
    "",
    explanationBlock(input.explanation),
    "",
    "### About this fix",
    "",
    `- Attempt ${input.attempt} of ${input.maxAttempts}`,
    `- Variant: ${inlineCode(input.variant ?? "unknown")}`,
    `- TensorZero inference: ${inlineCode(input.inferenceId ?? "-")}, episode: ${inlineCode(input.episodeId ?? "-")}`,
    ...(input.requestedBy ? [`- Asked for by @${input.requestedBy}${input.hint ? ", with this hint:" : ""}`] : []),
    ...(input.requestedBy && input.hint ? ["", fence(defang(clip(input.hint, 1000)), "text"), ""] : []),
    ...(input.instructionFiles && input.instructionFiles.length > 0 ? [`- Repository instructions given to the model: ${input.instructionFiles.map((f) => inlineCode(f)).join(", ")}`] : []),
    "",
    FEEDBACK_HELP,
  ].join("\n");
}

function sameFailureLines(jobs: string[] | undefined): string[] {
  if (!jobs || jobs.length === 0) return [];
  const names = jobs.slice(0, 20).map((j) => `**${defang(clip(j, 120))}**`);
  const more = jobs.length > 20 ? ` and ${jobs.length - 20} more` : "";
  return ["", `The same failure (same step, same first error line) in ${jobs.length} other job(s): ${names.join(", ")}${more}. This one fix is for all of them.`];
}

export function renderPatchComment(input: PrBodyInput & { diff: string; reason: string }): string {
  return [
    `fixloop has a proposed fix for the failing CI run, but ${input.reason}, so here it is as a patch to apply yourself.`,
    "",
    `${input.workflow ? `Workflow ${inlineCode(defang(input.workflow))}` : "CI"}${input.failingStep ? `, step ${inlineCode(defang(input.failingStep))}` : ""} failed at ${input.failingSha.slice(0, 10)}.`,
    "",
    "<details><summary>Proposed patch</summary>",
    "",
    fence(clip(input.diff, 60_000), "diff"),
    "",
    "</details>",
    "",
    "The model's explanation (unverified), as it wrote it:",
    "",
    explanationBlock(input.explanation),
    "",
    `Variant ${inlineCode(input.variant ?? "unknown")}, inference ${inlineCode(input.inferenceId ?? "-")}.`,
  ].join("\n");
}
