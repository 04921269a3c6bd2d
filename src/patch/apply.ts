/**
 * All-or-nothing application of a parsed patch to file contents held in
 * memory. Every hunk is placed by its content in the original file (so hunk
 * order and line numbers do not matter); any hunk that cannot be placed
 * exactly once makes the whole patch fail, with a reason per hunk.
 */
import { leadingWhitespace, matchedIndentPairs, systematicReindent } from "./indent.js";
import { FileIndex, locateHunk, regionParts } from "./locate.js";
import { joinSource, looseKey, splitSource, type SourceLine } from "./lines.js";
import type { ApplyFailure, ApplyResult, FileChange, PatchFile, PatchHunk } from "./types.js";

type Originals = Record<string, string | undefined>;

interface FileOutcome {
  changes: FileChange[];
  changedLines: number;
  failures: ApplyFailure[];
}

function countChanged(hunks: PatchHunk[]): number {
  let changed = 0;
  for (const hunk of hunks) for (const line of hunk.lines) if (line.kind !== " ") changed++;
  return changed;
}

function fail(path: string, hunk: number | null, reason: string): FileOutcome {
  return { changes: [], changedLines: 0, failures: [{ path, hunk, reason }] };
}

/** Content of a file made only of added lines (a created file, or hunks applied to an empty one). */
function contentFromAdditions(path: string, hunks: PatchHunk[]): { content: string } | FileOutcome {
  const failures: ApplyFailure[] = [];
  const added: string[] = [];
  hunks.forEach((hunk, i) => {
    if (hunk.lines.some((line) => line.kind !== "+")) {
      failures.push({ path, hunk: i + 1, reason: "a hunk for a file that does not exist yet can only add lines" });
    }
    for (const line of hunk.lines) if (line.kind === "+") added.push(line.text);
  });
  if (failures.length > 0) return { changes: [], changedLines: 0, failures };
  const last = hunks[hunks.length - 1];
  const finalNewline = added.length > 0 && !last?.newNoNewlineAtEnd;
  return { content: added.join("\n") + (finalNewline ? "\n" : "") };
}

/** The hunk with its added lines re-indented when the model retyped the whole hunk with other indentation. */
function withFileIndentation(hunk: PatchHunk, lines: SourceLine[], fileIndexOf: (number | null)[]): PatchHunk {
  const pairs = matchedIndentPairs(hunk.lines.filter((line) => line.kind !== "+"), fileIndexOf, lines);
  const reindent = systematicReindent(pairs);
  if (!reindent) return hunk;
  return {
    ...hunk,
    lines: hunk.lines.map((line) => {
      if (line.kind !== "+" || line.text.trim() === "") return line;
      const indent = leadingWhitespace(line.text);
      return { ...line, text: reindent(indent) + line.text.slice(indent.length) };
    }),
  };
}

/** Applies hunks to one file's content; placement is decided on the original, then edits are spliced in file order. */
function applyHunks(path: string, original: string, hunks: PatchHunk[]): { content: string } | FileOutcome {
  const source = splitSource(original);
  const index = new FileIndex(source.lines);
  const failures: ApplyFailure[] = [];
  const placed: { hunk: PatchHunk; number: number; start: number; length: number; fileIndexOf: (number | null)[] }[] = [];

  hunks.forEach((hunk, i) => {
    const location = locateHunk(hunk, index);
    if (!location.found) {
      failures.push({ path, hunk: i + 1, reason: location.reason });
      return;
    }
    const placedHunk = location.level === "exact" ? hunk : withFileIndentation(hunk, source.lines, location.fileIndexOf);
    placed.push({ hunk: placedHunk, number: i + 1, start: location.start, length: location.length, fileIndexOf: location.fileIndexOf });
  });

  placed.sort((a, b) => a.start - b.start || a.number - b.number);
  for (let i = 1; i < placed.length; i++) {
    const previous = placed[i - 1];
    const current = placed[i];
    const sameInsertPoint = current.start === previous.start && (current.length === 0 || previous.length === 0);
    if (current.start < previous.start + previous.length || sameInsertPoint) {
      failures.push({
        path,
        hunk: current.number,
        reason: `overlaps hunk ${previous.number} (both touch line ${current.start + 1})`,
      });
    }
  }
  if (failures.length > 0) return { changes: [], changedLines: 0, failures };

  const out: SourceLine[] = [];
  let cursor = 0;
  let endsWithNewline = source.endsWithNewline;
  for (const { hunk, start, length, fileIndexOf } of placed) {
    for (; cursor < start; cursor++) out.push(source.lines[cursor]);
    // Context keeps the file's own line (its exact whitespace and ending); additions take the file's usual ending.
    for (const part of regionParts(hunk, start, length, fileIndexOf)) {
      out.push("file" in part ? source.lines[part.file] : { text: part.added, eol: source.dominantEol });
    }
    cursor = start + length;
    // "\ No newline at end of file" markers count only on a hunk that reaches the end of the file.
    if (start + length === source.lines.length) {
      if (hunk.newNoNewlineAtEnd) endsWithNewline = false;
      else if (hunk.oldNoNewlineAtEnd) endsWithNewline = true;
    }
  }
  for (; cursor < source.lines.length; cursor++) out.push(source.lines[cursor]);
  return { content: out.length === 0 ? "" : joinSource(out, endsWithNewline, source.dominantEol) };
}

