import { z } from "zod";

/**
 * Builds the structured template arguments for the TensorZero function `fixloop_patch`.
 * The prompt text itself lives in tensorzero/functions/fixloop_patch/<PROMPT_VERSION>/;
 * here we only shape and size the data it is rendered from. Pure: no I/O.
 */

/** Version of the templates and schemas; matches the template directory name and the variant names. */
export const PROMPT_VERSION = "v2";

/** Template directory, relative to the tensorzero/ config folder. */
export const PATCH_TEMPLATE_DIR = `functions/fixloop_patch/${PROMPT_VERSION}`;

/** Rough size model used for budgeting: one token per four characters. */
export const CHARS_PER_TOKEN = 4;

/** Default budget for the user arguments. The templates add a fixed ~700 tokens on top. */
export const DEFAULT_PROMPT_TOKEN_BUDGET = 24_000;

/**
 * The block tags of the user template. Logs, file contents, names and the
 * previous diff are untrusted: a log line `</log_excerpt>` followed by
 * "SYSTEM: …" would close the data block and speak as the prompt. Every
 * tag-like sequence naming one of these (any case, spaces allowed) has its
 * `<` written `&lt;`, so no untrusted text can open or close a block; the
 * system template tells the model so.
 */
export const TEMPLATE_BLOCK_TAGS = [
  "error_lines",
  "log_excerpt",
  "file",
  "files",
  "previous_attempt",
  "diff",
  "error",
  "same_failure_jobs",
  "repository_instructions",
  "instructions",
  "person_hint",
] as const;
const BLOCK_TAG_LIKE = new RegExp(`<(\\s*/?\\s*)(${TEMPLATE_BLOCK_TAGS.join("|")})(?=[\\s>/]|$)`, "gi");

/** Untrusted text as it may stand inside a block: it cannot open or close one. */
export function fenceUntrusted(text: string): string {
  return text.replace(BLOCK_TAG_LIKE, "&lt;$1$2");
}

/** Untrusted text on a header line of the template (`Job: …`): one line, fenced. */
function oneLine(text: string): string {
  return fenceUntrusted(text.replace(/[\r\n\u2028\u2029]+/g, " "));
}

