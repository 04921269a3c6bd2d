/**
 * When a model retypes a whole hunk with different indentation (tabs as
 * spaces, two spaces for four, everything shifted), its added lines carry the
 * same mistake; in Python or YAML that changes meaning. If every matched line
 * of a hunk differs from the file by one consistent rule, the added lines are
 * re-indented by that rule. Scattered drift on some lines only is left alone:
 * there the added lines are most likely right already.
 */

import { looseKey, type SourceLine } from "./lines.js";
import type { PatchLine } from "./types.js";

export interface IndentPair {
  /** Leading whitespace of the line as the hunk has it. */
  hunk: string;
  /** Leading whitespace of the file line it matched. */
  file: string;
}

/** Maps the indentation of an added line to the file's convention. */
export type Reindent = (indent: string) => string;

export function leadingWhitespace(text: string): string {
  return text.match(/^[ \t]*/)![0];
}

const isSpaces = (indent: string): boolean => /^ *$/.test(indent);
const isTabs = (indent: string): boolean => /^\t*$/.test(indent);

/** One number shared by every pair, or null. */
function common(values: number[]): number | null {
  return values.every((value) => value === values[0]) ? values[0] : null;
}

/** The rule that turns every pair's hunk indentation into the file's, or null when there is none (or nothing to do). */
export function systematicReindent(allPairs: IndentPair[]): Reindent | null {
  // Unindented lines on both sides fit scaling and tab rules alike; they only rule out a shift.
  const pairs = allPairs.filter((pair) => pair.hunk !== "" || pair.file !== "");
  const hasUnindented = pairs.length < allPairs.length;
  if (pairs.length === 0 || pairs.some((pair) => pair.hunk === pair.file)) return null;

  if (pairs.every((pair) => isSpaces(pair.hunk) && isSpaces(pair.file))) {
    const shift = hasUnindented ? null : common(pairs.map((pair) => pair.file.length - pair.hunk.length));
    if (shift !== null) {
      return (indent) => (isSpaces(indent) ? " ".repeat(Math.max(0, indent.length + shift)) : indent);
    }
    if (pairs.every((pair) => pair.hunk.length > 0)) {
      const ratio = common(pairs.map((pair) => pair.file.length / pair.hunk.length));
      if (ratio !== null) {
        return (indent) => (isSpaces(indent) && Number.isInteger(indent.length * ratio) ? " ".repeat(indent.length * ratio) : indent);
      }
    }
    return null;
  }

  if (pairs.every((pair) => isSpaces(pair.hunk) && isTabs(pair.file) && pair.file.length > 0)) {
    const width = common(pairs.map((pair) => pair.hunk.length / pair.file.length));
    if (width !== null && Number.isInteger(width) && width > 0) {
      return (indent) => (isSpaces(indent) ? "\t".repeat(Math.floor(indent.length / width)) + " ".repeat(indent.length % width) : indent);
    }
    return null;
  }

  if (pairs.every((pair) => isTabs(pair.hunk) && pair.hunk.length > 0 && isSpaces(pair.file))) {
    const width = common(pairs.map((pair) => pair.file.length / pair.hunk.length));
    if (width !== null && Number.isInteger(width) && width > 0) {
      return (indent) => (isTabs(indent) ? " ".repeat(indent.length * width) : indent);
    }
  }
  return null;
}

/**
 * Indentation of each old-side hunk line beside the file line it matched.
 * Blank lines say nothing about indentation, and a stale line is not the same
 * line, so both are left out.
 */
export function matchedIndentPairs(oldSide: PatchLine[], fileIndexOf: (number | null)[], lines: SourceLine[]): IndentPair[] {
  const pairs: IndentPair[] = [];
  oldSide.forEach((line, k) => {
    const at = fileIndexOf[k];
    if (at === null || line.text.trim() === "" || looseKey(line.text) !== looseKey(lines[at].text)) return;
    pairs.push({ hunk: leadingWhitespace(line.text), file: leadingWhitespace(lines[at].text) });
  });
  return pairs;
}
