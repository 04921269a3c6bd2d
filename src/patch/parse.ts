/**
 * Tolerant unified-diff parsing. Model diffs break the rules a strict parser
 * relies on (hunk counts, line numbers, file headers, CRLF), so a first pass
 * reads the text leniently and re-renders it as a canonical diff with counts
 * recomputed from the hunk bodies; parse-diff then parses that canonical text.
 */
import parseDiff from "parse-diff";
import { PatchParseError, type PatchFile, type PatchHunk, type PatchLine } from "./types.js";

export interface ParsePatchOptions {
  /** File the hunks belong to when the diff names none (hunks only, file named elsewhere). */
  defaultPath?: string;
}

/**
 * Path given to hunks that name no file when the caller resolves them later
 * (readEdits: the one shown file every hunk fits). Never a real path: it holds a NUL.
 */
export const UNNAMED_PATH = "\u0000unnamed";

interface RawHunk {
  headerLine: number;
  /** Text after the numbers of the @@ line (git's function context, or a V4A-style anchor). */
  anchor: string | null;
  oldStart: number | null;
  oldCount: number | null;
  newCount: number | null;
  lines: PatchLine[];
  /** How many of the trailing lines are blank lines read as context; they may be separators instead. */
  trailingBlanks: number;
  oldNoNewlineAtEnd: boolean;
  newNoNewlineAtEnd: boolean;
}

interface RawSection {
  startLine: number;
  gitOld: string | null;
  gitNew: string | null;
  indexName: string | null;
  oldName: string | null;
  newName: string | null;
  renameFrom: string | null;
  renameTo: string | null;
  isNew: boolean;
  isDeleted: boolean;
  isBinary: boolean;
  isSymlink: boolean;
  isSubmodule: boolean;
  hunks: RawHunk[];
}

/** A numbered (or partly numbered, or bare) @@ line; anything after the closing @@ is git's function context. */
const HUNK_HEADER = /^@@+\s*(?:-(\d+)(?:,(\d+))?)?\s*(?:\+(\d+)(?:,(\d+))?)?\s*(?:@@+\s?(.*))?$/;
/** `@@ ... @@`, `@@ function header @@`, `@@ anchor`: no numbers, only text to find the place by. */
const TEXT_HUNK_HEADER = /^@@+(?!@)(?!\s*[-+]\d)\s*(.*?)\s*(?:@@+\s*)?$/;
/** Header text that carries no anchor: an ellipsis, or nothing. */
const NO_ANCHOR = /^(?:\.{2,}|…|)$/;

interface HunkHeader {
  oldStart: number | null;
  oldCount: number | null;
  newCount: number | null;
  anchor: string | null;
}

/** Reads an @@ line: numbered, bare, or with text only; null when it looks numbered but is not readable (a combined diff's @@@). */
export function readHunkHeader(line: string): HunkHeader | null {
  const numbered = line.match(HUNK_HEADER);
  if (numbered) {
    const anchor = numbered[5]?.trim() ?? "";
    return {
      oldStart: numbered[1] === undefined ? null : Number(numbered[1]),
      oldCount: numbered[1] === undefined ? null : numbered[2] === undefined ? 1 : Number(numbered[2]),
      newCount: numbered[3] === undefined ? null : numbered[4] === undefined ? 1 : Number(numbered[4]),
      anchor: NO_ANCHOR.test(anchor) ? null : anchor,
    };
  }
  const text = line.match(TEXT_HUNK_HEADER);
  if (!text) return null;
  const anchor = text[1].trim();
  return { oldStart: null, oldCount: null, newCount: null, anchor: NO_ANCHOR.test(anchor) ? null : anchor };
}
const SYMLINK_MODE = "120000";
/** A gitlink: the entry is another repository's commit, not a file. */
const SUBMODULE_MODE = "160000";
const DEV_NULL = "/dev/null";

