/**
 * Picks the repository files to show the model next to the failure context:
 * the files the errors point at (a window around the referenced lines when a
 * file is big) and the files the failing commit changed, all within one token
 * budget and redacted. Fetching them is the caller's job; this part is pure.
 */
import { redactSecrets } from "../redact.js";
import { normalizeRepoPath } from "./paths.js";
import { DEFAULT_CHARS_PER_TOKEN, type FileRef } from "./types.js";

export interface PromptFile {
  path: string;
  /** The excerpt, lines joined with "\n", redacted. */
  content: string;
  /** 1-based number of the first line of `content` in the file. */
  startLine: number;
  endLine: number;
  /** True when the excerpt is not the whole file (or long lines were cut). */
  truncated: boolean;
  redactions: number;
  /** Why the file is shown, when the caller ranked it (the prompt says so). */
  why?: string;
}

export interface SelectFilesOptions {
  charsPerToken?: number;
  /** Lines shown above and below a referenced line when the file does not fit whole (default 30). */
  contextLines?: number;
  /** At most this many files (default 8). */
  maxFiles?: number;
  /** Longer lines (minified code, data) are cut to this many characters (default 400). */
  maxLineChars?: number;
  workspaceRoots?: string[];
}

/** What a file needs at least to be worth including. */
const MIN_FILE_CHARS = 400;
/** Budget reserved per excerpt for the header the prompt puts above it. */
const EXCERPT_OVERHEAD = 16;
const RADII = [20, 12, 8, 5, 3, 2, 1, 0];

interface Plan {
  path: string;
  why?: string;
  lines: number[];
  text: string[];
  redactions: number;
  cut: boolean;
}

interface Window {
  start: number; // 0-based, inclusive
  end: number; // 0-based, inclusive
}

function lineCost(text: string[], start: number, end: number): number {
  let total = 0;
  for (let i = start; i <= end; i += 1) total += text[i].length + 1;
  return total;
}

function windowsFor(lines: number[], count: number, radius: number): Window[] {
  const sorted = [...new Set(lines)].filter((l) => l >= 1 && l <= count).sort((a, b) => a - b);
  const windows: Window[] = [];
  for (const line of sorted) {
    const start = Math.max(0, line - 1 - radius);
    const end = Math.min(count - 1, line - 1 + radius);
    const last = windows[windows.length - 1];
    if (last && start <= last.end + 1) last.end = Math.max(last.end, end);
    else windows.push({ start, end });
  }
  return windows;
}

function cost(plan: Plan, windows: Window[]): number {
  return windows.reduce((sum, w) => sum + lineCost(plan.text, w.start, w.end) + plan.path.length + EXCERPT_OVERHEAD, 0);
}

function entry(plan: Plan, window: Window, wholeFile: boolean): PromptFile {
  return {
    path: plan.path,
    content: plan.text.slice(window.start, window.end + 1).join("\n"),
    startLine: window.start + 1,
    endLine: window.end + 1,
    truncated: !wholeFile || plan.cut,
    redactions: plan.redactions,
    ...(plan.why ? { why: plan.why } : {}),
  };
}

/** Splits content into lines, cutting over-long ones; null for binary content. */
function prepare(path: string, lines: number[], raw: string, maxLineChars: number): Plan | null {
  if (raw.includes("\u0000")) return null;
  const { text, count } = redactSecrets(raw);
  const split = text.split("\n");
  if (split.length > 1 && split[split.length - 1] === "") split.pop();
  let cut = false;
  const capped = split.map((line) => {
    const clean = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (clean.length <= maxLineChars) return clean;
    cut = true;
    return `${clean.slice(0, maxLineChars - 1)}…`;
  });
  return { path, lines, text: capped, redactions: count, cut };
}

/**
 * Chooses file excerpts for the prompt. Referenced files come first (those the
 * failing commit also changed before the others), then changed files nobody
 * referenced. Paths are normalised and unsafe ones (outside the repository,
 * dependencies, vendored code) dropped; references that name a file only by a
 * suffix (`math_test.go`) are matched to a fetched path when the match is unique.
 * The sum over excerpts of content plus a small header allowance stays within
 * `budgetTokens`.
 */
