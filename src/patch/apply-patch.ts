/**
 * OpenAI's apply_patch ("V4A") format: `*** Begin Patch`, then file sections
 * (`*** Update File:` with an optional `*** Move to:`, `*** Add File:`,
 * `*** Delete File:`), hunks introduced by `@@` with an optional anchor line
 * (a class or function the hunk follows), ` `/`-`/`+` lines, `*** End Patch`.
 * There are no line numbers: hunks are placed by their lines, and the anchor
 * only chooses between places that fit equally well.
 */
import { PatchParseError, type PatchFile, type PatchHunk, type PatchLine } from "./types.js";

const BEGIN = /^\*\*\* Begin Patch\s*$/;
const END = /^\*\*\* End Patch\s*$/;
const FILE_HEADER = /^\*\*\* (Update|Add|Delete) File:\s*(.+?)\s*$/;
const MOVE_TO = /^\*\*\* Move to:\s*(.+?)\s*$/;
const END_OF_FILE = /^\*\*\* End of File\s*$/;

export function hasApplyPatch(text: string): boolean {
  return text.split("\n").some((line) => BEGIN.test(line.trim()) || FILE_HEADER.test(line.trim()));
}

function cleanPath(raw: string): string {
  return raw.replace(/^["'`]|["'`]$/g, "").replace(/^\.\//, "");
}

function newFile(path: string): PatchFile {
  return { oldPath: path, newPath: path, isNew: false, isDeleted: false, isBinary: false, isSymlink: false, isSubmodule: false, hunks: [] };
}

/** The patch's lines, from `*** Begin Patch` (or the first file header) to `*** End Patch`, fence indentation removed. */
function patchLines(text: string): { lines: string[]; offset: number } {
  const all = text.split("\n");
  let start = all.findIndex((line) => BEGIN.test(line.trim()));
  const begun = start >= 0;
  if (!begun) start = all.findIndex((line) => FILE_HEADER.test(line.trim()));
  const indent = all[start].match(/^ */)![0].length;
  const body: string[] = [];
  for (let i = begun ? start + 1 : start; i < all.length; i++) {
    const line = all[i].slice(Math.min(indent, all[i].match(/^ */)![0].length));
    if (END.test(line.trim())) break;
    // A closing fence ends a patch whose End line the model left out. Only an unindented one: " ```" is a context line.
    if (/^(`{3,}|~{3,})\s*$/.test(line)) break;
    body.push(line);
  }
  return { lines: body, offset: (begun ? start + 1 : start) + 1 };
}

export function parseApplyPatch(text: string): PatchFile[] {
  const { lines, offset } = patchLines(text);
  const files: PatchFile[] = [];
  let file: PatchFile | null = null;
  let action: string | null = null;
  let hunk: PatchHunk | null = null;
  let anchor: string | undefined;

  const closeHunk = (): void => {
    if (hunk && file && hunk.lines.length > 0) {
      // Blank lines at the end of a hunk are separators more often than context.
      while (hunk.lines.length > 0 && hunk.lines[hunk.lines.length - 1].kind === " " && hunk.lines[hunk.lines.length - 1].text === "" && action === "Update") {
        hunk.lines.pop();
      }
      if (hunk.lines.some((line) => line.kind !== " ") || action === "Add") file.hunks.push(hunk);
    }
    hunk = null;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const header = line.match(FILE_HEADER);
    if (header) {
      closeHunk();
      action = header[1];
      const path = cleanPath(header[2]);
      file = newFile(path);
      if (action === "Add") {
        file.oldPath = null;
        file.isNew = true;
        hunk = { oldStart: null, lines: [] };
      } else if (action === "Delete") {
        file.newPath = null;
        file.isDeleted = true;
        file.deleteIntent = true;
      }
      files.push(file);
      anchor = undefined;
      continue;
    }
    if (!file) {
      if (line.trim() === "") continue;
      throw new PatchParseError(`line ${offset + i}: expected "*** Update File:", "*** Add File:" or "*** Delete File:", found ${JSON.stringify(line.slice(0, 80))}`);
    }
    const move = line.match(MOVE_TO);
    if (move && action === "Update" && file.hunks.length === 0 && !hunk) {
      file.newPath = cleanPath(move[1]);
      continue;
    }
    if (END_OF_FILE.test(line)) continue;
    if (action === "Delete") {
      if (line.trim() === "") continue;
      throw new PatchParseError(`line ${offset + i}: a Delete File section holds no lines`);
    }
    if (action === "Add") {
      if (line.startsWith("+")) hunk!.lines.push({ kind: "+", text: line.slice(1) });
      else if (line === "") hunk!.lines.push({ kind: "+", text: "" });
      else throw new PatchParseError(`line ${offset + i}: every line of an Add File section starts with "+"`);
      continue;
    }
    if (line.startsWith("@@")) {
      // Consecutive @@ lines narrow the place (class, then method); the innermost is the anchor.
      if (hunk && (hunk as PatchHunk).lines.length > 0) {
        closeHunk();
        anchor = undefined;
      }
      const text = line.replace(/^@@+\s*/, "").replace(/\s*@@+\s*$/, "").trim();
      if (text !== "") anchor = text;
      hunk = { oldStart: null, lines: [], ...(anchor !== undefined ? { anchor } : {}) };
      continue;
    }
    hunk ??= { oldStart: null, lines: [] };
    const kind = line[0];
    if (line === "") hunk.lines.push({ kind: " ", text: "" });
    else if (kind === " " || kind === "-" || kind === "+") hunk.lines.push({ kind: kind as PatchLine["kind"], text: line.slice(1) });
    else throw new PatchParseError(`line ${offset + i}: ${JSON.stringify(line.slice(0, 80))} is not a patch line (it must start with " ", "-" or "+")`);
  }
  closeHunk();
  if (files.length === 0) throw new PatchParseError("an apply_patch block with no file sections");
  for (const f of files) {
    if (!f.isNew && !f.isDeleted && f.hunks.length === 0 && f.oldPath === f.newPath) {
      throw new PatchParseError(`${f.oldPath}: an Update File section with no changes`);
    }
  }
  return files;
}