function newSection(startLine: number): RawSection {
  return {
    startLine,
    gitOld: null,
    gitNew: null,
    indexName: null,
    oldName: null,
    newName: null,
    renameFrom: null,
    renameTo: null,
    isNew: false,
    isDeleted: false,
    isBinary: false,
    isSymlink: false,
    isSubmodule: false,
    hunks: [],
  };
}

function isHunkHeader(line: string | undefined): boolean {
  return line !== undefined && line.startsWith("@@") && readHunkHeader(line) !== null;
}

function isBodyLine(line: string): boolean {
  return line === "" || line[0] === " " || line[0] === "+" || line[0] === "-" || line[0] === "\\";
}

/** `diff --git …`, `diff -u …` and svn's `Index: …` open a file section; prose starting with "diff" does not. */
function startsSection(line: string): boolean {
  return line.startsWith("diff --git ") || /^diff\s+-/.test(line) || line.startsWith("Index: ");
}

function isHeaderPair(lines: string[], i: number): boolean {
  return lines[i].startsWith("--- ") && (lines[i + 1]?.startsWith("+++ ") ?? false);
}

/** Undo git's C-style quoting of a path ("a/with space\t.txt"). */
function unquote(name: string): string {
  if (!(name.length >= 2 && name.startsWith('"') && name.endsWith('"'))) return name;
  const body = name.slice(1, -1);
  const bytes: number[] = [];
  const escapes: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, "\\": 92, '"': 34 };
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch !== "\\") {
      bytes.push(...Buffer.from(ch, "utf8"));
      continue;
    }
    const next = body[i + 1] ?? "";
    if (/[0-7]/.test(next)) {
      const octal = body.slice(i + 1, i + 4).match(/^[0-7]{1,3}/)![0];
      bytes.push(parseInt(octal, 8));
      i += octal.length;
    } else {
      bytes.push(escapes[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

const TRAILING_TIMESTAMP = /\s+\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:\s*(?:[+-]\d{4}|Z|UTC))?$/;

/** The name on a ---/+++ line: quotes undone, tab-separated or trailing timestamps cut. */
function headerName(rest: string): string {
  let name = rest.trim();
  const quoted = name.match(/^"(?:[^"\\]|\\.)*"/);
  if (quoted) return unquote(quoted[0]);
  const tab = name.indexOf("\t");
  if (tab >= 0) name = name.slice(0, tab);
  return name.replace(TRAILING_TIMESTAMP, "").trim();
}

/** Both names of a `diff --git A B` line; git writes them symmetrically, which is how spaces are resolved. */
function gitLineNames(rest: string): [string, string] | null {
  const text = rest.trim();
  const quoted = text.match(/^("(?:[^"\\]|\\.)*"|\S+)\s+("(?:[^"\\]|\\.)*")$|^("(?:[^"\\]|\\.)*")\s+(\S.*)$/);
  if (quoted) {
    const first = quoted[1] ?? quoted[3];
    const second = quoted[2] ?? quoted[4];
    return [unquote(first), unquote(second)];
  }
  for (let at = text.indexOf(" b/"); at >= 0; at = text.indexOf(" b/", at + 1)) {
    const left = text.slice(0, at);
    const right = text.slice(at + 1);
    if (left.startsWith("a/") && left.slice(2) === right.slice(2)) return [left, right];
  }
  const middle = (text.length - 1) / 2;
  if (Number.isInteger(middle) && text[middle] === " " && text.slice(0, middle) === text.slice(middle + 1)) {
    return [text.slice(0, middle), text.slice(middle + 1)];
  }
  const parts = text.split(/\s+/);
  return parts.length === 2 ? [parts[0], parts[1]] : null;
}

function countSides(lines: PatchLine[]): { old: number; new: number } {
  let oldCount = 0;
  let newCount = 0;
  for (const line of lines) {
    if (line.kind !== "+") oldCount++;
    if (line.kind !== "-") newCount++;
  }
  return { old: oldCount, new: newCount };
}

function countsSatisfied(hunk: RawHunk): boolean {
  if (hunk.oldCount === null || hunk.newCount === null) return false;
  const seen = countSides(hunk.lines);
  return seen.old >= hunk.oldCount && seen.new >= hunk.newCount;
}

/**
 * Blank lines at the end of a hunk are usually separators, but may be blank
 * context lines whose leading space was stripped. Keep them only when the
 * header's counts say they belong.
 */
function settleTrailingBlanks(hunk: RawHunk): void {
  if (hunk.trailingBlanks === 0) return;
  const kept = hunk.lines.slice(0, hunk.lines.length - hunk.trailingBlanks);
  let keep = 0;
  if (hunk.oldCount !== null && hunk.newCount !== null) {
    const base = countSides(kept);
    const needed = hunk.oldCount - base.old;
    if (needed > 0 && needed <= hunk.trailingBlanks && hunk.newCount - base.new === needed) keep = needed;
  }
  hunk.lines = hunk.lines.slice(0, kept.length + keep);
  hunk.trailingBlanks = 0;
}

/** Lines read leniently into sections (one per file) with raw names and hunks. */
function scan(lines: string[]): RawSection[] {
  const sections: RawSection[] = [];
  let section: RawSection | null = null;
  let hunk: RawHunk | null = null;

  const openSection = (line: number): RawSection => {
    section = newSection(line);
    sections.push(section);
    return section;
  };
  const closeHunk = (): void => {
    if (hunk) settleTrailingBlanks(hunk);
    hunk = null;
  };
  /** A section for file-level headers: a fresh one once the current one has hunks or its own names. */
  const sectionForHeaders = (line: number): RawSection => {
    const current = section as RawSection | null;
    if (!current || current.hunks.length > 0 || current.oldName !== null || current.newName !== null) return openSection(line);
    return current;
  };

  const startHunk = (owner: RawSection, line: number, header: HunkHeader | null): void => {
    const created: RawHunk = {
      headerLine: line,
      anchor: header?.anchor ?? null,
      oldStart: header?.oldStart ?? null,
      oldCount: header?.oldCount ?? null,
      newCount: header?.newCount ?? null,
      lines: [],
      trailingBlanks: 0,
      oldNoNewlineAtEnd: false,
      newNoNewlineAtEnd: false,
    };
    owner.hunks.push(created);
    hunk = created;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];

    if (hunk) {
      const current: RawHunk = hunk;
      const isHeader =
        startsSection(line) ||
        line.startsWith("@@") ||
        // A "--- x" / "+++ y" pair inside a hunk body could be a removed "-- x" and an added "++ y";
        // it is a file header only when a hunk header or something other than diff lines follows it.
        (isHeaderPair(lines, i) && (i + 2 >= lines.length || isHunkHeader(lines[i + 2]) || !isBodyLine(lines[i + 2]))) ||
        (/^(?:---|\+\+\+) /.test(line) && isHunkHeader(lines[i + 1]) && countsSatisfied(current));
      if (!isHeader && isBodyLine(line)) {
        if (line === "") {
          current.lines.push({ kind: " ", text: "" });
          current.trailingBlanks++;
          continue;
        }
        if (line[0] === "\\") {
          const last = current.lines[current.lines.length - 1];
          if (last && /no newline/i.test(line)) {
            if (last.kind !== "+") current.oldNoNewlineAtEnd = true;
            if (last.kind !== "-") current.newNoNewlineAtEnd = true;
          }
          continue;
        }
        current.lines.push({ kind: line[0] as PatchLine["kind"], text: line.slice(1) });
        current.trailingBlanks = 0;
        continue;
      }
      if (!isHeader && !countsSatisfied(current)) {
        // A stray line inside a hunk whose end we cannot trust. If diff lines follow it, dropping
        // them would change the result silently, so the whole patch is refused instead.
        for (let j = i + 1; j < lines.length && !startsSection(lines[j]) && !lines[j].startsWith("@@") && !isHeaderPair(lines, j); j++) {
          if (lines[j][0] === "+" || lines[j][0] === "-") {
            throw new PatchParseError(
              `line ${i + 1}: ${JSON.stringify(line.slice(0, 80))} inside the hunk starting at line ${current.headerLine + 1} is not a diff line (missing leading space?)`,
            );
          }
        }
      }
      closeHunk();
    }

    if (line.startsWith("@@")) {
      const header = readHunkHeader(line);
      // Skipping an unreadable hunk header would silently drop its hunk.
      if (!header) throw new PatchParseError(`line ${i + 1}: unreadable hunk header ${JSON.stringify(line.slice(0, 80))}`);
      startHunk(section ?? openSection(i), i, header);
      continue;
    }

    if (line.startsWith("diff --git ")) {
      const created = openSection(i);
      const names = gitLineNames(line.slice("diff --git ".length));
      if (names) [created.gitOld, created.gitNew] = names;
      continue;
    }
    if (line.startsWith("Index: ")) {
      openSection(i).indexName = line.slice("Index: ".length).trim();
      continue;
    }
    if (startsSection(line)) {
      openSection(i);
      continue;
    }
    if (isHeaderPair(lines, i)) {
      const owner = sectionForHeaders(i);
      owner.oldName = headerName(line.slice(4));
      owner.newName = headerName(lines[i + 1].slice(4));
      i++;
      // Models sometimes leave out the @@ line: diff lines straight after the headers form a hunk with no position.
      const next = lines[i + 1];
      if (next !== undefined && next !== "" && /^[ +-]/.test(next) && !isHeaderPair(lines, i + 1)) startHunk(owner, i + 1, null);
      continue;
    }
    // A lone ---/+++ line right before a hunk still names the file (on both sides, keeping a git prefix paired).
    if ((line.startsWith("--- ") || line.startsWith("+++ ")) && isHunkHeader(lines[i + 1])) {
      const owner = sectionForHeaders(i);
      const name = headerName(line.slice(4));
      const isOld = line[0] === "-";
      if (isOld) owner.oldName = name;
      else owner.newName = name;
      if (name !== DEV_NULL) {
        const bare = /^[ab]\//.test(name) ? name.slice(2) : name;
        const prefixed = name !== bare;
        owner.oldName ??= prefixed ? `a/${bare}` : bare;
        owner.newName ??= prefixed ? `b/${bare}` : bare;
      }
      continue;
    }

    const current = section as RawSection | null;
    // git's extended header lines come before a file's hunks; after them they are prose, not flags.
    if (!current || current.hunks.length > 0) continue;
    let match: RegExpMatchArray | null;
    if ((match = line.match(/^new file(?: mode (\d+))?\s*$/))) {
      current.isNew = true;
      if (match[1] === SYMLINK_MODE) current.isSymlink = true;
      if (match[1] === SUBMODULE_MODE) current.isSubmodule = true;
    } else if ((match = line.match(/^deleted file(?: mode (\d+))?\s*$/))) {
      current.isDeleted = true;
      if (match[1] === SYMLINK_MODE) current.isSymlink = true;
      if (match[1] === SUBMODULE_MODE) current.isSubmodule = true;
    } else if ((match = line.match(/^(?:old|new) mode (\d+)\s*$/))) {
      if (match[1] === SYMLINK_MODE) current.isSymlink = true;
      if (match[1] === SUBMODULE_MODE) current.isSubmodule = true;
    } else if ((match = line.match(/^index [0-9a-fA-F]+\.\.[0-9a-fA-F]+(?: (\d+))?\s*$/))) {
      if (match[1] === SYMLINK_MODE) current.isSymlink = true;
      if (match[1] === SUBMODULE_MODE) current.isSubmodule = true;
    } else if ((match = line.match(/^rename from (.+)$/))) {
      current.renameFrom = unquote(match[1].trim());
    } else if ((match = line.match(/^rename to (.+)$/))) {
      current.renameTo = unquote(match[1].trim());
    } else if (/^copy (?:from|to) /.test(line)) {
      throw new PatchParseError(`line ${i + 1}: file copies are not supported`);
    } else if (/^Binary files .* differ\s*$/.test(line) || line.startsWith("GIT binary patch")) {
      current.isBinary = true;
    }
  }
  closeHunk();
  return sections;
}

