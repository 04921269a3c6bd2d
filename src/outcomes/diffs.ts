/**
 * Did a person change the fix before it was merged? Two diffs are compared by
 * what they change, file by file: the removed and the added lines, trimmed,
 * in order. Hunk headers, line numbers, context and indentation (the applier
 * may re-indent a retyped hunk) do not count.
 */
import { parsePatch, PatchParseError, type PatchFile } from "../patch/index.js";

export interface FileChanges {
  removed: string[];
  added: string[];
}

function pathOf(file: PatchFile): string {
  return file.newPath ?? file.oldPath ?? "";
}

/** path → the lines it removes and adds, each trimmed; blank-only changes are dropped. */
export function normalisedChanges(diff: string): Map<string, FileChanges> {
  const changes = new Map<string, FileChanges>();
  for (const file of parsePatch(diff)) {
    const entry = changes.get(pathOf(file)) ?? { removed: [], added: [] };
    for (const hunk of file.hunks) {
      for (const line of hunk.lines) {
        const text = line.text.trim();
        if (text === "") continue;
        if (line.kind === "-") entry.removed.push(text);
        else if (line.kind === "+") entry.added.push(text);
      }
    }
    // A rename, mode change or binary file changes the file without lines; mark it so it is compared.
    if (file.hunks.length === 0) entry.added.push(`<${file.isBinary ? "binary" : file.isDeleted ? "deleted" : "changed"} ${pathOf(file)}>`);
    changes.set(pathOf(file), entry);
  }
  return changes;
}

function sameLines(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((line, i) => line === b[i]);
}

/**
 * True when the merged diff changes other files or other lines than the
 * model's diff. A model diff that cannot be parsed any more counts as
 * different; a merged diff that cannot be parsed throws (the caller skips).
 */
export function diffsDiffer(modelDiff: string, mergedDiff: string): boolean {
  const merged = normalisedChanges(mergedDiff);
  let model: Map<string, FileChanges>;
  try {
    model = normalisedChanges(modelDiff);
  } catch (error) {
    if (error instanceof PatchParseError) return true;
    throw error;
  }
  if (model.size !== merged.size) return true;
  for (const [path, changes] of model) {
    const other = merged.get(path);
    if (!other || !sameLines(changes.removed, other.removed) || !sameLines(changes.added, other.added)) return true;
  }
  return false;
}

/**
 * The demonstration for a chat function: what the model should have answered,
 * in the form its prompt asks for (a short explanation, then one diff block),
 * as TensorZero content blocks.
 */
export function demonstrationValue(mergedDiff: string, explanation: string | null): { type: "text"; text: string }[] {
  const diff = mergedDiff.endsWith("\n") ? mergedDiff : `${mergedDiff}\n`;
  const lead = explanation?.trim() ? `${explanation.trim()}\n\n` : "";
  return [{ type: "text", text: `${lead}\`\`\`diff\n${diff}\`\`\`` }];
}
