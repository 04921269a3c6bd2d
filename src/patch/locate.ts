/**
 * Finds where a hunk belongs by its content, not its (often wrong) line
 * numbers. First the hunk's old side (context and removed lines) verbatim;
 * failing that, whitespace-blind and, for hunks of four or more lines, with
 * one context line off (stale, missing from the hunk, or repeated in it).
 * The tolerant level gathers every reading of the hunk and places it only
 * when the cheapest readings all give the same file, when their indentation
 * differences look like a model's drift, and (one line off) when no other
 * place comes within two differences. Otherwise the hunk is refused with the
 * reason, never guessed.
 */
import { leadingWhitespace, matchedIndentPairs, systematicReindent } from "./indent.js";
import { exactKey, looseKey, type SourceLine } from "./lines.js";
import type { PatchHunk, PatchLine } from "./types.js";

export type MatchLevel = "exact" | "whitespace" | "one-line-off";

export type Location =
  | {
      found: true;
      /** First file line of the region the hunk replaces, and how many lines it spans. */
      start: number;
      length: number;
      level: MatchLevel;
      /** For each old-side (context or removed) line of the hunk, the file line it matched; null for a context line the file lacks. */
      fileIndexOf: (number | null)[];
    }
  | { found: false; reason: string };

/** Minimum old-side lines before a hunk may be placed with one line off. */
const MIN_LINES_FOR_FUZZY = 4;
/** A line this long (whitespace aside) that occurs once in the file identifies its place on its own. */
const MIN_DISTINCTIVE_CHARS = 12;
/** A place this many differences away still counts as a rival to the one-line-off match. */
const RIVAL_COST = 2;
const UNREACHABLE = 1_000;

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

/** Starts where all of `wanted` matches line for line. */
function exactStarts(wanted: string[], index: KeyIndex): number[] {
  const [anchor] = rarestAnchors(wanted, index, 1);
  const matches: number[] = [];
  for (const position of index.at(wanted[anchor])) {
    const start = position - anchor;
    if (start < 0 || start + wanted.length > index.keys.length) continue;
    let i = 0;
    while (i < wanted.length && index.keys[start + i] === wanted[i]) i++;
    if (i === wanted.length) matches.push(start);
  }
  return matches.sort((a, b) => a - b);
}

/** One way the hunk's old side lines up with the file from `start`: its cost in differences and which line matched which. */
interface Alignment {
  start: number;
  end: number;
  cost: number;
  fileIndexOf: (number | null)[];
}

/**
 * What may differ at each position of the hunk's old side: only context
 * lines may be stale or extra, and a file line the hunk lacks may only sit
 * between two context lines (beside a removed line it could as well be a
 * removed line the model dropped).
 */
interface Tolerance {
  isContext: boolean[];
  /** gapOpen[i]: the file may hold one line the hunk lacks between old-side lines i-1 and i. */
  gapOpen: boolean[];
}

function toleranceOf(hunk: PatchHunk): Tolerance {
  const isContext: boolean[] = [];
  const gapOpen: boolean[] = [];
  let previousKind: string | null = null;
  for (const line of hunk.lines) {
    if (line.kind === "+") continue;
    const i = isContext.length;
    gapOpen[i] = i > 0 && previousKind === " " && line.kind === " ";
    isContext.push(line.kind === " ");
    previousKind = line.kind;
  }
  return { isContext, gapOpen };
}

/**
 * Cheapest alignment (edit distance over lines, at most `maxCost`) of the
 * hunk's old side with the file starting exactly at `start`: a banded
 * dynamic programme, linear in the hunk's length. Buffers are reused across
 * starts, since one hunk is tried at many.
 */
class Aligner {
  private readonly band: number;
  private readonly width: number;
  private readonly cost: Int32Array;
  private readonly step: Int8Array; // 0 diagonal, 1 hunk line extra, 2 file line extra

  constructor(
    private readonly wanted: string[],
    private readonly keys: string[],
    private readonly tolerance: Tolerance,
    private readonly maxCost: number,
  ) {
    this.band = maxCost;
    this.width = 2 * maxCost + 1;
    this.cost = new Int32Array((wanted.length + 1) * this.width);
    this.step = new Int8Array((wanted.length + 1) * this.width);
  }