function stripDotSlash(name: string): string {
  let result = name;
  while (result.startsWith("./")) result = result.slice(2);
  return result;
}

/**
 * Repo-relative old/new paths of a section. git's a/ and b/ prefixes are
 * removed only when they appear as a pair (or beside /dev/null), so a
 * model's prefix-less "src/x.ts" is kept whole.
 */
function sectionPaths(section: RawSection, defaultPath: string | undefined): { oldPath: string | null; newPath: string | null } {
  let oldName = section.oldName ?? section.gitOld ?? section.indexName;
  let newName = section.newName ?? section.gitNew ?? section.indexName;
  if (oldName === null && newName === null && defaultPath !== undefined) {
    return { oldPath: section.isNew ? null : defaultPath, newPath: section.isDeleted ? null : defaultPath };
  }
  const oldIsNull = oldName === DEV_NULL;
  const newIsNull = newName === DEV_NULL;
  const gitPrefixed = section.gitOld?.startsWith("a/") === true && section.gitNew?.startsWith("b/") === true;
  const pairPrefixed = (oldIsNull || oldName?.startsWith("a/") === true) && (newIsNull || newName?.startsWith("b/") === true);
  if (gitPrefixed || pairPrefixed) {
    if (oldName?.startsWith("a/")) oldName = oldName.slice(2);
    if (newName?.startsWith("b/")) newName = newName.slice(2);
  }
  let oldPath = oldIsNull || oldName === null ? null : stripDotSlash(oldName);
  let newPath = newIsNull || newName === null ? null : stripDotSlash(newName);
  if (section.renameFrom !== null) oldPath = stripDotSlash(section.renameFrom);
  if (section.renameTo !== null) newPath = stripDotSlash(section.renameTo);
  if (section.isNew) oldPath = null;
  if (section.isDeleted) newPath = null;
  if (oldPath === null && newPath === null && !oldIsNull && !newIsNull) {
    throw new PatchParseError(
      `line ${section.startLine + 1}: hunks without a file name (no ---/+++ or diff --git header)`,
    );
  }
  return { oldPath, newPath };
}

