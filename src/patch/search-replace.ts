/**
 * SEARCH/REPLACE blocks as Aider's "diff" and "diff-fenced" edit formats
 * write them: a path line (before the fence, inside it, or in its info
 * string), then `<<<<<<< SEARCH`, the text to find, `=======`, its
 * replacement, `>>>>>>> REPLACE`. Each block becomes one hunk whose old side
 * is the SEARCH text, so it is placed by the same rules as a diff's hunk: it
 * must fit exactly one place.
 */
import { hunkFromReplacement } from "./hunks.js";
import { PatchParseError, type PatchFile } from "./types.js";

const SEARCH = /^\s{0,3}<{5,9}\s*SEARCH\s*$/;
const DIVIDER = /^\s{0,3}={5,9}\s*$/;
const REPLACE = /^\s{0,3}>{5,9}\s*REPLACE\s*$/;
const FENCE = /^\s{0,3}(`{3,}|~{3,})(.*)$/;
/** A path as a line of its own may be wrapped in backticks or bold, or follow "File:" or a heading mark. */
const PATH_LINE = /^(?:#{1,6}\s*)?(?:(?:file|path|filename)\s*:\s*)?[`*"']*((?:\.\/)?[\w@.+-]+(?:\/[\w@.+-]+)*\.?[\w-]*)[`*"':]*$/i;
const LOOKS_LIKE_PATH = /[./]/;

export function hasSearchReplaceBlocks(text: string): boolean {
  return text.split("\n").some((line) => SEARCH.test(line));
}

function pathOf(line: string): string | null {
  const match = line.trim().match(PATH_LINE);
  if (!match || !LOOKS_LIKE_PATH.test(match[1])) return null;
  return match[1].replace(/^\.\//, "");
}

/** The path a block belongs to: the nearest path line (or fence info naming one) above it, past the fence that holds it. */
function pathAbove(lines: string[], searchLine: number, since: number): string | null {
  for (let i = searchLine - 1, looked = 0; i >= since && looked < 3; i--) {
    const line = lines[i].trim();
    if (line === "") continue;
    const fence = line.match(FENCE);
    if (fence) {
      const fromInfo = fence[2].trim().split(/\s+/).map(pathOf).find((path) => path !== null);
      if (fromInfo) return fromInfo;
      continue;
    }
    looked++;
    const path = pathOf(line);
    if (path) return path;
  }
  return null;
}

/** Reads every block; blocks of one path become hunks of one file, in order. */
export function parseSearchReplace(text: string): PatchFile[] {
  const lines = text.split("\n");
  const files = new Map<string, PatchFile>();
  let lastPath: string | null = null;
  let searchedUpTo = 0;
  for (let i = 0; i < lines.length; i++) {
    if (!SEARCH.test(lines[i])) continue;
    const path: string | null = pathAbove(lines, i, searchedUpTo) ?? lastPath;
    if (path === null) throw new PatchParseError(`line ${i + 1}: a SEARCH/REPLACE block without a file path before it`);
    const divider = lines.findIndex((line, j) => j > i && DIVIDER.test(line));
    const end = divider < 0 ? -1 : lines.findIndex((line, j) => j > divider && REPLACE.test(line));
    if (divider < 0 || end < 0) throw new PatchParseError(`line ${i + 1}: a SEARCH block without its ======= and >>>>>>> REPLACE lines`);
    const nested = lines.slice(i + 1, end).findIndex((line) => SEARCH.test(line));
    if (nested >= 0) throw new PatchParseError(`line ${i + 2 + nested}: a SEARCH block starts inside another one`);
    const search = lines.slice(i + 1, divider);
    const replace = lines.slice(divider + 1, end);
    let file = files.get(path);
    if (!file) {
      file = { oldPath: path, newPath: path, isNew: false, isDeleted: false, isBinary: false, isSymlink: false, isSubmodule: false, hunks: [] };
      files.set(path, file);
    }
    file.hunks.push(hunkFromReplacement(search, replace));
    lastPath = path;
    searchedUpTo = end + 1;
    i = end;
  }
  if (files.size === 0) throw new PatchParseError("no SEARCH/REPLACE block found");
  return [...files.values()];
}