  at(start: number): Alignment | null {
    const { wanted, keys, tolerance, maxCost, band, width, cost, step } = this;
    const m = wanted.length;
    const available = keys.length - start;
    cost.fill(UNREACHABLE);
    cost[band] = 0; // cell (0, 0)
    for (let i = 0; i <= m; i++) {
      const rowEnd = Math.min(i + band, available);
      for (let j = Math.max(0, i - band); j <= rowEnd; j++) {
        const here = cost[i * width + j - i + band];
        if (here > maxCost) continue;
        if (i < m) {
          const context = tolerance.isContext[i];
          if (j < available) {
            const same = keys[start + j] === wanted[i];
            // Diagonal: (i+1, j+1) keeps the same offset.
            const at = (i + 1) * width + j - i + band;
            const total = same ? here : here + 1;
            if ((same || context) && total < cost[at]) {
              cost[at] = total;
              step[at] = 0;
            }
          }
          if (context && j - i - 1 >= -band) {
            const at = (i + 1) * width + j - i - 1 + band;
            if (here + 1 < cost[at]) {
              cost[at] = here + 1;
              step[at] = 1;
            }
          }
          if (i > 0 && j < available && tolerance.gapOpen[i] && j + 1 - i <= band) {
            const at = i * width + j + 1 - i + band;
            if (here + 1 < cost[at]) {
              cost[at] = here + 1;
              step[at] = 2;
            }
          }
        }
      }
    }

    const cellCost = (j: number): number => cost[m * width + j - m + band];
    let bestEnd = -1;
    for (let j = Math.max(0, m - band); j <= Math.min(m + band, available); j++) {
      if (cellCost(j) > maxCost) continue;
      if (bestEnd < 0 || cellCost(j) < cellCost(bestEnd) || (cellCost(j) === cellCost(bestEnd) && Math.abs(j - m) < Math.abs(bestEnd - m))) bestEnd = j;
    }
    if (bestEnd < 0) return null;

    const fileIndexOf = new Array<number | null>(m).fill(null);
    let i = m;
    let j = bestEnd;
    while (i > 0 || j > 0) {
      const kind = step[i * width + j - i + band];
      if (kind === 0) fileIndexOf[--i] = start + --j;
      else if (kind === 1) fileIndexOf[--i] = null;
      else j--;
    }
    return { start, end: start + bestEnd, cost: cellCost(bestEnd), fileIndexOf };
  }
}

/**
 * Every alignment at `start` that costs exactly one difference: one stale
 * context line, one context line the file lacks, or one file line the hunk
 * lacks. All of them, not just the cheapest, so that two readings of the same
 * place that would give different files are seen as the ambiguity they are.
 */
function oneOffAlignments(start: number, wanted: string[], keys: string[], tolerance: Tolerance, gapsOnly = false): Alignment[] {
  const m = wanted.length;
  const fileAt = (j: number): string | undefined => (start + j < keys.length ? keys[start + j] : undefined);
  let prefix = 0;
  while (prefix < m && fileAt(prefix) === wanted[prefix]) prefix++;
  // tail(d)[i]: hunk lines i.. match the file from start + i + d on.
  const tail = (d: number): boolean[] => {
    const ok = new Array<boolean>(m + 1).fill(false);
    ok[m] = true;
    for (let i = m - 1; i >= 0 && i + d >= 0; i--) ok[i] = ok[i + 1] && fileAt(i + d) === wanted[i];
    return ok;
  };
  const same = tail(0);
  const hunkLonger = tail(-1);
  const fileLonger = tail(1);
  const mapped = (shiftFrom: number, shift: number, skip: number | null): (number | null)[] =>
    wanted.map((_, k) => (k === skip ? null : start + k + (k >= shiftFrom ? shift : 0)));

  const found: Alignment[] = [];
  for (let i = 0; i <= Math.min(prefix, m - 1); i++) {
    if (tolerance.isContext[i] && !gapsOnly) {
      if (fileAt(i) !== undefined && fileAt(i) !== wanted[i] && same[i + 1]) {
        found.push({ start, end: start + m, cost: 1, fileIndexOf: mapped(m, 0, null) });
      }
      if (hunkLonger[i + 1]) found.push({ start, end: start + m - 1, cost: 1, fileIndexOf: mapped(i + 1, -1, i) });
    }
    if (i > 0 && tolerance.gapOpen[i] && fileLonger[i]) {
      found.push({ start, end: start + m + 1, cost: 1, fileIndexOf: mapped(i, 1, null) });
    }
  }
  return found;
}

/** A piece of the text that replaces a hunk's region: a file line kept, or a line the hunk adds. */
export type RegionPart = { file: number } | { added: string };

/**
 * The replacement for a located hunk's region, in order: file lines for
 * context, added lines, nothing for removed ones. A file line the hunk lacked
 * stays; where the hunk adds lines in the same gap, `lackedLineFirst` says on
 * which side of them it goes (the hunk cannot say, so callers try both).
 */