function canonicalName(path: string | null, prefix: "a/" | "b/"): string {
  return path === null ? DEV_NULL : prefix + path;
}

/** The sections as a strict unified diff, hunk counts recomputed from the bodies. */
function renderCanonical(sections: { oldPath: string | null; newPath: string | null; hunks: RawHunk[] }[]): string {
  const out: string[] = [];
  for (const section of sections) {
    out.push(`diff --git ${canonicalName(section.oldPath ?? section.newPath, "a/")} ${canonicalName(section.newPath ?? section.oldPath, "b/")}`);
    out.push(`--- ${canonicalName(section.oldPath, "a/")}`);
    out.push(`+++ ${canonicalName(section.newPath, "b/")}`);
    for (const hunk of section.hunks) {
      const counts = countSides(hunk.lines);
      const start = hunk.oldStart ?? 1;
      out.push(`@@ -${start},${counts.old} +${start},${counts.new} @@`);
      for (const line of hunk.lines) out.push(line.kind + line.text);
    }
  }
  return out.join("\n") + "\n";
}

function hasChange(hunk: RawHunk): boolean {
  return hunk.lines.some((line) => line.kind !== " ");
}

/**
 * Parses a (possibly sloppy) unified diff. Throws PatchParseError with a
 * readable message when the text holds no usable diff.
 */
