/** Several failed jobs of one run, combined into one context within one budget. */
import { trimLines } from "./blocks.js";
import { DEFAULT_BUDGET_TOKENS, DEFAULT_CHARS_PER_TOKEN, type FailureContext, type FileRef } from "./types.js";

const MAX_ERROR_LINES = 8;
const MAX_FILES = 40;

/** Keeps the head and tail of a text within `maxChars`, cutting whole lines from the middle. */
export function trimText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return trimLines(text.split("\n"), maxChars + 1).join("\n").slice(0, Math.max(0, maxChars));
}

/**
 * Merges the contexts of several failed jobs. Code failures win: when any job
 * failed for a code reason, the infra ones (often cancelled by fail-fast) are
 * left out of the text. The budget is shared so that small contexts keep all
 * they have and what they leave goes to the big ones.
 */
export function mergeFailureContexts(
  contexts: FailureContext[],
  budgetTokens = DEFAULT_BUDGET_TOKENS,
  charsPerToken = DEFAULT_CHARS_PER_TOKEN,
): FailureContext {
  const budgetChars = Math.max(0, Math.floor(budgetTokens * charsPerToken));
  const code = contexts.filter((c) => c.class === "code");
  const pool = code.length > 0 ? code : contexts;
  const redactions = contexts.reduce((sum, c) => sum + c.redactions, 0);
  const bytesRead = contexts.reduce((sum, c) => sum + c.bytesRead, 0);
  if (pool.length === 0) {
    return { class: "code", infraReason: null, infraKind: null, failingStep: null, context: "", errorLines: [], files: [], redactions, truncated: false, bytesRead };
  }

  let truncated = pool.some((c) => c.truncated);
  let context: string;
  if (pool.length === 1) {
    context = trimText(pool[0].context, budgetChars);
    truncated ||= context.length < pool[0].context.length;
  } else {
    const sections = pool.map((c, i) => ({ header: `### ${c.failingStep ?? `job ${i + 1}`}`, body: c.context }));
    const separator = 2; // "\n\n" between sections
    const want = sections.map((s) => s.header.length + 1 + s.body.length);
    const allowance = new Array<number>(sections.length).fill(0);
    let remaining = budgetChars - separator * (sections.length - 1);
    const order = want.map((_, i) => i).sort((a, b) => want[a] - want[b]);
    order.forEach((index, k) => {
      const share = Math.floor(remaining / (order.length - k));
      allowance[index] = Math.max(0, Math.min(want[index], share));
      remaining -= allowance[index];
    });
    const parts: string[] = [];
    sections.forEach((section, i) => {
      const room = allowance[i] - section.header.length - 1;
      if (room < 40) {
        truncated = true;
        return;
      }
      const body = trimText(section.body, room);
      truncated ||= body.length < section.body.length;
      parts.push(`${section.header}\n${body}`);
    });
    context = parts.join("\n\n");
  }

  const errorLines = [...new Set(pool.flatMap((c) => c.errorLines))].slice(0, MAX_ERROR_LINES);
  const seen = new Set<string>();
  const files: FileRef[] = [];
  for (const ref of pool.flatMap((c) => c.files)) {
    const key = `${ref.path}:${ref.line ?? ""}`;
    if (seen.has(key) || files.length >= MAX_FILES) continue;
    seen.add(key);
    files.push(ref);
  }
  const steps = [...new Set(pool.map((c) => c.failingStep).filter((s): s is string => s !== null))];
  const infra = code.length === 0 ? pool.find((c) => c.infraReason !== null) : undefined;
  return {
    baselineUsed: contexts.some((c) => c.baselineUsed),
    sharedLinesDropped: contexts.reduce((sum, c) => sum + (c.sharedLinesDropped ?? 0), 0),
    class: code.length > 0 ? "code" : "infra",
    infraReason: infra?.infraReason ?? null,
    infraKind: infra?.infraKind ?? null,
    failingStep: steps.length > 0 ? steps.join("; ") : null,
    context,
    errorLines,
    files,
    redactions,
    truncated,
    bytesRead,
  };
}