export function regionParts(
  hunk: PatchHunk,
  start: number,
  length: number,
  fileIndexOf: (number | null)[],
  lackedLineFirst = false,
): RegionPart[] {
  const parts: RegionPart[] = [];
  let next = start;
  let h = 0;
  const keepUpTo = (end: number): void => {
    for (; next < end; next++) parts.push({ file: next });
  };
  const nextMatched = (from: number): number => {
    for (let k = from; k < fileIndexOf.length; k++) if (fileIndexOf[k] !== null) return fileIndexOf[k] as number;
    return start + length;
  };
  for (const line of hunk.lines) {
    if (line.kind === "+") {
      if (lackedLineFirst) keepUpTo(nextMatched(h));
      parts.push({ added: line.text });
      continue;
    }
    const at = fileIndexOf[h++];
    if (at === null) continue;
    keepUpTo(at);
    if (line.kind === " ") parts.push({ file: at });
    next = at + 1;
  }
  keepUpTo(start + length);
  return parts;
}

function regionsOverlap(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start < b.end && b.start < a.end;
}

/** The file text from `from` to `to` after replacing the alignment's region: tells apart alignments that differ only on paper. */
function resultWindow(hunk: PatchHunk, a: Alignment, keys: string[], from: number, to: number, lackedLineFirst: boolean): string {
  const out: string[] = keys.slice(from, a.start);
  for (const part of regionParts(hunk, a.start, a.end - a.start, a.fileIndexOf, lackedLineFirst)) {
    out.push("file" in part ? keys[part.file] : `+${looseKey(part.added)}`);
  }
  out.push(...keys.slice(a.end, to));
  return out.join("\n");
}

function quote(text: string): string {
  const trimmed = text.trim();
  return JSON.stringify(trimmed.length > 80 ? `${trimmed.slice(0, 77)}...` : trimmed);
}

function listLines(starts: number[]): string {
  const shown = starts.slice(0, 5).map((s) => s + 1).join(", ");
  return starts.length > 5 ? `${shown}, ...` : shown;
}

/** Places within `maxCost` differences, found from anchors: such a place matches at least one of any maxCost+1 lines, give or take maxCost positions. */
function nearPlaces(wanted: string[], file: FileIndex, tolerance: Tolerance, maxCost: number): Alignment[] {
  const starts = new Set<number>();
  for (const anchor of rarestAnchors(wanted, file.loose, maxCost + 1)) {
    for (const position of file.loose.at(wanted[anchor])) {
      for (let shift = -maxCost; shift <= maxCost; shift++) {
        const start = position - anchor + shift;
        if (start >= 0 && start < file.lines.length) starts.add(start);
      }
    }
  }
  const aligner = new Aligner(wanted, file.loose.keys, tolerance, maxCost);
  const places: Alignment[] = [];
  for (const start of [...starts].sort((a, b) => a - b)) {
    const alignment = aligner.at(start);
    if (alignment) places.push(alignment);
  }
  return places;
}

/** Indentation width, a tab counted as four columns. */
function indentWidth(text: string): number {
  let width = 0;
  for (const ch of leadingWhitespace(text)) width += ch === "\t" ? 4 : 1;
  return width;
}

/**
 * How many matched lines of a whitespace-blind reading differ in indentation,
 * or null when the differences do not look like a model's drift. Drift is no
 * difference, one rule for every line (a re-indented hunk), or a minority of
 * lines; anything else is most likely the same text at other nesting depths
 * (a run of closing brackets), not this place.
 */
function indentDrift(alignment: Alignment, before: PatchLine[], lines: SourceLine[]): number | null {
  const pairs = matchedIndentPairs(before, alignment.fileIndexOf, lines);
  const drifted = pairs.filter((pair) => indentWidth(pair.hunk) !== indentWidth(pair.file)).length;
  if (drifted === 0 || systematicReindent(pairs) !== null) return 0;
  return drifted * 2 <= pairs.length ? drifted : null;
}

type TolerantResult = { found: true; alignment: Alignment } | { found: false; reason: string } | null;

/**
 * Places the hunk ignoring whitespace and, for hunks long enough, with one
 * context line off. Every reading of the hunk at this level is gathered;
 * the hunk is placed only when the cheapest readings all give the same file,
 * and a one-line-off reading only when no other place comes within two
 * differences.
 */
