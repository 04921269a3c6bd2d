/**
 * Reads the edits in a model's answer, whatever shape the model wrote them
 * in — a unified diff (with or without line numbers or file names),
 * OpenAI's apply_patch, SEARCH/REPLACE blocks or whole files — into the one
 * representation the safety rules and the applier work on (PatchFile[]).
 * Every format is converted before any rule runs, so the same rules apply
 * to all of them.
 */
import { applyPatch } from "./apply.js";
import { hasApplyPatch, parseApplyPatch } from "./apply-patch.js";
import { extractDiff, fencedBlocks } from "./extract.js";
import { parsePatchAllowingUnnamed, UNNAMED_PATH } from "./parse.js";
import { hasSearchReplaceBlocks, parseSearchReplace } from "./search-replace.js";
import { PatchParseError, type PatchFile } from "./types.js";
import { isElision, wholeFileBlocks, wholeFileEdit } from "./whole-file.js";

export const EDIT_FORMATS = ["unified-diff", "apply-patch", "search-replace", "whole-file"] as const;
export type EditFormat = (typeof EDIT_FORMATS)[number];

const FORMAT_NAMES: Record<EditFormat, string> = {
  "unified-diff": "unified diff",
  "apply-patch": "apply_patch (V4A)",
  "search-replace": "SEARCH/REPLACE blocks",
  "whole-file": "whole file",
};

/** The files the model was shown (or, for `fixloop apply --dir`, the text files found there): hunks without a file name are matched against them. */
export interface ShownFiles {
  paths(): string[];
  read(path: string): string | undefined;
  /** The model saw only part of this file: a whole-file answer for it would drop the rest. */
  partial?(path: string): boolean;
}

/** Shown files from path → full content; `partial` lists those the model saw only an excerpt of. */
export function shownFilesFrom(files: Record<string, string | undefined>, partial: Iterable<string> = []): ShownFiles {
  const excerpts = new Set(partial);
  return {
    paths: () => Object.keys(files).filter((path) => files[path] !== undefined),
    read: (path) => files[path],
    partial: (path) => excerpts.has(path),
  };
}

export interface ReadEditsOptions {
  shown?: ShownFiles;
  /** The format the variant asked for: tried first when the answer holds more than one shape. */
  hint?: EditFormat | null;
}

export interface EditsRead {
  format: EditFormat;
  /** What was recognised, for people: "unified diff (hunks without line numbers; file found by content: src/x.ts)". */
  description: string;
  files: PatchFile[];
  /** The answer holds a standard diff (numbers, file names) that can be kept as written; otherwise render the applied changes. */
  standardDiff: boolean;
}

/**
 * The format a TensorZero variant asks for, from its name: the variant is
 * the experiment's unit, so its name carries the format (…_search_replace_v2).
 */
export function editFormatOfVariant(variant: string | null | undefined): EditFormat | null {
  if (!variant) return null;
  if (/(?:^|_)search_replace(?:_|$)/.test(variant)) return "search-replace";
  if (/(?:^|_)apply_patch(?:_|$)/.test(variant)) return "apply-patch";
  if (/(?:^|_)whole_file(?:_|$)/.test(variant)) return "whole-file";
  return "unified-diff";
}

const DETECTORS: Record<EditFormat, (answer: string) => boolean> = {
  "apply-patch": hasApplyPatch,
  "search-replace": hasSearchReplaceBlocks,
  "unified-diff": (answer) => extractDiff(answer) !== null,
  "whole-file": (answer) => wholeFileBlocks(answer).length > 0,
};
/** Most specific markers first: an apply_patch or SEARCH/REPLACE answer can hold lines that look like hunks. */
const DEFAULT_ORDER: EditFormat[] = ["apply-patch", "search-replace", "unified-diff", "whole-file"];

