/**
 * `fixloop apply <patch-file> [--dir D]`: applies a model's edits (a whole
 * answer, in any format readEdits knows) to files on disk with the same
 * reader, applier and safety rules as the app. Everything applies or nothing
 * is written.
 */
import { randomBytes } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { lstat, mkdir, readFile, rename, rm, stat, unlink, writeFile, chmod } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { Command } from "commander";
import {
  DEFAULT_SAFETY_RULES,
  applyPatch,
  checkPatchSafety,
  pathsToFetch,
  readEdits,
  PatchParseError,
  type FileChange,
  type SafetyRules,
  type SafetyViolation,
  type ShownFiles,
} from "../patch/index.js";
import { positiveInt } from "./parsers.js";

export interface ApplyCommandOptions {
  dir: string;
  maxLines: number;
  maxFiles: number;
  allowWorkflows: boolean;
  allowLockfiles: boolean;
  allowCiConfig?: boolean;
  allowInstallScripts?: boolean;
  allowRepoSettings?: boolean;
  exclude: string[];
  dryRun: boolean;
}

export interface CommandOutput {
  log(line: string): void;
  error(line: string): void;
}

/** A person applies a patch they can read, so the CLI allows more than the app's defaults; the kinds of file refused stay the same. */
export const CLI_SAFETY_LIMITS = { maxChangedLines: 2000, maxFiles: 100 } as const;

class RefusedError extends Error {}

/** Resolves a repo path under root, refusing anything that leaves it or passes through a symlink. */
async function resolveInside(root: string, path: string): Promise<{ full: string; exists: boolean; mode: number | null }> {
  const full = resolve(root, path);
  const rel = relative(root, full);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) throw new RefusedError(`${path}: resolves outside ${root}`);
  let current = root;
  for (const part of rel.split(sep)) {
    current = join(current, part);
    let info;
    try {
      info = await lstat(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { full, exists: false, mode: null };
      throw error;
    }
    if (info.isSymbolicLink()) throw new RefusedError(`${path}: ${relative(root, current) || "."} is a symlink; symlinks are refused`);
    if (current === full) {
      if (!info.isFile()) throw new RefusedError(`${path}: not a regular file`);
      return { full, exists: true, mode: info.mode };
    }
    if (!info.isDirectory()) throw new RefusedError(`${path}: ${relative(root, current)} is not a directory`);
  }
  return { full, exists: false, mode: null };
}

async function readOriginal(full: string, path: string): Promise<string> {
  const bytes = await readFile(full);
  if (bytes.includes(0)) throw new RefusedError(`${path}: binary file`);
  const text = bytes.toString("utf8");
  // Writing back text decoded with replacement characters would corrupt the file.
  if (!Buffer.from(text, "utf8").equals(bytes)) throw new RefusedError(`${path}: not UTF-8 text`);
  return text;
}

function reportViolations(violations: SafetyViolation[], out: CommandOutput): void {
  out.error("fixloop apply: patch refused by safety rules; nothing written");
  for (const violation of violations) out.error(`  ${violation.path ?? "(patch)"}: [${violation.rule}] ${violation.message}`);
}

/**
 * Writes every change or none: contents go to temporary files beside their
 * targets first, then are renamed into place; a failure part way restores
 * what was already replaced.
 */