export function selectFilesForPrompt(
  refs: FileRef[],
  changedFiles: string[],
  fetched: Record<string, string | undefined> | Map<string, string>,
  budgetTokens: number,
  options: SelectFilesOptions = {},
): PromptFile[] {
  const charsPerToken = options.charsPerToken ?? DEFAULT_CHARS_PER_TOKEN;
  const budgetChars = Math.floor(budgetTokens * charsPerToken);
  const contextLines = options.contextLines ?? 30;
  const maxFiles = options.maxFiles ?? 8;
  const maxLineChars = options.maxLineChars ?? 400;
  const roots = options.workspaceRoots ?? [];
  if (budgetChars <= 0) return [];

  const available = new Map<string, string>();
  for (const [key, content] of fetched instanceof Map ? fetched : Object.entries(fetched)) {
    const path = normalizeRepoPath(key, roots);
    if (path !== null && typeof content === "string") available.set(path, content);
  }
  const changed = new Set(changedFiles.map((f) => normalizeRepoPath(f, roots)).filter((f): f is string => f !== null));

  const resolve = (raw: string): string | null => {
    const path = normalizeRepoPath(raw, roots);
    if (path === null) return null;
    if (available.has(path)) return path;
    const matches = [...available.keys()].filter((key) => key.endsWith(`/${path}`) || path.endsWith(`/${key}`));
    if (matches.length === 1) return matches[0];
    const changedMatches = matches.filter((key) => changed.has(key));
    return changedMatches.length === 1 ? changedMatches[0] : null;
  };

  const referenced = new Map<string, number[]>();
  for (const ref of refs) {
    const path = resolve(ref.path);
    if (path === null) continue;
    const lines = referenced.get(path) ?? [];
    if (ref.line !== null && ref.line > 0) lines.push(ref.line);
    referenced.set(path, lines);
  }
  const order = [
    ...[...referenced.keys()].filter((p) => changed.has(p)),
    ...[...referenced.keys()].filter((p) => !changed.has(p)),
    ...[...changed].filter((p) => available.has(p) && !referenced.has(p)),
  ];

  return excerptFiles(
    order.map((path) => ({ path, lines: referenced.get(path) ?? [] })),
    available,
    budgetChars,
    { contextLines, maxFiles, maxLineChars },
  );
}

/** A file chosen by the caller, in the order it should be shown. */
export interface RankedInput {
  path: string;
  lines: readonly number[];
  why?: readonly string[] | string;
}

/**
 * Excerpts of files the caller already ranked (the localiser): the same
 * budgeting as selectFilesForPrompt, in the given order, each excerpt carrying
 * its reasons. Paths are normalised; unsafe ones and files not fetched are skipped.
 */
export function selectRankedFiles(
  ranked: readonly RankedInput[],
  fetched: Record<string, string | undefined> | Map<string, string>,
  budgetTokens: number,
  options: SelectFilesOptions = {},
): PromptFile[] {
  const budgetChars = Math.floor(budgetTokens * (options.charsPerToken ?? DEFAULT_CHARS_PER_TOKEN));
  if (budgetChars <= 0) return [];
  const roots = options.workspaceRoots ?? [];
  const available = new Map<string, string>();
  for (const [key, content] of fetched instanceof Map ? fetched : Object.entries(fetched)) {
    const path = normalizeRepoPath(key, roots);
    if (path !== null && typeof content === "string") available.set(path, content);
  }
  const entries = ranked.flatMap((file) => {
    const path = normalizeRepoPath(file.path, roots);
    if (path === null || !available.has(path)) return [];
    // Reasons quote log lines: redacted like the log itself, and unable to close the tags around them.
    const why = redactSecrets(typeof file.why === "string" ? file.why : (file.why?.join("; ") ?? "")).text.replace(/<(\/?)(why|file)\b/gi, "<\u200b$1$2");
    return [{ path, lines: [...file.lines], ...(why ? { why } : {}) }];
  });
  return excerptFiles(entries, available, budgetChars, {
    contextLines: options.contextLines ?? 30,
    maxFiles: options.maxFiles ?? entries.length,
    maxLineChars: options.maxLineChars ?? 400,
  });
}

