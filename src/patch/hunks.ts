/**
 * Hunks built from two texts, for edit formats that give the old and new
 * text instead of a diff (SEARCH/REPLACE blocks, whole files). Lines the two
 * sides share become context, so safety limits count only what changes.
 */
import { createTwoFilesPatch, diffArrays, structuredPatch } from "diff";
import { splitSource } from "./lines.js";
import type { FileChange, PatchHunk, PatchLine } from "./types.js";

/** One hunk whose old side is exactly `search` and whose new side is exactly `replace`. */
export function hunkFromReplacement(search: string[], replace: string[]): PatchHunk {
  const lines: PatchLine[] = [];
  for (const part of diffArrays(search, replace)) {
    const kind = part.added ? "+" : part.removed ? "-" : " ";
    for (const text of part.value) lines.push({ kind, text });
  }
  return { oldStart: null, lines };
}

/**
 * The hunks that turn `before` into `after`, each pinned to the line it was
 * computed at: they come from the file itself, not from a model's claim, so
 * repeated context cannot make them ambiguous.
 */
export function hunksBetween(before: string, after: string, context = 3): PatchHunk[] {
  const normalise = (text: string): string => {
    const lines = splitSource(text).lines.map((line) => line.text);
    return lines.length === 0 ? "" : lines.join("\n") + "\n";
  };
  const patch = structuredPatch("a", "b", normalise(before), normalise(after), "", "", { context });
  return patch.hunks.map((hunk): PatchHunk => {
    const lines = hunk.lines
      .filter((line) => line[0] === " " || line[0] === "-" || line[0] === "+")
      .map((line): PatchLine => ({ kind: line[0] as PatchLine["kind"], text: line.slice(1) }));
    // jsdiff numbers a hunk with no old lines after the line it follows.
    const start = hunk.oldLines === 0 ? hunk.oldStart : hunk.oldStart - 1;
    return { oldStart: hunk.oldStart, lines, pinnedAt: start };
  });
}

/**
 * The applied changes as a git-style unified diff with exact numbers: what a
 * reviewer reads and what `git apply` accepts, whatever format the model wrote.
 */
export function renderChangesAsDiff(changes: FileChange[], originals: Record<string, string | undefined>): string {
  return changes
    .map((change) => {
      const before = originals[change.path];
      const oldName = before === undefined ? "/dev/null" : `a/${change.path}`;
      const newName = change.content === null ? "/dev/null" : `b/${change.path}`;
      const text = createTwoFilesPatch(oldName, newName, before ?? "", change.content ?? "", "", "", { context: 3 });
      // jsdiff opens with an "Index:"/"===" banner; git's own header names the file instead.
      const body = text.slice(text.indexOf("--- ")).replace(/^(---|\+\+\+) (.*)\t$/gm, "$1 $2");
      return `diff --git a/${change.path} b/${change.path}\n${before === undefined ? "new file mode 100644\n" : change.content === null ? "deleted file mode 100644\n" : ""}${body}`;
    })
    .join("");
}
