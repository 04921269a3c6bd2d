/**
 * The repository's own instructions for coding agents — AGENTS.md and
 * CLAUDE.md (in any directory on the way to a failing file),
 * .github/copilot-instructions.md, .cursorrules, .cursor/rules/* and the
 * `instructions:` of fixloop.yml — read at the failing commit through the
 * API, nearest to the failing files first, redacted like logs, bounded to a
 * share of the prompt budget, and kept from closing the prompt's fences.
 */
import picomatch from "picomatch";
import type { ProbotOctokit } from "probot";
import { httpStatusOf, type RepoRef } from "../github/actions.js";
import { decodeText, fetchFilesAtRef, repoPathProblem, type FetchedFile, type RepoListing } from "../github/files.js";
import { CHARS_PER_TOKEN } from "./prompt.js";
import { redactSecrets } from "./redact.js";

/** Instructions get at most this share of the prompt's token budget: the failure and the code come first. */
export const INSTRUCTIONS_SHARE = 1 / 8;
/** A bigger instruction file is not read at all (a generated or hostile file, not notes for agents). */
export const MAX_INSTRUCTION_FILE_BYTES = 128 * 1024;
/** Directories above a failing file searched for AGENTS.md / CLAUDE.md, nearest first (the root is always searched). */
const MAX_NESTED_DIRS = 4;
const MAX_CURSOR_RULES = 20;
/** Below this many characters left, a further file is not worth starting. */
const MIN_USEFUL_CHARS = 200;

export const CONFIG_INSTRUCTIONS_SOURCE = ".github/fixloop.yml#instructions";
const AGENT_FILES = ["AGENTS.md", "CLAUDE.md"];

export interface InstructionDoc {
  /** The file's path at the failing commit, or CONFIG_INSTRUCTIONS_SOURCE. */
  source: string;
  content: string;
  truncated: boolean;
}

export interface RepoInstructions {
  docs: InstructionDoc[];
  /** The sources used, as recorded on the attempt. */
  files: string[];
  /** Files found but left out, with why (binary, too large, no room). */
  skipped: { source: string; why: string }[];
}

function dirsAbove(path: string): string[] {
  const parts = path.split("/").slice(0, -1);
  const dirs: string[] = [];
  for (let n = parts.length; n > 0 && dirs.length < MAX_NESTED_DIRS; n--) dirs.push(parts.slice(0, n).join("/"));
  return dirs;
}

/** Candidate paths, nearest to the failing files first; the root's files and the tool-specific ones after. */
export function instructionCandidates(failingPaths: readonly string[]): string[] {
  const out: string[] = [];
  for (const path of failingPaths) {
    if (repoPathProblem(path)) continue;
    for (const dir of dirsAbove(path)) for (const name of AGENT_FILES) out.push(`${dir}/${name}`);
  }
  out.push(...AGENT_FILES, ".github/copilot-instructions.md", ".cursorrules");
  return [...new Set(out)];
}