function excerptFiles(
  entries: { path: string; lines: number[]; why?: string }[],
  available: Map<string, string>,
  budgetChars: number,
  options: { contextLines: number; maxFiles: number; maxLineChars: number },
): PromptFile[] {
  const { contextLines, maxFiles, maxLineChars } = options;
  const plans: Plan[] = [];
  for (const { path, lines, why } of entries) {
    if (plans.length >= maxFiles) break;
    const plan = prepare(path, lines, available.get(path) as string, maxLineChars);
    if (plan && plan.text.length > 0) plans.push(why ? { ...plan, why } : plan);
  }
  const fitting = plans.slice(0, Math.max(1, Math.floor(budgetChars / MIN_FILE_CHARS)));

  // What each file would like: whole, or windows at full radius.
  const wants = fitting.map((plan) => {
    const whole = cost(plan, [{ start: 0, end: plan.text.length - 1 }]);
    if (plan.lines.length === 0) return whole;
    return Math.min(whole, cost(plan, windowsFor(plan.lines, plan.text.length, contextLines)));
  });
  // Water-filling: small wants are met in full, what they leave goes to the big ones.
  const allowance = new Array<number>(fitting.length).fill(0);
  let remaining = budgetChars;
  const bySize = wants.map((_, i) => i).sort((a, b) => wants[a] - wants[b]);
  bySize.forEach((index, k) => {
    allowance[index] = Math.min(wants[index], Math.floor(remaining / (bySize.length - k)));
    remaining -= allowance[index];
  });
  // Give what is left (rounding, files that wanted less) to files in priority order.
  for (let i = 0; i < fitting.length && remaining > 0; i += 1) {
    const extra = Math.min(remaining, Math.max(0, cost(fitting[i], [{ start: 0, end: fitting[i].text.length - 1 }]) - allowance[i]));
    allowance[i] += extra;
    remaining -= extra;
  }

  const out: PromptFile[] = [];
  fitting.forEach((plan, i) => out.push(...excerptsWithin(plan, allowance[i], contextLines)));
  return out;
}

function excerptsWithin(plan: Plan, allowance: number, contextLines: number): PromptFile[] {
  const count = plan.text.length;
  const whole: Window = { start: 0, end: count - 1 };
  if (cost(plan, [whole]) <= allowance) return [entry(plan, whole, true)];

  if (plan.lines.length > 0) {
    for (const radius of [contextLines, ...RADII.filter((r) => r < contextLines)]) {
      const windows = windowsFor(plan.lines, count, radius);
      if (windows.length > 0 && cost(plan, windows) <= allowance) return windows.map((w) => entry(plan, w, false));
    }
    // Even single lines do not all fit: as many referenced lines as fit, in reference order.
    const chosen: Window[] = [];
    let used = 0;
    for (const line of plan.lines) {
      if (line < 1 || line > count) continue;
      const window = { start: line - 1, end: line - 1 };
      const c = cost(plan, [window]);
      if (used + c > allowance) break;
      if (chosen.some((w) => w.start === window.start)) continue;
      chosen.push(window);
      used += c;
    }
    if (chosen.length > 0) return chosen.sort((a, b) => a.start - b.start).map((w) => entry(plan, w, false));
  }

  // No usable line numbers: the head of the file.
  let end = -1;
  let used = plan.path.length + EXCERPT_OVERHEAD;
  while (end + 1 < count && used + plan.text[end + 1].length + 1 <= allowance) {
    end += 1;
    used += plan.text[end].length + 1;
  }
  return end >= 0 ? [entry(plan, { start: 0, end }, false)] : [];
}