function applyToFile(file: PatchFile, originals: Originals): FileOutcome {
  const path = file.newPath ?? file.oldPath ?? "(unnamed)";
  if (file.isBinary) return fail(path, null, "binary patches are not supported");
  if (file.isSymlink) return fail(path, null, "symlink changes are not supported");
  if (file.isSubmodule) return fail(path, null, "submodule changes are not supported");

  if (file.isNew || file.oldPath === null) {
    if (originals[path] !== undefined) return fail(path, null, "the patch creates this file, but it already exists");
    const created = contentFromAdditions(path, file.hunks);
    if ("failures" in created) return created;
    return { changes: [{ path, content: created.content }], changedLines: countChanged(file.hunks), failures: [] };
  }

  const sourcePath = file.oldPath;
  const original = originals[sourcePath];
  if (file.isDeleted || file.newPath === null) {
    if (original === undefined) return fail(sourcePath, null, "the patch deletes this file, but it does not exist");
    const fileLines = splitSource(original).lines;
    if (file.hunks.length > 0) {
      const removed = file.hunks.flatMap((hunk) => hunk.lines);
      const matches =
        removed.every((line) => line.kind === "-") &&
        removed.length === fileLines.length &&
        removed.every((line, i) => looseKey(line.text) === looseKey(fileLines[i].text));
      if (!matches) {
        return fail(sourcePath, null, `the patch deletes this file, but the lines it removes (${removed.length}) are not the file's content (${fileLines.length} lines)`);
      }
    }
    return { changes: [{ path: sourcePath, content: null }], changedLines: fileLines.length, failures: [] };
  }

  const targetPath = file.newPath;
  const renamed = targetPath !== sourcePath;
  if (renamed && originals[targetPath] !== undefined) {
    return fail(targetPath, null, `the patch renames ${sourcePath} to this path, but it already exists`);
  }

  let content: string;
  if (original === undefined) {
    // Models often mark a new file with ordinary ---/+++ headers; only additions make that safe to accept.
    if (renamed || file.hunks.length === 0 || file.hunks.some((hunk) => hunk.lines.some((line) => line.kind !== "+"))) {
      return fail(sourcePath, null, "file not found");
    }
    const created = contentFromAdditions(targetPath, file.hunks);
    if ("failures" in created) return created;
    content = created.content;
  } else {
    const applied = applyHunks(sourcePath, original, file.hunks);
    if ("failures" in applied) return applied;
    content = applied.content;
  }

  const changedLines = countChanged(file.hunks);
  if (content === "" && original !== undefined && original !== "") {
    // Emptying a file and deleting it look the same in a diff without "+++ /dev/null"; only the answer can say which.
    if (file.deleteIntent && !renamed) return { changes: [{ path: sourcePath, content: null }], changedLines, failures: [] };
    return fail(
      sourcePath,
      null,
      "ambiguous: the patch removes every line of the file without marking it deleted (+++ /dev/null, *** Delete File); it is not clear whether to delete the file or leave it empty",
    );
  }
  if (renamed) return { changes: [{ path: sourcePath, content: null }, { path: targetPath, content }], changedLines, failures: [] };
  if (content === original) return { changes: [], changedLines: 0, failures: [] };
  return { changes: [{ path: targetPath, content }], changedLines, failures: [] };
}

/**
 * Applies every file of the patch to `originals` (path → content, undefined
 * when the file does not exist). Either every hunk of every file applies and
 * the new contents are returned, or nothing is and each failure is listed.
 */
export function applyPatch(files: PatchFile[], originals: Originals): ApplyResult {
  const failures: ApplyFailure[] = [];
  const changes: FileChange[] = [];
  const touched = new Set<string>();
  let changedLines = 0;

  for (const file of files) {
    const outcome = applyToFile(file, originals);
    failures.push(...outcome.failures);
    changedLines += outcome.changedLines;
    for (const change of outcome.changes) {
      if (touched.has(change.path)) {
        failures.push({ path: change.path, hunk: null, reason: "more than one section of the patch changes this file" });
      }
      touched.add(change.path);
      changes.push(change);
    }
  }
  if (failures.length > 0) return { ok: false, failures };
  return { ok: true, changes, changedLines };
}