export function parsePatch(diffText: string, options: ParsePatchOptions = {}): PatchFile[] {
  return parseSections(diffText, options).files;
}

/**
 * parsePatch, keeping hunks that name no file under UNNAMED_PATH instead of
 * refusing them, for a caller that knows which files they may belong to.
 */
export function parsePatchAllowingUnnamed(diffText: string): PatchFile[] {
  return parseSections(diffText, { defaultPath: UNNAMED_PATH }).files;
}

function parseSections(diffText: string, options: ParsePatchOptions): { files: PatchFile[] } {
  // CR at line ends is an artefact of the transport or of a CRLF file; matching ignores it and the
  // applier restores the file's own line endings. A CR inside a line is content and stays.
  const lines = diffText.split("\n").map((line) => line.replace(/\r+$/, ""));
  if (lines[lines.length - 1] === "") lines.pop();
  const sections = scan(lines);
  const usable = sections.filter(
    (section) =>
      section.hunks.length > 0 ||
      section.isBinary ||
      section.isNew ||
      section.isDeleted ||
      section.isSymlink ||
      section.isSubmodule ||
      (section.renameFrom !== null && section.renameTo !== null),
  );
  if (usable.length === 0) {
    throw new PatchParseError("no diff found: expected file headers (---/+++ or diff --git) and @@ hunks");
  }

  const resolved = usable.map((section) => ({
    section,
    ...sectionPaths(section, options.defaultPath),
    // A hunk that changes nothing needs no place in the file; dropping it avoids refusing over it.
    hunks: section.hunks.filter(hasChange),
  }));

  const parsed = parseDiff(renderCanonical(resolved));
  if (parsed.length !== resolved.length) {
    throw new PatchParseError(`could not parse the diff: ${resolved.length} file sections read, parse-diff saw ${parsed.length}`);
  }

  const files: PatchFile[] = resolved.map(({ section, oldPath, newPath, hunks }, index) => {
    const chunks = parsed[index].chunks;
    if (chunks.length !== hunks.length) {
      throw new PatchParseError(`could not parse the hunks of ${newPath ?? oldPath}`);
    }
    return {
      oldPath,
      newPath,
      isNew: oldPath === null,
      isDeleted: newPath === null,
      isBinary: section.isBinary,
      isSymlink: section.isSymlink,
      isSubmodule: section.isSubmodule,
      hunks: chunks.map((chunk, h): PatchHunk => {
        const raw = hunks[h];
        const hunk: PatchHunk = {
          oldStart: raw.oldStart,
          lines: chunk.changes.map((change) => ({
            kind: change.type === "add" ? "+" : change.type === "del" ? "-" : " ",
            text: change.content.slice(1),
          })),
        };
        if (raw.anchor !== null) hunk.anchor = raw.anchor;
        if (raw.oldNoNewlineAtEnd) hunk.oldNoNewlineAtEnd = true;
        if (raw.newNoNewlineAtEnd) hunk.newNoNewlineAtEnd = true;
        return hunk;
      }),
    };
  });
  return { files: mergeRepeatedFiles(files) };
}

/** Models sometimes split one file's changes over several file sections; plain edits of one path become one entry. */
function mergeRepeatedFiles(files: PatchFile[]): PatchFile[] {
  const merged: PatchFile[] = [];
  const plainEdits = new Map<string, PatchFile>();
  for (const file of files) {
    const plain = !file.isNew && !file.isDeleted && !file.isBinary && !file.isSymlink && file.oldPath === file.newPath;
    const earlier = plain ? plainEdits.get(file.oldPath!) : undefined;
    if (earlier) {
      earlier.hunks.push(...file.hunks);
      continue;
    }
    const copy = { ...file, hunks: [...file.hunks] };
    if (plain) plainEdits.set(file.oldPath!, copy);
    merged.push(copy);
  }
  return merged;
}

/**
 * The repo files the applier needs: every file the patch reads, plus every
 * file it creates, so the applier can refuse to overwrite one that exists.
 */
export function pathsToFetch(files: PatchFile[]): string[] {
  const paths = new Set<string>();
  for (const file of files) {
    if (file.oldPath !== null) paths.add(file.oldPath);
    if (file.newPath !== null) paths.add(file.newPath);
  }
  return [...paths];
}