/** The answer's prose: every line outside fenced blocks. */
function proseOf(answer: string): string {
  const lines = answer.split("\n");
  const inside = new Set<number>();
  for (const block of fencedBlocks(lines)) for (let i = block.start - 1; i <= block.start + block.lines.length; i++) inside.add(i);
  return lines.filter((_, i) => !inside.has(i)).join("\n");
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The prose says the file goes away: a sentence with a deletion word that names the file. */
export function proseDeletes(prose: string, path: string): boolean {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const names = new RegExp(`(?:^|[\\s\`'"*(/])(?:${escape(path)}|${escape(base)})(?=$|[\\s\`'"*),:;.!?])`);
  return prose
    .split(/(?<=[.!?])\s+|\n/)
    .some((sentence) => names.test(sentence) && /\b(?:delet\w*|remov\w*|drop\w*|get rid of|no longer (?:needed|used)|obsolete|unused)\b/i.test(sentence));
}

function parseFormat(format: EditFormat, answer: string, shown: ShownFiles | undefined): PatchFile[] {
  switch (format) {
    case "apply-patch":
      return parseApplyPatch(answer);
    case "search-replace":
      return parseSearchReplace(answer);
    case "unified-diff":
      return parsePatchAllowingUnnamed(extractDiff(answer)!);
    case "whole-file":
      return wholeFileBlocks(answer).map((block) => {
        if (shown?.partial?.(block.path)) {
          throw new PatchParseError(`${block.path}: a whole-file block for a file the model saw only an excerpt of would drop the rest`);
        }
        return wholeFileEdit(block, shown?.read(block.path));
      });
  }
}

/** Cheap test before trying the hunks: every removed line and the longest context line occur in the text. */
function mightFit(file: PatchFile, content: string): boolean {
  for (const hunk of file.hunks) {
    const old = hunk.lines.filter((line) => line.kind !== "+" && line.text.trim() !== "");
    if (old.some((line) => line.kind === "-" && !content.includes(line.text.trim()))) return false;
    const longest = old.reduce<string>((best, line) => (line.text.trim().length > best.length ? line.text.trim() : best), "");
    if (longest !== "" && !content.includes(longest)) return false;
  }
  return true;
}

function listed(paths: string[]): string {
  const shown = paths.slice(0, 8).join(", ");
  return paths.length > 8 ? `${shown} and ${paths.length - 8} more` : shown;
}

/** Gives hunks that name no file the one shown file every hunk fits; refuses, naming the candidates, when none or several do. */
function resolveUnnamed(files: PatchFile[], shown: ShownFiles | undefined, notes: string[]): PatchFile[] {
  return files.map((file) => {
    if (file.oldPath !== UNNAMED_PATH && file.newPath !== UNNAMED_PATH) return file;
    if (!shown) throw new PatchParseError("hunks without a file name (no ---/+++ or diff --git header) and no files to match them against");
    const candidates = shown.paths();
    const fits = candidates.filter((path) => {
      const content = shown.read(path);
      if (content === undefined || !mightFit(file, content)) return false;
      return applyPatch([{ ...file, oldPath: path, newPath: path }], { [path]: content }).ok;
    });
    if (fits.length === 1) {
      notes.push(`file found by content: ${fits[0]}`);
      return { ...file, oldPath: fits[0], newPath: fits[0] };
    }
    if (fits.length === 0) {
      throw new PatchParseError(`hunks without a file name fit none of the ${candidates.length} file(s) they could belong to (${listed(candidates)}); name the file`);
    }
    throw new PatchParseError(`ambiguous: hunks without a file name fit ${fits.length} files (${listed(fits)}); name the file`);
  });
}

/** Added lines that stand for code the model did not write out: applying them would delete that code. */
function refuseElisions(files: PatchFile[]): void {
  for (const file of files) {
    for (const hunk of file.hunks) {
      const kept = new Set(hunk.lines.filter((line) => line.kind !== "+").map((line) => line.text.trim()));
      const elided = hunk.lines.find((line) => line.kind === "+" && isElision(line.text) && !kept.has(line.text.trim()));
      if (elided) {
        throw new PatchParseError(
          `${file.newPath ?? file.oldPath}: an added line stands for code left out (${JSON.stringify(elided.text.trim())}); applying it would delete that code`,
        );
      }
    }
  }
}

/**
 * The edits in a model's answer, or null when it holds none in any format.
 * Throws PatchParseError (with a reason a person can act on) when the answer
 * holds edits that cannot be read safely.
 */
export function readEdits(answer: string, options: ReadEditsOptions = {}): EditsRead | null {
  const text = answer.replace(/\r+(?=\n|$)/g, "");
  const order = options.hint ? [options.hint, ...DEFAULT_ORDER.filter((format) => format !== options.hint)] : DEFAULT_ORDER;
  let firstError: PatchParseError | null = null;
  for (const format of order) {
    if (!DETECTORS[format](text)) continue;
    let files: PatchFile[];
    const notes: string[] = [];
    try {
      files = resolveUnnamed(parseFormat(format, text, options.shown), options.shown, notes);
      refuseElisions(files);
    } catch (error) {
      if (!(error instanceof PatchParseError)) throw error;
      firstError ??= error;
      continue;
    }
    const prose = proseOf(text);
    for (const file of files) {
      const path = file.oldPath;
      if (path !== null && !file.isDeleted && file.hunks.every((hunk) => hunk.lines.every((line) => line.kind === "-")) && proseDeletes(prose, path)) {
        file.deleteIntent = true;
      }
    }
    if (format === "unified-diff" && files.some((file) => file.hunks.some((hunk) => hunk.oldStart === null))) notes.unshift("hunks without line numbers");
    const description = notes.length > 0 ? `${FORMAT_NAMES[format]} (${notes.join("; ")})` : FORMAT_NAMES[format];
    return { format, description, files, standardDiff: format === "unified-diff" && notes.length === 0 };
  }
  if (firstError) throw firstError;
  return null;
}