/** `.mdc` front matter: a rule applies when `alwaysApply: true`, when it has no globs, or when a glob matches a failing file. */
export function cursorRuleApplies(content: string, failingPaths: readonly string[]): boolean {
  const front = /^---\r?\n([\s\S]*?)\r?\n---/.exec(content);
  if (!front) return true;
  if (/^alwaysApply:\s*true\s*$/m.test(front[1])) return true;
  const globsLine = /^globs:\s*(.*)$/m.exec(front[1])?.[1]?.trim();
  if (!globsLine) return true;
  const globs = globsLine
    .replace(/^\[|\]$/g, "")
    .split(",")
    .map((g) => g.trim().replace(/^["']|["']$/g, ""))
    .filter(Boolean);
  if (globs.length === 0) return true;
  const match = picomatch(globs, { dot: true });
  return failingPaths.some((p) => match(p));
}

/**
 * Makes instruction text safe to place inside the prompt's tags: NULs and
 * other control characters go, and anything that would close (or open) one
 * of the fences around it is broken up.
 */
export function fenceSafe(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, "")
    .replace(/<(\/?)(repository_instructions|instructions|person_hint|file|log_excerpt|error_lines|previous_attempt|same_failure_jobs)\b/gi, "<\u200b$1$2");
}

/** The head of `text` in whole lines within `limit` characters. */
function headLines(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const cut = text.lastIndexOf("\n", limit);
  return cut > limit / 2 ? text.slice(0, cut) : text.slice(0, limit);
}

/** `.cursor/rules/*.mdc|md` at the ref, read from one listing of the directory (no second listing per file). */
async function cursorRules(octokit: ProbotOctokit, repo: RepoRef, ref: string): Promise<[string, FetchedFile][]> {
  let entries: { path: string; type: string; sha: string; size?: number }[];
  try {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/git/trees/{+treeish}", { owner: repo.owner, repo: repo.repo, treeish: `${ref}:.cursor/rules` });
    entries = (data as { tree?: typeof entries }).tree ?? [];
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 404 || status === 422) return [];
    throw error;
  }
  const rules = entries
    .filter((e) => e.type === "blob" && /\.(mdc|md)$/i.test(e.path))
    .sort((a, b) => a.path.localeCompare(b.path))
    .slice(0, MAX_CURSOR_RULES);
  const read: [string, FetchedFile][] = [];
  for (const rule of rules) {
    const path = `.cursor/rules/${rule.path}`;
    if ((rule.size ?? 0) > MAX_INSTRUCTION_FILE_BYTES) {
      read.push([path, { type: "too_large", sha: rule.sha }]);
      continue;
    }
    const { data } = await octokit.rest.git.getBlob({ owner: repo.owner, repo: repo.repo, file_sha: rule.sha });
    const content = decodeText(Buffer.from(data.content, data.encoding === "base64" ? "base64" : "utf8"));
    read.push([path, content === null ? { type: "binary", sha: rule.sha } : { type: "file", content, sha: rule.sha, mode: "100644" }]);
  }
  return read;
}

function textOf(file: FetchedFile | undefined): { text: string } | { why: string } | null {
  if (!file) return null;
  if (file.type === "file") return { text: file.content };
  return { why: file.type === "too_large" ? `larger than ${MAX_INSTRUCTION_FILE_BYTES} bytes` : `a ${file.type}` };
}

export interface ReadInstructionsInput extends RepoRef {
  /** The failing commit. */
  ref: string;
  /** Files the failure points at (and the code beside them), most relevant first. */
  failingPaths: readonly string[];
  /** fixloop.yml's own `instructions:` text. */
  configured: string;
  budgetTokens: number;
  /** The commit's recursive listing when the job has read it: no directory listings needed. */
  tree?: RepoListing | null;
}

/** Reads, orders, redacts and bounds the repository's instructions for this failure. */
export async function readRepoInstructions(octokit: ProbotOctokit, input: ReadInstructionsInput): Promise<RepoInstructions> {
  const repo = { owner: input.owner, repo: input.repo };
  const candidates = instructionCandidates(input.failingPaths);
  const fetched = await fetchFilesAtRef(octokit, { ...repo, ref: input.ref, paths: [...candidates, ".cursor"], maxBytes: MAX_INSTRUCTION_FILE_BYTES, tree: input.tree });
  const rules = fetched[".cursor"]?.type === "directory" ? await cursorRules(octokit, repo, input.ref) : [];

  const found: { source: string; text: string }[] = [];
  const skipped: RepoInstructions["skipped"] = [];
  if (input.configured.trim() !== "") found.push({ source: CONFIG_INSTRUCTIONS_SOURCE, text: input.configured });
  for (const [source, file] of [...candidates.map((p) => [p, fetched[p]] as const), ...rules]) {
    const got = textOf(file);
    if (!got) continue;
    if ("why" in got) skipped.push({ source, why: got.why });
    else if (source.startsWith(".cursor/rules/") && !cursorRuleApplies(got.text, input.failingPaths)) skipped.push({ source, why: "its globs match no failing file" });
    else if (got.text.trim() !== "") found.push({ source, text: got.text });
  }

  let room = Math.floor(input.budgetTokens * CHARS_PER_TOKEN);
  const docs: InstructionDoc[] = [];
  for (const { source, text } of found) {
    if (room < MIN_USEFUL_CHARS) {
      skipped.push({ source, why: "no room left in the instructions' share of the prompt" });
      continue;
    }
    const clean = fenceSafe(redactSecrets(text.replace(/\r\n?/g, "\n")).text).trim();
    const content = headLines(clean, room);
    docs.push({ source, content, truncated: content.length < clean.length });
    room -= content.length + source.length;
  }
  return { docs, files: docs.map((d) => d.source), skipped };
}
