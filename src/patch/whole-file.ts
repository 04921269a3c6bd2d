/**
 * Whole-file answers (Aider's "whole" format): a fenced block labelled with a
 * path that gives the file's complete new content. Accepted only when the
 * answer says the block is the file (a path line right above the fence, a
 * path in its info string, or prose that says so), only for files the model
 * was shown, within a size limit, and never when the block elides code
 * ("// ... rest of the file unchanged"): writing that would delete the rest.
 */
import { fencedBlocks, namedFile } from "./extract.js";
import { hunksBetween } from "./hunks.js";
import { splitSource } from "./lines.js";
import { PatchParseError, type PatchFile } from "./types.js";

export interface WholeFileBlock {
  path: string;
  lines: string[];
  /** 1-based line of the block's first content line in the answer. */
  line: number;
}

/** Largest whole-file answer taken as a file's new content. */
export const MAX_WHOLE_FILE_BYTES = 256 * 1024;

const SAYS_WHOLE = /\b(?:full|complete|entire|whole|updated|rewritten|new|final|fixed|corrected)\s+(?:version|file|contents?|code|source)\b|\breplac\w*\b.*\b(?:file|contents?)\b/i;
const FENCE = /^(`{3,}|~{3,})/;
const PATH_ALONE = /^[`*"']*(?:\.\/)?[\w@.+-]+(?:\/[\w@.+-]+)*\.[A-Za-z][\w-]*[`*"':]*$/;

/** Comments standing in for code the model did not write out. */
export const ELISION = [
  /^\s*(?:\/\/|#|--|;+|\/\*+|<!--|\*|%)\s*(?:\.{3}|…)\s*\(?\s*(?:rest|existing|remaining|previous|unchanged|other|same|more|original|keep)\b/i,
  /^\s*(?:\/\/|#|--|;+|\/\*+|<!--|\*|%)\s*(?:\.{3}|…)?\s*(?:rest of (?:the )?(?:file|code|class|function|module|implementation)|(?:existing|remaining|unchanged|other) (?:code|lines|methods|functions|imports|tests)|(?:code|file) (?:unchanged|as before))\b/i,
  /^\s*(?:\/\/|#|--|\/\*+|<!--)\s*(?:\.{3}|…)\s*(?:\*\/|-->)?\s*$/,
];

export function isElision(line: string): boolean {
  return ELISION.some((pattern) => pattern.test(line));
}

/** Path-labelled fenced blocks the answer presents as whole files. */
export function wholeFileBlocks(answer: string): WholeFileBlock[] {
  const lines = answer.split("\n");
  const blocks: WholeFileBlock[] = [];
  for (const block of fencedBlocks(lines)) {
    const path = namedFile(lines, block.start - 1, block.info);
    if (path === null) continue;
    const above = lines.slice(Math.max(0, block.start - 4), block.start - 1).filter((line) => line.trim() !== "" && !FENCE.test(line.trim()));
    const pathRightAbove = above.length > 0 && PATH_ALONE.test(above[above.length - 1].trim());
    const inInfo = block.info.includes(path);
    if (!pathRightAbove && !inInfo && !above.some((line) => SAYS_WHOLE.test(line))) continue;
    blocks.push({ path, lines: block.lines, line: block.start + 1 });
  }
  return blocks;
}

/** The block as an edit of the file it names, computed against the content the model was shown. */
export function wholeFileEdit(block: WholeFileBlock, shown: string | undefined): PatchFile {
  if (shown === undefined) {
    throw new PatchParseError(`${block.path}: a whole-file block is accepted only for a file the model was shown`);
  }
  const content = block.lines.length === 0 ? "" : block.lines.join("\n") + "\n";
  if (Buffer.byteLength(content, "utf8") > MAX_WHOLE_FILE_BYTES) {
    throw new PatchParseError(`${block.path}: the whole-file block is larger than ${MAX_WHOLE_FILE_BYTES} bytes`);
  }
  const elided = block.lines.find((line) => isElision(line) || line.trim() === "..." || line.trim() === "…");
  if (elided !== undefined) {
    throw new PatchParseError(`${block.path}: the whole-file block leaves code out (${JSON.stringify(elided.trim())}); writing it would delete that code`);
  }
  const originalLines = splitSource(shown).lines.filter((line) => line.text.trim() !== "").length;
  const blockLines = block.lines.filter((line) => line.trim() !== "").length;
  if (originalLines >= 10 && blockLines * 2 < originalLines) {
    throw new PatchParseError(
      `${block.path}: the block has ${blockLines} of the file's ${originalLines} non-blank lines; it looks like an excerpt, not the whole file`,
    );
  }
  return {
    oldPath: block.path,
    newPath: block.path,
    isNew: false,
    isDeleted: false,
    isBinary: false,
    isSymlink: false,
    isSubmodule: false,
    hunks: hunksBetween(shown, content),
  };
}