function locateTolerant(hunk: PatchHunk, before: PatchLine[], file: FileIndex): TolerantResult {
  const wanted = before.map((line) => looseKey(line.text));
  // Removed lines must be in the file at every level; without them there is nothing to search for.
  if (before.some((line, i) => line.kind === "-" && file.loose.at(wanted[i]).length === 0)) return null;
  const keys = file.loose.keys;
  const tolerance = toleranceOf(hunk);
  // A short hunk may be placed one line off only when each of its lines occurs once in the file: then no other place is in question.
  const distinctive = wanted.every((key) => key.length >= MIN_DISTINCTIVE_CHARS && file.loose.at(key).length === 1);
  const oneOffAllowed = (before.length >= MIN_LINES_FOR_FUZZY || (before.length >= 2 && distinctive)) && tolerance.isContext.some(Boolean);
  const places = nearPlaces(wanted, file, tolerance, oneOffAllowed ? RIVAL_COST : 0);

  const readings: Alignment[] = [];
  for (const place of places) {
    if (place.cost === 0) readings.push(place);
    // A short hunk with one of its lines stale or missing from the file would rest on a single line: only a line it lacks is read.
    if (oneOffAllowed && place.cost <= 1) readings.push(...oneOffAlignments(place.start, wanted, keys, tolerance, before.length < MIN_LINES_FOR_FUZZY));
  }
  const plausible = readings.flatMap((reading) => {
    const drift = indentDrift(reading, before, file.lines);
    return drift === null ? [] : [{ ...reading, drift }];
  });
  if (plausible.length === 0) {
    if (readings.length === 0) return null;
    return {
      found: false,
      reason: `the hunk fits line ${readings[0].start + 1} only if indentation is ignored, and its indentation there differs in a way no re-indentation explains`,
    };
  }

  const bestCost = Math.min(...plausible.map((reading) => reading.cost));
  let cheapest = plausible.filter((reading) => reading.cost === bestCost);
  const anchored = anchoredStarts(cheapest.map((reading) => reading.start), hunk.anchor, file);
  if (anchored.length > 0 && anchored.length < new Set(cheapest.map((reading) => reading.start)).size) {
    // The anchor rules out some places; readings of the remaining ones still compete as before.
    cheapest = cheapest.filter((reading) => anchored.includes(reading.start));
  }
  const chosen = cheapest.reduce((best, reading) => (reading.drift < best.drift ? reading : best));
  const elsewhere = cheapest.filter((reading) => !regionsOverlap(reading, chosen));
  if (elsewhere.length > 0) {
    const how = bestCost === 0 ? "ignoring whitespace" : "with one line off";
    const starts = [...new Set([chosen.start, ...elsewhere.map((reading) => reading.start)])];
    return {
      found: false,
      reason: `ambiguous: the hunk's context matches ${starts.length} places (${how}), at lines ${listLines(starts)}; it needs more context to pick one`,
    };
  }

  // Re-indented lines at one place and exact lines with one line off at another are equally likely readings.
  if (chosen.drift > 0) {
    const cleaner = plausible.filter((reading) => reading.cost === bestCost + 1 && reading.drift === 0 && !regionsOverlap(reading, chosen));
    if (cleaner.length > 0) {
      return {
        found: false,
        reason: `ambiguous: the hunk fits line ${chosen.start + 1} if indentation is ignored, and line ${cleaner[0].start + 1} with its indentation but one line off; it needs exact context to pick one`,
      };
    }
  }

  // Other readings of this same place must agree with the chosen one, including both orders of a file line the
  // hunk lacked and lines added beside it, unless the chosen one beats them on cost and indentation alike.
  const rivalsHere = plausible.filter(
    (reading) => regionsOverlap(reading, chosen) && !(chosen.cost <= reading.cost && chosen.drift <= reading.drift && (chosen.cost < reading.cost || chosen.drift < reading.drift)),
  );
  const from = Math.min(chosen.start, ...rivalsHere.map((reading) => reading.start));
  const to = Math.max(chosen.end, ...rivalsHere.map((reading) => reading.end));
  const expected = resultWindow(hunk, chosen, keys, from, to, false);
  const disagree = [chosen, ...rivalsHere].some(
    (reading) => resultWindow(hunk, reading, keys, from, to, false) !== expected || resultWindow(hunk, reading, keys, from, to, true) !== expected,
  );
  if (disagree) {
    return {
      found: false,
      reason: `ambiguous: at line ${chosen.start + 1} the hunk can be read in more than one way (a repeated, missing or extra context line), with different results`,
    };
  }

  if (bestCost > 0) {
    // One entry per rival place: its shifted variants overlap each other.
    // A rival must share at least two lines with the hunk: in a short hunk, two differences leave nothing in common.
    const rivals = places
      .filter((place) => !regionsOverlap(place, chosen) && place.cost <= before.length - 2)
      .filter((place, i, all) => i === 0 || !regionsOverlap(place, all[i - 1]));
    if (rivals.length > 0) {
      return {
        found: false,
        reason:
          `ambiguous: no exact match; the hunk fits line ${chosen.start + 1} with one line off, but also nearly fits line${rivals.length > 1 ? "s" : ""} ` +
          `${listLines(rivals.map((place) => place.start))}; it needs exact context to be applied`,
      };
    }
  }
  return { found: true, alignment: chosen };
}

