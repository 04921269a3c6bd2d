/**
 * The job's reading of a model answer: the files the model was shown (an
 * excerpt marked as such) and the variant's format, into edits or a refusal.
 */
import { extractDiff } from "./extract.js";
import { editFormatOfVariant, readEdits, shownFilesFrom, type EditsRead } from "./read.js";
import { PatchParseError } from "./types.js";

export interface ShownFile {
  path: string;
  truncated: boolean;
}

export type AnswerEdits = { read: EditsRead; diff: string } | { refused: string };

export function readAnswerEdits(
  answer: string,
  shownFiles: ShownFile[],
  contents: Record<string, string | undefined>,
  variant: string | null,
): AnswerEdits {
  const shown = shownFilesFrom(
    Object.fromEntries(shownFiles.map((file) => [file.path, contents[file.path]])),
    shownFiles.filter((file) => file.truncated).map((file) => file.path),
  );
  let read: EditsRead | null;
  try {
    read = readEdits(answer, { shown, hint: editFormatOfVariant(variant) });
  } catch (error) {
    if (error instanceof PatchParseError) return { refused: `patch refused: ${error.message}` };
    throw error;
  }
  if (!read) return { refused: "patch refused: the model proposed no diff or other edits" };
  // Until the edits are applied and rendered as a diff, the answer itself is the record of what was proposed.
  return { read, diff: read.standardDiff ? (extractDiff(answer) ?? answer) : answer };
}
