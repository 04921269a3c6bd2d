/**
 * `fixloop context LOG --repo DIR [--changed FILE...]`: localisation against a
 * checkout instead of the GitHub API, so it can be tried and benchmarked offline.
 * The tree is what git tracks in DIR (every file below it when DIR is not a git
 * work tree); the failing tests are read from disk for their imports.
 */
import { execFile } from "node:child_process";
import { createReadStream } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { promisify } from "node:util";
import { LineSplitter, cleanLine } from "../fix/context/lines.js";
import type { FailureContext } from "../fix/context/types.js";
import { EvidenceReader, evidenceOfFailure, filesToShow, locateFiles, RepoTree, type RankedFile } from "../fix/localize/index.js";

const run = promisify(execFile);
const MAX_WALK_FILES = 200_000;
const MAX_READ_BYTES = 1024 * 1024;
const SKIP_DIRS = new Set([".git", "node_modules", ".venv", "venv", "target", "build", "dist", "__pycache__"]);

/** Paths tracked by git in `dir` (relative to it), or every file below it when it is not a work tree. */
export async function checkoutPaths(dir: string): Promise<string[]> {
  try {
    const { stdout } = await run("git", ["-C", dir, "ls-files", "-z", "--full-name", "--", "."], { maxBuffer: 256 * 1024 * 1024 });
    const { stdout: prefix } = await run("git", ["-C", dir, "rev-parse", "--show-prefix"]);
    const under = prefix.trim();
    return stdout
      .split("\0")
      .filter(Boolean)
      .map((p) => (under && p.startsWith(under) ? p.slice(under.length) : p));
  } catch {
    const out: string[] = [];
    const walk = async (at: string): Promise<void> => {
      for (const entry of await readdir(at, { withFileTypes: true })) {
        if (out.length >= MAX_WALK_FILES) return;
        const full = join(at, entry.name);
        if (entry.isDirectory()) {
          if (!SKIP_DIRS.has(entry.name)) await walk(full);
        } else if (entry.isFile()) out.push(relative(dir, full).split(sep).join("/"));
      }
    };
    await walk(dir);
    return out;
  }
}

async function readSmall(dir: string, path: string): Promise<string | null> {
  try {
    const full = join(dir, path);
    if ((await stat(full)).size > MAX_READ_BYTES) return null;
    return await readFile(full, "utf8");
  } catch {
    return null;
  }
}

export interface CheckoutLocalization {
  shown: RankedFile[];
  /** Evidence that matched nothing in the checkout. */
  unresolved: number;
  ambiguous: { text: string; candidates: string[] }[];
}

export async function localizeInCheckout(
  logFile: string,
  context: FailureContext,
  options: { repo: string; changed?: string[]; maxFiles?: number },
): Promise<CheckoutLocalization> {
  const reader = new EvidenceReader();
  const splitter = new LineSplitter((line) => reader.addLine(cleanLine(line)));
  for await (const chunk of createReadStream(logFile)) splitter.push(chunk as Buffer);
  splitter.end();
  const tree = new RepoTree(await checkoutPaths(options.repo));
  const evidence = evidenceOfFailure({ context: context.context, errorLines: context.errorLines, files: context.files, log: reader.finish() });
  const located = await locateFiles(evidence, {
    tree,
    changedSinceGreen: options.changed ?? [],
    readContents: async (paths) => {
      const read = await Promise.all(paths.map(async (p) => [p, await readSmall(options.repo, p)] as const));
      return new Map(read.filter((entry): entry is readonly [string, string] => entry[1] !== null));
    },
  });
  return { shown: filesToShow(located.files, options.maxFiles ?? 8), unresolved: located.unresolved.length, ambiguous: located.ambiguous };
}

/** The JSON `files` of the command with --repo: what the prompt would show, and why. */
export function shownToJson(shown: RankedFile[]): { path: string; lines: number[]; why: string[]; score: number }[] {
  return shown.map((file) => ({ path: file.path, lines: file.lines, why: file.why, score: file.score }));
}

export function shownToText(shown: RankedFile[]): string[] {
  if (shown.length === 0) return ["files shown:  -"];
  return [
    "files shown:",
    ...shown.flatMap((file) => [`  ${file.path}${file.lines.length > 0 ? `:${file.lines.slice(0, 5).join(",")}` : ""}  (score ${file.score})`, ...file.why.map((why) => `      ${why}`)]),
  ];
}