/** Why a hunk found no place: the most specific explanation available. */
function notFoundReason(hunk: PatchHunk, file: FileIndex): string {
  const after = hunk.lines.filter((line) => line.kind !== "-").map((line) => looseKey(line.text));
  if (after.length > 0 && hunk.lines.some((line) => line.kind === "+")) {
    const applied = exactStarts(after, file.loose);
    if (applied.length === 1) return `the hunk looks already applied: its result is already at line ${applied[0] + 1}`;
  }

  const removed = hunk.lines.find((line) => line.kind === "-" && file.loose.at(looseKey(line.text)).length === 0);
  if (removed) return `a line the hunk removes is not in the file: ${quote(removed.text)}`;

  const before = hunk.lines.filter((line) => line.kind !== "+");
  const wanted = before.map((line) => looseKey(line.text));
  const present = wanted.map((key, i) => ({ key, i })).filter(({ key }) => file.loose.at(key).length > 0);
  const anchors = rarestAnchors(present.map(({ key }) => key), file.loose, 3).map((j) => present[j].i);
  let best: { start: number; matched: number } | null = null;
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

/** An anchor names its line by a prefix (git cuts function context short; "def foo" stands for "def foo(self):"). */
function anchorMatcher(anchor: string): ((key: string) => boolean) | null {
  const wanted = looseKey(anchor);
  if (wanted.length < 3) return null;
  return (key) => key.length > 0 && key.startsWith(wanted);
}

/**
 * Of several places that fit equally well, those the anchor line precedes
 * with no other of the places in between: apply_patch's rule (search on from
 * the anchor) and git's (the function the hunk sits in). The anchor decides
 * between places; it never moves a hunk to a place its lines do not fit.
 */
function anchoredStarts(starts: number[], anchor: string | undefined, file: FileIndex): number[] {
  const matches = anchor === undefined ? null : anchorMatcher(anchor);
  if (!matches) return starts;
  const unique = [...new Set(starts)].sort((a, b) => a - b);
  return unique.filter((start, i) => {
    const previous = i > 0 ? unique[i - 1] : -1;
    for (let line = start; line > previous; line--) if (matches(file.loose.keys[line] ?? "")) return true;
    return false;
  });
}

function identity(start: number, length: number): number[] {
  return Array.from({ length }, (_, i) => start + i);
}

export function locateHunk(hunk: PatchHunk, file: FileIndex): Location {
  const before = hunk.lines.filter((line) => line.kind !== "+");
  if (before.length === 0) {
    if (file.lines.length === 0) return { found: true, start: 0, length: 0, level: "exact", fileIndexOf: [] };
    if (hunk.pinnedAt !== undefined && hunk.pinnedAt <= file.lines.length) return { found: true, start: hunk.pinnedAt, length: 0, level: "exact", fileIndexOf: [] };
    return { found: false, reason: "the hunk only adds lines and has no context to place it by" };
  }

  const exact = exactStarts(before.map((line) => exactKey(line.text)), file.exact);
  if (hunk.pinnedAt !== undefined && exact.includes(hunk.pinnedAt)) {
    return { found: true, start: hunk.pinnedAt, length: before.length, level: "exact", fileIndexOf: identity(hunk.pinnedAt, before.length) };
  }
  if (exact.length === 1) {
    return { found: true, start: exact[0], length: before.length, level: "exact", fileIndexOf: identity(exact[0], before.length) };
  }
  const anchored = exact.length > 1 ? anchoredStarts(exact, hunk.anchor, file) : exact;
  if (anchored.length === 1) {
    return { found: true, start: anchored[0], length: before.length, level: "exact", fileIndexOf: identity(anchored[0], before.length) };
  }
  if (exact.length > 1) {
    return {
      found: false,
      reason: `ambiguous: the hunk's context matches ${exact.length} places, at lines ${listLines(exact)}; it needs more context to pick one`,
    };
  }

  const tolerant = locateTolerant(hunk, before, file);
  if (tolerant?.found) {
    const { start, end, cost, fileIndexOf } = tolerant.alignment;
    return { found: true, start, length: end - start, level: cost === 0 ? "whitespace" : "one-line-off", fileIndexOf };
  }
  if (tolerant) return tolerant;
  return { found: false, reason: notFoundReason(hunk, file) };
}
