/**
 * Finds where a hunk belongs by its content, not its (often wrong) line
 * numbers. Three levels, each tried only when the stricter one finds nothing:
 * exact text, text ignoring whitespace, and text ignoring whitespace with one
 * stale context line. A level that finds several places is ambiguous and
 * stops the search: the hunk is refused rather than guessed.
 */
import { exactKey, looseKey, type SourceLine } from "./lines.js";
import type { PatchHunk } from "./types.js";

export type MatchLevel = "exact" | "whitespace" | "stale-context";

export type Location =
  | { found: true; start: number; length: number; level: MatchLevel }
  | { found: false; reason: string };

/** Minimum lines a hunk's old side needs before one of its context lines may be stale. */
const MIN_LINES_FOR_STALE = 4;

/** Line positions by key, built once per file and kind of key. */
class KeyIndex {
  readonly keys: string[];
  private readonly positions = new Map<string, number[]>();

  constructor(lines: SourceLine[], key: (text: string) => string) {
    this.keys = lines.map((line) => key(line.text));
    this.keys.forEach((k, i) => {
      const list = this.positions.get(k);
      if (list) list.push(i);
      else this.positions.set(k, [i]);
    });
  }

  at(key: string): number[] {
    return this.positions.get(key) ?? [];
  }
}

/** The file being patched, with its indexes built on first use. */
export class FileIndex {
  private exactIndex: KeyIndex | null = null;
  private looseIndex: KeyIndex | null = null;

  constructor(readonly lines: SourceLine[]) {}

  get exact(): KeyIndex {
    return (this.exactIndex ??= new KeyIndex(this.lines, exactKey));
  }

  get loose(): KeyIndex {
    return (this.looseIndex ??= new KeyIndex(this.lines, looseKey));
  }
}

/** Indexes (into `wanted`) of the `count` keys that occur least often in the file: the cheapest anchors. */
function rarestAnchors(wanted: string[], index: KeyIndex, count: number): number[] {
  return wanted
    .map((key, i) => ({ i, n: index.at(key).length }))
    .sort((a, b) => a.n - b.n || a.i - b.i)
    .slice(0, count)
    .map((anchor) => anchor.i);
}

/** Starts where all of `wanted` matches, allowing up to `allowedMisses` misses on lines `mayMiss` permits. */
function matchStarts(
  wanted: string[],
  index: KeyIndex,
  allowedMisses: number,
  mayMiss: (i: number) => boolean,
): number[] {
  const fileLength = index.keys.length;
  const starts = new Set<number>();
  // Any match with at most k misses matches at one of k+1 distinct lines, so k+1 anchors find every candidate.
  for (const anchor of rarestAnchors(wanted, index, allowedMisses + 1)) {
    for (const position of index.at(wanted[anchor])) {
      const start = position - anchor;
      if (start >= 0 && start + wanted.length <= fileLength) starts.add(start);
    }
  }
  const matches: number[] = [];
  for (const start of [...starts].sort((a, b) => a - b)) {
    let misses = 0;
    for (let i = 0; i < wanted.length && misses <= allowedMisses; i++) {
      if (index.keys[start + i] !== wanted[i] && (!mayMiss(i) || ++misses > allowedMisses)) misses = allowedMisses + 1;
    }
    if (misses <= allowedMisses) matches.push(start);
  }
  return matches;
}

function quote(text: string): string {
  const trimmed = text.trim();
  return JSON.stringify(trimmed.length > 80 ? `${trimmed.slice(0, 77)}...` : trimmed);
}

function listLines(starts: number[]): string {
  const shown = starts.slice(0, 5).map((s) => s + 1).join(", ");
  return starts.length > 5 ? `${shown}, ...` : shown;
}

/** Why a hunk found no place: the most specific explanation available. */
function notFoundReason(hunk: PatchHunk, file: FileIndex): string {
  const after = hunk.lines.filter((line) => line.kind !== "-").map((line) => looseKey(line.text));
  if (after.length > 0 && hunk.lines.some((line) => line.kind === "+")) {
    const applied = matchStarts(after, file.loose, 0, () => false);
    if (applied.length === 1) return `the hunk looks already applied: its result is already at line ${applied[0] + 1}`;
  }

  const removed = hunk.lines.find((line) => line.kind === "-" && file.loose.at(looseKey(line.text)).length === 0);
  if (removed) return `a line the hunk removes is not in the file: ${quote(removed.text)}`;

  const before = hunk.lines.filter((line) => line.kind !== "+");
  const wanted = before.map((line) => looseKey(line.text));
  let best: { start: number; matched: number } | null = null;
  const present = wanted.map((key, i) => ({ key, i })).filter(({ key }) => file.loose.at(key).length > 0);
  const anchors = rarestAnchors(present.map(({ key }) => key), file.loose, 3).map((j) => present[j].i);
  for (const anchor of anchors) {
    for (const position of file.loose.at(wanted[anchor])) {
      const start = position - anchor;
      if (start < 0 || start + wanted.length > file.lines.length) continue;
      let matched = 0;
      for (let i = 0; i < wanted.length; i++) if (file.loose.keys[start + i] === wanted[i]) matched++;
      if (!best || matched > best.matched) best = { start, matched };
    }
  }
  if (best && best.matched * 2 >= wanted.length) {
    const differing = before.findIndex((_, i) => file.loose.keys[best.start + i] !== wanted[i]);
    return (
      `context not found; the closest place, line ${best.start + 1}, differs in ${wanted.length - best.matched} of ${wanted.length} lines ` +
      `(file has ${quote(file.lines[best.start + differing].text)} where the hunk expects ${quote(before[differing].text)})`
    );
  }
  return "context not found: the hunk's context and removed lines do not appear together in the file";
}

export function locateHunk(hunk: PatchHunk, file: FileIndex): Location {
  const before = hunk.lines.filter((line) => line.kind !== "+");
  if (before.length === 0) {
    if (file.lines.length === 0) return { found: true, start: 0, length: 0, level: "exact" };
    return { found: false, reason: "the hunk only adds lines and has no context to place it by" };
  }

  const isContext = (i: number): boolean => before[i].kind === " ";
  const levels: { level: MatchLevel; index: KeyIndex; wanted: string[]; misses: number }[] = [
    { level: "exact", index: file.exact, wanted: before.map((line) => exactKey(line.text)), misses: 0 },
    { level: "whitespace", index: file.loose, wanted: before.map((line) => looseKey(line.text)), misses: 0 },
  ];
  if (before.length >= MIN_LINES_FOR_STALE && before.some((line) => line.kind === " ")) {
    levels.push({ level: "stale-context", index: file.loose, wanted: levels[1].wanted, misses: 1 });
  }

  for (const { level, index, wanted, misses } of levels) {
    const starts = matchStarts(wanted, index, misses, isContext);
    if (starts.length === 1) return { found: true, start: starts[0], length: before.length, level };
    if (starts.length > 1) {
      const how = level === "exact" ? "" : level === "whitespace" ? " (ignoring whitespace)" : " (allowing one stale context line)";
      return {
        found: false,
        reason: `ambiguous: the hunk's context matches ${starts.length} places${how}, at lines ${listLines(starts)}; it needs more context to pick one`,
      };
    }
  }
  return { found: false, reason: notFoundReason(hunk, file) };
}