async function writeAll(
  changes: FileChange[],
  targets: Map<string, { full: string; mode: number | null }>,
  originals: Record<string, string | undefined>,
): Promise<void> {
  const suffix = `.fixloop-${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  const staged: { change: FileChange; full: string; temp: string }[] = [];
  const createdDirs: string[] = [];
  try {
    for (const change of changes) {
      const { full, mode } = targets.get(change.path)!;
      if (change.content === null) continue;
      const made = await mkdir(dirname(full), { recursive: true });
      if (made) createdDirs.push(made);
      const temp = full + suffix;
      await writeFile(temp, change.content, { flag: "wx" });
      if (mode !== null) await chmod(temp, mode & 0o7777);
      staged.push({ change, full, temp });
    }
  } catch (error) {
    await Promise.all(staged.map(({ temp }) => rm(temp, { force: true })));
    for (const dir of createdDirs.reverse()) await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const done: { change: FileChange; full: string }[] = [];
  try {
    for (const entry of staged) {
      await rename(entry.temp, entry.full);
      done.push(entry);
    }
    for (const change of changes) {
      if (change.content !== null) continue;
      const { full } = targets.get(change.path)!;
      await unlink(full);
      done.push({ change, full });
    }
  } catch (error) {
    for (const { change, full } of done.reverse()) {
      const original = originals[change.path];
      if (original === undefined) await rm(full, { force: true });
      else await writeFile(full, original);
    }
    await Promise.all(staged.map(({ temp }) => rm(temp, { force: true })));
    throw error;
  }
}

/** Bounds of the search for the file that hunks without a file name belong to. */
export const DIR_SEARCH_LIMITS = { maxEntries: 20_000, maxFiles: 2_000, maxFileBytes: 512 * 1024 } as const;
/** Directories that hold generated or fetched code, never the file a fix edits. */
const SKIPPED_DIRS = new Set(["node_modules", "dist", "build", "out", "coverage", "vendor", "target", "__pycache__"]);

/**
 * The text files under root, found on first use and read without following
 * symlinks: what hunks without a file name are matched against, and what a
 * whole-file block may replace.
 */
function filesUnder(root: string): ShownFiles {
  let listed: string[] | null = null;
  const cache = new Map<string, string | undefined>();
  const read = (path: string): string | undefined => {
    if (cache.has(path)) return cache.get(path);
    let content: string | undefined;
    try {
      const full = resolve(root, path);
      const rel = relative(root, full);
      const inside = rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
      let current = root;
      let plain = inside;
      for (const part of inside ? rel.split(sep) : []) {
        current = join(current, part);
        if (lstatSync(current).isSymbolicLink()) plain = false;
      }
      const info = plain ? lstatSync(full) : null;
      if (info?.isFile() && info.size <= DIR_SEARCH_LIMITS.maxFileBytes) {
        const bytes = readFileSync(full);
        const text = bytes.toString("utf8");
        if (!bytes.includes(0) && Buffer.from(text, "utf8").equals(bytes)) content = text;
      }
    } catch {
      content = undefined;
    }
    cache.set(path, content);
    return content;
  };
  const list = (): string[] => {
    const found: string[] = [];
    let entries = 0;
    const pending = [""];
    while (pending.length > 0 && found.length < DIR_SEARCH_LIMITS.maxFiles && entries < DIR_SEARCH_LIMITS.maxEntries) {
      const dir = pending.shift()!;
      let children;
      try {
        children = readdirSync(join(root, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
      } catch {
        continue;
      }
      for (const child of children) {
        entries++;
        const path = dir === "" ? child.name : `${dir}/${child.name}`;
        if (child.isDirectory()) {
          if (!child.name.startsWith(".") && !SKIPPED_DIRS.has(child.name)) pending.push(path);
        } else if (child.isFile()) {
          found.push(path);
          if (found.length >= DIR_SEARCH_LIMITS.maxFiles) break;
        }
      }
    }
    return found;
  };
  return { paths: () => (listed ??= list()), read };
}

/** Runs the command and returns its exit code: 0 only when every hunk of every file applied. */
export async function runApply(patchFile: string, options: ApplyCommandOptions, out: CommandOutput): Promise<number> {
  const root = resolve(options.dir);
  const rootInfo = await stat(root).catch(() => null);
  if (!rootInfo?.isDirectory()) {
    out.error(`fixloop apply: ${root} is not a directory`);
    return 1;
  }
  const input = patchFile === "-" ? await readStdin() : await readFile(patchFile, "utf8");
  let read;
  try {
    read = readEdits(input, { shown: filesUnder(root) });
  } catch (error) {
    if (!(error instanceof PatchParseError)) throw error;
    out.error(`fixloop apply: cannot read the edits: ${error.message}; nothing written`);
    return 1;
  }
  if (read === null) {
    out.error("fixloop apply: no edits found in the input (no unified diff, apply_patch, SEARCH/REPLACE or whole-file block); nothing written");
    return 1;
  }
  out.log(`format: ${read.description}`);
  const files = read.files;

  const rules: SafetyRules = {
    ...DEFAULT_SAFETY_RULES,
    maxChangedLines: options.maxLines,
    maxFiles: options.maxFiles,
    exclude: options.exclude,
    allowWorkflows: options.allowWorkflows,
    allowLockfiles: options.allowLockfiles,
    allowCiConfig: options.allowCiConfig ?? false,
    allowInstallScripts: options.allowInstallScripts ?? false,
    allowRepoSettings: options.allowRepoSettings ?? false,
  };
  // Path rules first, so nothing outside the tree is even read.
  const pathViolations = checkPatchSafety(files, rules);
  if (pathViolations.length > 0) {
    reportViolations(pathViolations, out);
    return 1;
  }

  const originals: Record<string, string | undefined> = {};
  const targets = new Map<string, { full: string; mode: number | null }>();
  try {
    for (const path of pathsToFetch(files)) {
      const target = await resolveInside(root, path);
      targets.set(path, target);
      originals[path] = target.exists ? await readOriginal(target.full, path) : undefined;
    }
  } catch (error) {
    if (!(error instanceof RefusedError)) throw error;
    out.error(`fixloop apply: refused: ${error.message}; nothing written`);
    return 1;
  }

  const contentViolations = checkPatchSafety(files, rules, originals);
  if (contentViolations.length > 0) {
    reportViolations(contentViolations, out);
    return 1;
  }

  const result = applyPatch(files, originals);
  if (!result.ok) {
    out.error(`fixloop apply: ${result.failures.length} problem(s); nothing written`);
    for (const failure of result.failures) {
      out.error(`  ${failure.path}${failure.hunk === null ? "" : `: hunk ${failure.hunk}`}: ${failure.reason}`);
    }
    return 1;
  }

  if (!options.dryRun) await writeAll(result.changes, targets, originals);
  const verb = options.dryRun ? "would" : "";
  for (const change of result.changes) {
    const action = change.content === null ? "delete" : originals[change.path] === undefined ? "create" : "update";
    out.log(`${verb ? `${verb} ` : ""}${action} ${change.path}`);
  }
  out.log(
    `${options.dryRun ? "dry run: " : ""}${result.changes.length} file(s), ${result.changedLines} changed line(s)${options.dryRun ? ", nothing written" : " applied"}`,
  );
  return 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerApplyCommand(program: Command): void {
  program
    .command("apply")
    .description(
      "Apply a model's edits (unified diff, apply_patch, SEARCH/REPLACE or whole-file blocks, bare or in an answer) to files on disk: all or nothing",
    )
    .argument("<patch-file>", 'file with the edits or model answer ("-" reads stdin)')
    .option("--dir <dir>", "repository directory to apply in", ".")
    .option("--max-lines <n>", "refuse patches changing more lines", positiveInt, CLI_SAFETY_LIMITS.maxChangedLines)
    .option("--max-files <n>", "refuse patches touching more files", positiveInt, CLI_SAFETY_LIMITS.maxFiles)
    .option("--exclude <glob>", "refuse patches touching paths matching this glob (repeatable)", collect, [] as string[])
    .option("--allow-workflows", "allow changes to .github/workflows/**", false)
    .option("--allow-lockfiles", "allow changes to dependency lock files", false)
    .option("--allow-ci-config", "allow changes to composite actions and other CI systems' config", false)
    .option("--allow-install-scripts", "allow package.json install-time scripts and a test script that cannot fail", false)
    .option("--allow-repo-settings", "allow changes to CODEOWNERS, fixloop, Dependabot and Renovate settings", false)
    .option("--dry-run", "check and report, write nothing", false)
    .action(async (patchFile: string, options: ApplyCommandOptions) => {
      process.exitCode = await runApply(patchFile, options, {
        log: (line) => console.log(line),
        error: (line) => console.error(line),
      });
    });
}