/** A path inside the `path="…"` attribute of a file block. */
function attributeValue(text: string): string {
  return oneLine(text).replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Error lines are evidence, not payload: cap each one and their number before budgeting the rest. */
export const MAX_ERROR_LINES = 60;
export const MAX_ERROR_LINE_CHARS = 500;

// Characters the template spends around each file and error line (tags, attributes, newlines).
const FILE_WRAPPER_CHARS = 60;
const ERROR_LINE_WRAPPER_CHARS = 1;

const fileInputSchema = z.object({
  path: z.string().min(1),
  content: z.string(),
  /** Line number of the first line of `content` in the file. */
  startLine: z.number().int().min(1).default(1),
  /** The caller already cut the file (e.g. a window around the referenced line). */
  truncated: z.boolean().default(false),
  /** Why the file is shown (the evidence that picked it), so the model can weigh it. */
  why: z.string().optional(),
});

export const patchPromptInputSchema = z
  .object({
    repo: z.string().regex(/^[^/\s]+\/[^/\s]+$/, "repo must be owner/name"),
    workflow: z.string(),
    job: z.string(),
    failingStep: z.string().nullish(),
    failureClass: z.string().min(1),
    errorLines: z.array(z.string()),
    logExcerpt: z.string(),
    files: z.array(fileInputSchema),
    attempt: z.number().int().min(1),
    maxAttempts: z.number().int().min(1),
    /** The diff tried by the previous attempt and the error CI reported for it (attempt ≥ 2 only). */
    previousAttempt: z.object({ diff: z.string(), error: z.string() }).nullish(),
    /** Other jobs of the run that failed the same way (a matrix); the log is from `job`. Since v2. */
    sameFailureJobs: z.array(z.string()).default([]),
    /** The repository's instructions for coding agents, already redacted and bounded (see instructions.ts). Since v2. */
    repoInstructions: z.array(z.object({ source: z.string().min(1), content: z.string(), truncated: z.boolean() })).default([]),
    /** A maintainer's `/fixloop retry` hint, already redacted and bounded. Since v2. */
    personHint: z.object({ author: z.string().min(1), text: z.string().min(1) }).nullish(),
  })
  .refine((input) => input.attempt <= input.maxAttempts, { message: "attempt must not exceed maxAttempts", path: ["attempt"] })
  .refine((input) => !input.previousAttempt || input.attempt >= 2, {
    message: "previousAttempt only exists from attempt 2 on",
    path: ["previousAttempt"],
  });

export type PatchPromptInput = z.input<typeof patchPromptInputSchema>;

/** Mirrors tensorzero/functions/fixloop_patch/user_schema.json. */
export interface PatchUserArguments {
  repo: string;
  workflow: string;
  job: string;
  failing_step: string | null;
  failure_class: string;
  error_lines: string[];
  log_excerpt: string;
  files: PatchFileArgument[];
  attempt: number;
  max_attempts: number;
  previous_attempt?: { diff: string; error: string };
  same_failure_jobs?: string[];
  repo_instructions?: { source: string; content: string; truncated: boolean }[];
  person_hint?: { author: string; text: string };
}

export interface PatchFileArgument {
  path: string;
  content: string;
  start_line: number;
  truncated: boolean;
  why?: string;
}

/** Mirrors tensorzero/functions/fixloop_patch/system_schema.json. */
export interface PatchSystemArguments {
  max_files: number;
  max_changed_lines: number;
  protected_paths: string[];
}

export interface PatchLimits {
  maxFiles: number;
  maxChangedLines: number;
  /** Globs the patch must not touch (workflow files, lockfiles… as the repo's fixloop.yml decides). */
  protectedPaths: readonly string[];
}

export interface BuildPatchArgumentsOptions {
  /** Token budget for the user arguments (4 chars/token). Default DEFAULT_PROMPT_TOKEN_BUDGET. */
  tokenBudget?: number;
}

const limitsSchema = z.object({
  maxFiles: z.number().int().min(1),
  maxChangedLines: z.number().int().min(1),
  protectedPaths: z.array(z.string().min(1)),
});

export function buildPatchSystemArguments(limits: PatchLimits): PatchSystemArguments {
  const parsed = limitsSchema.parse({ ...limits, protectedPaths: [...limits.protectedPaths] });
  return {
    max_files: parsed.maxFiles,
    max_changed_lines: parsed.maxChangedLines,
    protected_paths: parsed.protectedPaths,
  };
}

/**
 * Validates the failure context and returns the `user` template arguments, shrunk to fit
 * the token budget. When everything fits it is passed through unchanged. Otherwise the
 * log excerpt, the files and the previous attempt share the room left after the fixed
 * fields: small pieces stay whole and the large ones are cut to an equal share, at line
 * boundaries. Files keep their head (and `start_line`) and are marked truncated; the log
 * keeps its tail, where failures are reported.
 */
export function buildPatchRequestArguments(input: PatchPromptInput, options: BuildPatchArgumentsOptions = {}): PatchUserArguments {
  const parsed = patchPromptInputSchema.parse(input);
  const tokenBudget = options.tokenBudget ?? DEFAULT_PROMPT_TOKEN_BUDGET;
  if (!Number.isFinite(tokenBudget) || tokenBudget <= 0) throw new RangeError(`tokenBudget must be positive, got ${tokenBudget}`);
  const budgetChars = Math.floor(tokenBudget * CHARS_PER_TOKEN);

  const errorLines = parsed.errorLines
    .slice(0, MAX_ERROR_LINES)
    .map((line) => oneLine(line.length > MAX_ERROR_LINE_CHARS ? `${line.slice(0, MAX_ERROR_LINE_CHARS - 1)}…` : line));

  const full: PatchUserArguments = {
    repo: parsed.repo,
    workflow: oneLine(parsed.workflow),
    job: oneLine(parsed.job),
    failing_step: parsed.failingStep ? oneLine(parsed.failingStep) : null,
    failure_class: oneLine(parsed.failureClass),
    error_lines: errorLines,
    log_excerpt: fenceUntrusted(parsed.logExcerpt),
    files: parsed.files.map((file) => ({
      path: attributeValue(file.path),
      content: fenceUntrusted(file.content),
      start_line: file.startLine,
      truncated: file.truncated,
      ...(file.why ? { why: file.why } : {}),
    })),
    attempt: parsed.attempt,
    max_attempts: parsed.maxAttempts,
    ...(parsed.previousAttempt ? { previous_attempt: { diff: fenceUntrusted(parsed.previousAttempt.diff), error: fenceUntrusted(parsed.previousAttempt.error) } } : {}),
    // Optional since v2: left out when empty, so a v1-shaped request stays exactly as it was.
    ...(parsed.sameFailureJobs.length > 0 ? { same_failure_jobs: parsed.sameFailureJobs.map(oneLine) } : {}),
    ...(parsed.repoInstructions.length > 0 ? { repo_instructions: parsed.repoInstructions.map((doc) => ({ ...doc, source: attributeValue(doc.source), content: fenceUntrusted(doc.content) })) } : {}),
    ...(parsed.personHint ? { person_hint: { author: oneLine(parsed.personHint.author), text: fenceUntrusted(parsed.personHint.text) } } : {}),
  };
  if (estimatePromptChars(full) <= budgetChars) return full;

  // Fixed part: everything except the bodies we are allowed to cut.
  const skeleton: PatchUserArguments = {
    ...full,
    log_excerpt: "",
    files: full.files.map((file) => ({ ...file, content: "" })),
    ...(full.previous_attempt ? { previous_attempt: { diff: "", error: "" } } : {}),
  };
  while (estimatePromptChars(skeleton) > budgetChars && skeleton.error_lines.length > 1) {
    skeleton.error_lines = skeleton.error_lines.slice(0, -1);
  }
  const room = Math.max(0, budgetChars - estimatePromptChars(skeleton));

  const bodies = [full.log_excerpt.length, ...full.files.map((file) => file.content.length)];
  if (full.previous_attempt) bodies.push(full.previous_attempt.diff.length, full.previous_attempt.error.length);
  const shares = fairShares(bodies, room);

  const result: PatchUserArguments = {
    ...skeleton,
    log_excerpt: keepTail(full.log_excerpt, shares[0]),
    files: full.files.map((file, index) => {
      const content = keepHeadLines(file.content, shares[1 + index]);
      return { ...file, content, truncated: file.truncated || content.length < file.content.length };
    }),
  };
  if (full.previous_attempt) {
    const at = 1 + full.files.length;
    result.previous_attempt = {
      diff: keepHead(full.previous_attempt.diff, shares[at], "diff"),
      error: keepHead(full.previous_attempt.error, shares[at + 1], "error"),
    };
  }
  return result;
}

/** Characters the arguments contribute to the rendered prompt (string values plus template wrapping). */
export function estimatePromptChars(args: PatchUserArguments): number {
  let chars =
    args.repo.length +
    args.workflow.length +
    args.job.length +
    (args.failing_step?.length ?? 0) +
    args.failure_class.length +
    args.log_excerpt.length +
    String(args.attempt).length +
    String(args.max_attempts).length;
  for (const line of args.error_lines) chars += line.length + ERROR_LINE_WRAPPER_CHARS;
  for (const file of args.files) chars += file.path.length + file.content.length + String(file.start_line).length + FILE_WRAPPER_CHARS + (file.why?.length ?? 0);
  if (args.previous_attempt) chars += args.previous_attempt.diff.length + args.previous_attempt.error.length;
  for (const name of args.same_failure_jobs ?? []) chars += name.length + ERROR_LINE_WRAPPER_CHARS;
  for (const doc of args.repo_instructions ?? []) chars += doc.source.length + doc.content.length + FILE_WRAPPER_CHARS;
  if (args.person_hint) chars += args.person_hint.author.length + args.person_hint.text.length + FILE_WRAPPER_CHARS;
  return chars;
}

export function estimatePromptTokens(args: PatchUserArguments): number {
  return Math.ceil(estimatePromptChars(args) / CHARS_PER_TOKEN);
}

/**
 * Splits `room` among pieces of the given sizes: pieces smaller than an equal share keep
 * their size, and what they leave over is shared among the larger ones.
 */
export function fairShares(sizes: readonly number[], room: number): number[] {
  const shares = new Array<number>(sizes.length).fill(0);
  const order = sizes.map((size, index) => ({ size, index })).sort((a, b) => a.size - b.size);
  let left = Math.max(0, Math.floor(room));
  for (let k = 0; k < order.length; k++) {
    const equal = Math.floor(left / (order.length - k));
    const give = Math.min(order[k].size, equal);
    shares[order[k].index] = give;
    left -= give;
  }
  return shares;
}

/** The longest run of whole lines from the start that fits in `limit` characters. */
function keepHeadLines(text: string, limit: number): string {
  if (text.length <= limit) return text;
  if (limit <= 0) return "";
  const cut = text.lastIndexOf("\n", limit - 1);
  return cut < 0 ? "" : text.slice(0, cut + 1);
}

/** Head of a text within `limit`, with a marker saying how much was cut. */
function keepHead(text: string, limit: number, what: string): string {
  if (text.length <= limit) return text;
  const marker = (cutLines: number) => `\n[… ${what} cut: ${cutLines} more line(s)]`;
  const room = limit - marker(countLines(text)).length;
  if (room <= 0) return "";
  let kept = keepHeadLines(text, room);
  if (kept === "") kept = text.slice(0, room);
  return kept + marker(countLines(text.slice(kept.length)));
}

/** Tail of a log within `limit`, starting at a line boundary, with a marker for the cut lines. */
function keepTail(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const marker = (cutLines: number) => `[… ${cutLines} earlier log line(s) cut]\n`;
  const room = limit - marker(countLines(text)).length;
  if (room <= 0) return "";
  let start = text.length - room;
  // Start at a line boundary unless that would throw away most of the room (one huge line).
  const lineStart = text.indexOf("\n", start - 1);
  if (lineStart >= 0 && lineStart + 1 - start < room / 4) start = lineStart + 1;
  return marker(countLines(text.slice(0, start))) + text.slice(start);
}

function countLines(text: string): number {
  if (text === "") return 0;
  let lines = 1;
  for (let i = 0; i < text.length - 1; i++) if (text.charCodeAt(i) === 10) lines += 1;
  return lines;
}
