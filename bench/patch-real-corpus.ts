/**
 * The corpus of `npm run bench:patch`: REAL edits of REAL files, written in
 * the shapes models write and damaged the way models are documented to damage
 * them. Where the material comes from is in bench/patch-corpus-sources.md.
 *
 * Edits: node_modules holds several packages twice, at different versions
 * (npm nests the older copy under the package that needs it). For every such
 * pair, a file present in both versions with different text yields its real
 * diff (jsdiff, 3 lines of context); one or two of its hunks make a case, and
 * the expected file is the old version with exactly those hunks applied.
 * Files present only in the older version are real deletions, files only in
 * the newer one real additions.
 *
 * Formats and flaws: each case is rendered as a unified diff, an apply_patch
 * (V4A) patch, SEARCH/REPLACE blocks or a whole file, and given one flaw from
 * the write-ups (see the sources note): missing line numbers, missing file
 * names, context lines dropped or mistyped, blank lines without their space,
 * whitespace drift, elided code, and so on. Cases whose right answer is a
 * refusal carry `expected: null`; a deletion carries `deleted: true`.
 * Everything derives from a seeded PRNG: a run is reproducible.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { structuredPatch } from "diff";

export type Format = "unified-diff" | "apply-patch" | "search-replace" | "whole-file";

export interface RealCase {
  id: string;
  format: Format;
  flaw: string;
  /** Repo-relative path of the file the edit is about. */
  path: string;
  original: string;
  /** The files the model was shown, path → content (the edited file and, for some flaws, its siblings). */
  shown: Record<string, string>;
  /** The model's answer. */
  answer: string;
  /** The file after a right application; null when the right answer is to refuse. */
  expected: string | null;
  /** The right outcome deletes the file. */
  deleted?: boolean;
  /** For a created file: the path that must appear (original is then ""). */
  created?: boolean;
  /** Where the edit came from: package, versions, file. */
  source: string;
}

export interface PackageVersion {
  name: string;
  version: string;
  dir: string;
}

interface Line {
  kind: " " | "-" | "+";
  text: string;
}

interface Hunk {
  oldStart: number; // 1-based
  lines: Line[];
}

interface EditSource {
  path: string;
  original: string;
  hunks: Hunk[];
  siblings: string[];
  source: string;
  /** Absolute directory of the older version, for reading siblings. */
  oldDir: string;
}

const TEXT_FILE = /\.(?:[cm]?js|[cm]?ts|jsx|tsx|md|json|ya?ml)$/;
const MAX_FILE_BYTES = 120 * 1024;
const MAX_CHANGED_IN_HUNK = 12;

/** mulberry32: small, fast, good enough to pick files and edits reproducibly. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Pick = <T>(items: readonly T[]) => T;

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((p) => (Number.isNaN(Number(p)) ? 0 : Number(p)));
  const pb = b.split(/[.-]/).map((p) => (Number.isNaN(Number(p)) ? 0 : Number(p)));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** Every package installed in two or more versions, as (older, newer) pairs of consecutive versions. */
export function findVersionPairs(nodeModules: string): [PackageVersion, PackageVersion][] {
  const byName = new Map<string, Map<string, string>>();
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      if (entry.name.startsWith("@")) {
        walk(path);
        continue;
      }
      try {
        const manifest = JSON.parse(readFileSync(join(path, "package.json"), "utf8")) as { name?: string; version?: string };
        if (manifest.name && manifest.version) {
          const versions = byName.get(manifest.name) ?? new Map<string, string>();
          if (!versions.has(manifest.version)) versions.set(manifest.version, path);
          byName.set(manifest.name, versions);
        }
      } catch {
        // not a package
      }
      if (existsSync(join(path, "node_modules"))) walk(join(path, "node_modules"));
    }
  };
  walk(nodeModules);
  const pairs: [PackageVersion, PackageVersion][] = [];
  for (const [name, versions] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = [...versions].sort(([a], [b]) => compareVersions(a, b));
    for (let i = 1; i < sorted.length; i++) {
      pairs.push([
        { name, version: sorted[i - 1][0], dir: sorted[i - 1][1] },
        { name, version: sorted[i][0], dir: sorted[i][1] },
      ]);
    }
  }
  return pairs;
}

function textFiles(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string, rel: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      const relPath = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(path, relPath);
      else if (entry.isFile() && TEXT_FILE.test(entry.name) && !entry.name.endsWith(".min.js") && statSync(path).size <= MAX_FILE_BYTES) {
        const content = readFileSync(path, "utf8");
        // Generated bundles (very long lines) are not what a fix edits.
        if (!content.includes("\u0000") && !content.split("\n").some((line) => line.length > 400)) files.set(relPath, content);
      }
    }
  };
  walk(root, "");
  return files;
}

const normalise = (text: string): string => text.replace(/\r\n/g, "\n");

/** Real diffs between the two versions of every pair; plus the files one version lacks. */
export function realEdits(pairs: [PackageVersion, PackageVersion][]): { edits: EditSource[]; deleted: EditSource[]; added: EditSource[] } {
  const edits: EditSource[] = [];
  const deleted: EditSource[] = [];
  const added: EditSource[] = [];
  for (const [older, newer] of pairs) {
    const before = textFiles(older.dir);
    const after = textFiles(newer.dir);
    const siblings = [...before.keys()];
    const prefix = older.name.replace(/^@/, "").replace(/\//g, "-");
    const label = (file: string) => `${older.name} ${older.version} → ${newer.version}: ${file}`;
    for (const [file, oldText] of before) {
      if (file === "package.json" || /CHANGELOG|HISTORY/i.test(file)) continue;
      const path = `${prefix}/${file}`;
      const newText = after.get(file);
      if (newText === undefined) {
        if (oldText.split("\n").length <= 80 && oldText.trim() !== "") deleted.push({ path, original: normalise(oldText), hunks: [], siblings: [], source: label(file) + " (deleted)", oldDir: older.dir });
        continue;
      }
      if (newText === oldText) continue;
      const patch = structuredPatch("a", "b", normalise(oldText), normalise(newText), "", "", { context: 3 });
      const hunks = patch.hunks
        .filter((hunk) => !hunk.lines.some((line) => line.startsWith("\\")))
        .map((hunk) => ({
          oldStart: hunk.oldStart,
          lines: hunk.lines.map((line): Line => ({ kind: line[0] as Line["kind"], text: line.slice(1) })),
        }))
        .filter((hunk) => {
          const changed = hunk.lines.filter((line) => line.kind !== " ").length;
          const context = hunk.lines.filter((line) => line.kind === " ").length;
          return changed > 0 && changed <= MAX_CHANGED_IN_HUNK && context >= 3 && hunk.lines.some((line) => line.kind === "-" || line.kind === "+");
        });
      if (hunks.length > 0) edits.push({ path, original: normalise(oldText), hunks, siblings: siblings.filter((s) => s !== file).map((s) => `${prefix}/${s}`), source: label(file), oldDir: older.dir });
    }
    for (const [file, newText] of after) {
      if (!before.has(file) && newText.split("\n").length <= 60 && newText.trim() !== "") {
        added.push({ path: `${prefix}/${file}`, original: normalise(newText), hunks: [], siblings: [], source: label(file) + " (added)", oldDir: newer.dir });
      }
    }
  }
  return { edits, deleted, added };
}

// ---------------------------------------------------------------------------
// Cases: applying real hunks, rendering them, damaging them.

function lines(text: string): string[] {
  const all = text.split("\n");
  if (all[all.length - 1] === "") all.pop();
  return all;
}

function join_(all: string[]): string {
  return all.length === 0 ? "" : all.join("\n") + "\n";
}

function oldSide(hunk: Hunk): string[] {
  return hunk.lines.filter((line) => line.kind !== "+").map((line) => line.text);
}

function newSide(hunk: Hunk): string[] {
  return hunk.lines.filter((line) => line.kind !== "-").map((line) => line.text);
}

/** The old text with the hunks applied at their real positions. */
function applyAt(original: string, hunks: Hunk[]): string {
  const out = lines(original);
  for (const hunk of [...hunks].sort((a, b) => b.oldStart - a.oldStart)) {
    const start = oldSide(hunk).length === 0 ? hunk.oldStart : hunk.oldStart - 1;
    out.splice(start, oldSide(hunk).length, ...newSide(hunk));
  }
  // Hunks that touch a last line without a newline are left out, so the file keeps its ending.
  const joined = join_(out);
  return original.endsWith("\n") || joined === "" ? joined : joined.slice(0, -1);
}

function occurrences(haystack: string[], needle: string[], key: (s: string) => string = (s) => s): number {
  let count = 0;
  const wanted = needle.map(key);
  const keys = haystack.map(key);
  for (let i = 0; i + wanted.length <= keys.length; i++) {
    let j = 0;
    while (j < wanted.length && keys[i + j] === wanted[j]) j++;
    if (j === wanted.length) count++;
  }
  return count;
}


const FUNCTION_LINE = /^(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\b|class\b)|^\s*(?:static\s+)?(?:async\s+)?(?!if\b|for\b|while\b|switch\b|catch\b)[A-Za-z_$][\w$]*\s*\([^)]*\)\s*\{\s*$/;

/** The nearest line above the hunk that names a function or class, as git's hunk header and apply_patch's @@ give it. */
function functionAbove(original: string[], hunk: Hunk): string | null {
  for (let i = hunk.oldStart - 2; i >= 0 && i >= hunk.oldStart - 60; i--) if (FUNCTION_LINE.test(original[i])) return original[i].trim();
  return null;
}

const PROSE_BEFORE = [
  "The failure comes from the code below; this change fixes it.",
  "Here is the fix:",
  "The test fails because of this function. Patch:",
  "This should make CI pass:",
];

function fence(body: string, info = ""): string {
  // Longer than any run of backticks in the body, as CommonMark requires.
  const longest = Math.max(2, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = "`".repeat(longest + 1);
  return `${ticks}${info}\n${body}${body.endsWith("\n") ? "" : "\n"}${ticks}`;
}

interface Rendered {
  answer: string;
  expected: string | null;
  shown?: Record<string, string>;
  deleted?: boolean;
  created?: boolean;
  /** The case is about another file than the edit's (a real deletion or addition). */
  path?: string;
  source?: string;
}

function renderUnified(path: string, hunks: Hunk[], style: { numbers: "real" | "none" | "bare" | "offset" | "wrong-counts"; header: boolean; anchor?: (h: Hunk) => string | null }): string {
  const out: string[] = [];
  if (style.header) out.push(`diff --git a/${path} b/${path}`, `--- a/${path}`, `+++ b/${path}`);
  let delta = 0;
  for (const hunk of hunks) {
    const oldCount = oldSide(hunk).length;
    const newCount = newSide(hunk).length;
    const anchor = style.anchor?.(hunk) ?? null;
    const tail = anchor ? ` ${anchor}` : "";
    if (style.numbers === "real") out.push(`@@ -${hunk.oldStart},${oldCount} +${hunk.oldStart + delta},${newCount} @@${tail}`);
    else if (style.numbers === "offset") out.push(`@@ -${hunk.oldStart + 17},${oldCount} +${hunk.oldStart + 17 + delta},${newCount} @@${tail}`);
    else if (style.numbers === "wrong-counts") out.push(`@@ -${hunk.oldStart},${oldCount + 2} +${hunk.oldStart + delta},${newCount - 1} @@${tail}`);
    else if (style.numbers === "none") out.push(anchor ? `@@ ${anchor} @@` : "@@ ... @@");
    else out.push("@@");
    delta += newCount - oldCount;
    for (const line of hunk.lines) out.push(line.kind + line.text);
  }
  return out.join("\n") + "\n";
}

function renderV4A(path: string, hunks: Hunk[], original: string[], options: { anchors: boolean; end: boolean }): string {
  const out = ["*** Begin Patch", `*** Update File: ${path}`];
  for (const hunk of hunks) {
    const anchor = options.anchors ? functionAbove(original, hunk) : null;
    out.push(anchor ? `@@ ${anchor}` : "@@");
    for (const line of hunk.lines) out.push(line.kind + line.text);
  }
  if (options.end) out.push("*** End Patch");
  return out.join("\n") + "\n";
}

function renderSearchReplace(path: string, hunks: Hunk[], style: "aider" | "fenced" | "bold"): string {
  const blocks = hunks.map((hunk) => `<<<<<<< SEARCH\n${join_(oldSide(hunk))}=======\n${join_(newSide(hunk))}>>>>>>> REPLACE`);
  if (style === "fenced") return blocks.map((block) => fence(`${path}\n${block}`)).join("\n\n");
  if (style === "bold") return blocks.map((block) => `**${path}**\n${fence(block)}`).join("\n\n");
  return blocks.map((block) => `${path}\n${fence(block)}`).join("\n\n");
}

/** Hunks with one line changed by `damage`, chosen among lines `eligible` accepts; null when no line qualifies. */
function damageLine(hunks: Hunk[], pick: Pick, eligible: (hunk: Hunk, i: number) => boolean, damage: (hunk: Hunk, i: number) => Line[]): Hunk[] | null {
  const spots: [number, number][] = [];
  hunks.forEach((hunk, h) => hunk.lines.forEach((_, i) => eligible(hunk, i) && spots.push([h, i])));
  if (spots.length === 0) return null;
  const [h, i] = pick(spots);
  return hunks.map((hunk, k) => (k !== h ? hunk : { ...hunk, lines: [...hunk.lines.slice(0, i), ...damage(hunk, i), ...hunk.lines.slice(i + 1)] }));
}

const isContext = (hunk: Hunk, i: number): boolean => hunk.lines[i]?.kind === " ";
const innerContext = (hunk: Hunk, i: number): boolean => isContext(hunk, i) && isContext(hunk, i - 1) && isContext(hunk, i + 1) && hunk.lines[i].text.trim() !== "";

function driftIndent(text: string, pick: Pick): string {
  const indent = text.match(/^[ \t]*/)![0];
  if (indent.includes("\t")) return indent.replace(/\t/g, "    ") + text.slice(indent.length);
  return pick([" ".repeat(Math.max(0, indent.length - 1)), `${indent} `, indent.replace(/ {4}/g, "\t")]) + text.slice(indent.length);
}

/** Words a model misremembers in a context line: a changed identifier or literal. */
function staleLine(text: string): string {
  const word = text.match(/[A-Za-z_]\w{2,}/);
  if (!word) return `${text} // note`;
  return text.replace(word[0], `${word[0]}s`);
}

export const FLAWS: Record<Format, string[]> = {
  "unified-diff": [
    "clean",
    "wrong-line-numbers",
    "wrong-counts",
    "no-line-numbers",
    "bare-@@",
    "function-header-no-numbers",
    "no-file-header",
    "file-named-in-prose",
    "hunks-out-of-order",
    "context-line-dropped",
    "blank-context-unprefixed",
    "blank-context-dropped",
    "stale-context",
    "extra-blank-context",
    "trailing-whitespace-context",
    "indentation-drift",
    "crlf-answer",
    "remove-all-says-delete",
    "refuse-remove-all-silent",
    "refuse-ambiguous-no-numbers",
    "refuse-headerless-two-files",
    "refuse-elided-code",
  ],
  "apply-patch": ["clean", "with-anchors", "context-line-dropped", "blank-context-unprefixed", "indentation-drift", "no-end-marker", "add-file", "delete-file"],
  "search-replace": ["clean", "path-inside-fence", "path-in-bold", "indentation-drift", "trailing-whitespace", "search-line-dropped", "refuse-not-unique"],
  "whole-file": ["clean", "prose-says-updated-file", "refuse-elided-code", "refuse-not-shown", "refuse-excerpt"],
};

function caseFor(format: Format, flaw: string, edit: EditSource, pools: { deleted: EditSource[]; added: EditSource[]; edits: EditSource[] }, pick: Pick, random: () => number): Rendered | null {
  const original = lines(edit.original);
  // One or two real hunks of this file.
  const count = edit.hunks.length > 1 && random() < 0.4 ? 2 : 1;
  const start = Math.floor(random() * (edit.hunks.length - count + 1));
  const hunks = edit.hunks.slice(start, start + count);
  // A real hunk whose old side occurs more than once cannot be placed by content (nor is it what this corpus measures).
  if (hunks.some((hunk) => occurrences(original, oldSide(hunk)) !== 1)) return null;
  const expected = applyAt(edit.original, hunks);
  const prose = pick(PROSE_BEFORE);
  const asDiff = (body: string) => `${prose}\n\n${fence(body, "diff")}\n`;
  const real = (h: Hunk[] = hunks) => renderUnified(edit.path, h, { numbers: "real", header: true });

  if (format === "unified-diff") {
    switch (flaw) {
      case "clean":
        return { answer: asDiff(real()), expected };
      case "wrong-line-numbers":
        return { answer: asDiff(renderUnified(edit.path, hunks, { numbers: "offset", header: true })), expected };
      case "wrong-counts":
        return { answer: asDiff(renderUnified(edit.path, hunks, { numbers: "wrong-counts", header: true })), expected };
      case "no-line-numbers":
        return { answer: asDiff(renderUnified(edit.path, hunks, { numbers: "none", header: true })), expected };
      case "bare-@@":
        return { answer: asDiff(renderUnified(edit.path, hunks, { numbers: "bare", header: true })), expected };
      case "function-header-no-numbers":
        return { answer: asDiff(renderUnified(edit.path, hunks, { numbers: "none", header: true, anchor: (h) => functionAbove(original, h) })), expected };
      case "no-file-header":
      case "file-named-in-prose": {
        const siblings = edit.siblings.filter((s) => s.endsWith(edit.path.slice(edit.path.lastIndexOf(".")))).slice(0, 3);
        const shown: Record<string, string> = { [edit.path]: edit.original };
        for (const sibling of siblings) {
          const file = join(edit.oldDir, sibling.slice(sibling.indexOf("/") + 1));
          if (existsSync(file)) shown[sibling] = normalise(readFileSync(file, "utf8"));
        }
        if (Object.keys(shown).length < 2) return null;
        const body = renderUnified(edit.path, hunks, { numbers: pick(["real", "none"] as const), header: false });
        const intro = flaw === "file-named-in-prose" ? `The fix is in \`${edit.path}\`:` : prose;
        return { answer: `${intro}\n\n${fence(body, "diff")}\n`, expected, shown };
      }
      case "hunks-out-of-order":
        if (hunks.length < 2) return null;
        return { answer: asDiff(renderUnified(edit.path, [...hunks].reverse(), { numbers: "real", header: true })), expected };
      case "context-line-dropped": {
        // Aider: models skip a context line they consider unimportant.
        const damaged = damageLine(hunks, pick, innerContext, () => []);
        return damaged && { answer: asDiff(renderUnified(edit.path, damaged, { numbers: "none", header: true })), expected };
      }
      case "blank-context-unprefixed": {
        const damaged = damageLine(hunks, pick, (h, i) => isContext(h, i) && h.lines[i].text === "", () => [{ kind: " ", text: "" }]);
        if (!damaged) return null;
        // The leading space of a blank context line is lost (editors and chat UIs strip trailing spaces).
        const body = real(damaged).replace(/^ $/gm, "");
        return { answer: asDiff(body), expected };
      }
      case "blank-context-dropped": {
        const damaged = damageLine(hunks, pick, (h, i) => isContext(h, i) && h.lines[i].text === "" && isContext(h, i - 1) && isContext(h, i + 1), () => []);
        return damaged && { answer: asDiff(renderUnified(edit.path, damaged, { numbers: "none", header: true })), expected };
      }
      case "stale-context": {
        const damaged = damageLine(hunks, pick, innerContext, (h, i) => [{ kind: " ", text: staleLine(h.lines[i].text) }]);
        return damaged && { answer: asDiff(renderUnified(edit.path, damaged, { numbers: "real", header: true })), expected };
      }
      case "extra-blank-context": {
        const damaged = damageLine(hunks, pick, innerContext, (h, i) => [h.lines[i], { kind: " ", text: "" }]);
        return damaged && { answer: asDiff(renderUnified(edit.path, damaged, { numbers: "real", header: true })), expected };
      }
      case "trailing-whitespace-context": {
        const damaged = hunks.map((h) => ({ ...h, lines: h.lines.map((l) => (l.kind === " " && l.text !== "" ? { ...l, text: `${l.text}  ` } : l)) }));
        return { answer: asDiff(real(damaged)), expected };
      }
      case "indentation-drift": {
        // The model retypes the context with other indentation; its added lines are right.
        const damaged = damageLine(hunks, pick, (h, i) => isContext(h, i) && /^\s+\S/.test(h.lines[i].text), (h, i) => [{ kind: " ", text: driftIndent(h.lines[i].text, pick) }]);
        return damaged && { answer: asDiff(real(damaged)), expected };
      }
      case "crlf-answer":
        return { answer: asDiff(real()).replace(/\n/g, "\r\n"), expected };
      case "remove-all-says-delete":
      case "refuse-remove-all-silent": {
        const gone = pick(pools.deleted);
        const removal = `--- a/${gone.path}\n+++ b/${gone.path}\n@@ -1,${lines(gone.original).length} +0,0 @@\n${lines(gone.original).map((l) => `-${l}`).join("\n")}\n`;
        const says = flaw === "remove-all-says-delete";
        const intro = says ? `\`${gone.path}\` is no longer used; delete it.` : prose;
        return { answer: `${intro}\n\n${fence(removal, "diff")}\n`, expected: says ? "" : null, deleted: says, shown: { [gone.path]: gone.original }, path: gone.path, source: gone.source };
      }
      case "refuse-ambiguous-no-numbers": {
        // A real edit whose context the model cut down to lines that occur elsewhere too.
        for (const hunk of hunks) {
          const firstChange = hunk.lines.findIndex((l) => l.kind !== " ");
          const lastChange = hunk.lines.length - 1 - [...hunk.lines].reverse().findIndex((l) => l.kind !== " ");
          for (let keepBefore = 0; keepBefore <= 1; keepBefore++) {
            const trimmed: Hunk = { ...hunk, lines: hunk.lines.slice(firstChange - keepBefore, lastChange + 1) };
            // More than once verbatim: an exact match elsewhere too, so nothing can pick one.
            if (oldSide(trimmed).length > 0 && occurrences(original, oldSide(trimmed)) > 1) {
              return { answer: asDiff(renderUnified(edit.path, [trimmed], { numbers: "none", header: true })), expected: null };
            }
          }
        }
        return null;
      }
      case "refuse-headerless-two-files": {
        // The same file shown twice under two names (a copy in another directory): the hunks fit both.
        const twin = `copy/${edit.path}`;
        return {
          answer: `${prose}\n\n${fence(renderUnified(edit.path, hunks, { numbers: "none", header: false }), "diff")}\n`,
          expected: null,
          shown: { [edit.path]: edit.original, [twin]: edit.original },
        };
      }
      case "refuse-elided-code": {
        // Aider's "lazy coding": the model replaces code with a comment saying it is unchanged.
        const hunk = hunks[0];
        const removed = hunk.lines.filter((l) => l.kind === "-");
        if (removed.length < 2) return null;
        const comment = edit.path.endsWith(".md") ? "<!-- ... rest unchanged -->" : "// ... existing code ...";
        const lazy: Hunk = { ...hunk, lines: [...hunk.lines.filter((l) => l.kind !== "+"), { kind: "+", text: comment }] };
        return { answer: asDiff(renderUnified(edit.path, [lazy], { numbers: "real", header: true })), expected: null };
      }
    }
  }

  if (format === "apply-patch") {
    const v4a = (h: Hunk[], options = { anchors: false, end: true }) => `${prose}\n\n${fence(renderV4A(edit.path, h, original, options))}\n`;
    switch (flaw) {
      case "clean":
        return { answer: v4a(hunks), expected };
      case "with-anchors":
        return { answer: v4a(hunks, { anchors: true, end: true }), expected };
      case "context-line-dropped": {
        const damaged = damageLine(hunks, pick, innerContext, () => []);
        return damaged && { answer: v4a(damaged), expected };
      }
      case "blank-context-unprefixed": {
        if (!hunks.some((h) => h.lines.some((l) => l.kind === " " && l.text === ""))) return null;
        return { answer: v4a(hunks).replace(/^ $/gm, ""), expected };
      }
      case "indentation-drift": {
        const damaged = damageLine(hunks, pick, (h, i) => isContext(h, i) && /^\s+\S/.test(h.lines[i].text), (h, i) => [{ kind: " ", text: driftIndent(h.lines[i].text, pick) }]);
        return damaged && { answer: v4a(damaged), expected };
      }
      case "no-end-marker":
        return { answer: `${prose}\n\n${renderV4A(edit.path, hunks, original, { anchors: true, end: false })}`, expected };
      case "add-file": {
        const made = pick(pools.added);
        const body = ["*** Begin Patch", `*** Add File: ${made.path}`, ...lines(made.original).map((l) => `+${l}`), "*** End Patch"].join("\n");
        // apply_patch's Add File cannot say "no newline at end of file": the new file ends with one.
        return { answer: `${prose}\n\n${fence(body)}\n`, expected: join_(lines(made.original)), shown: {}, created: true, path: made.path, source: made.source };
      }
      case "delete-file": {
        const gone = pick(pools.deleted);
        return { answer: `${prose}\n\n${fence(`*** Begin Patch\n*** Delete File: ${gone.path}\n*** End Patch`)}\n`, expected: "", deleted: true, shown: { [gone.path]: gone.original }, path: gone.path, source: gone.source };
      }
    }
  }

  if (format === "search-replace") {
    const sr = (h: Hunk[], style: "aider" | "fenced" | "bold" = "aider") => `${prose}\n\n${renderSearchReplace(edit.path, h, style)}\n`;
    switch (flaw) {
      case "clean":
        return { answer: sr(hunks), expected };
      case "path-inside-fence":
        return { answer: sr(hunks, "fenced"), expected };
      case "path-in-bold":
        return { answer: sr(hunks, "bold"), expected };
      case "indentation-drift": {
        const damaged = damageLine(hunks, pick, (h, i) => isContext(h, i) && /^\s+\S/.test(h.lines[i].text), (h, i) => [{ kind: " ", text: driftIndent(h.lines[i].text, pick) }]);
        return damaged && { answer: sr(damaged), expected };
      }
      case "trailing-whitespace": {
        const damaged = hunks.map((h) => ({ ...h, lines: h.lines.map((l) => (l.kind === " " && l.text !== "" ? { ...l, text: `${l.text} ` } : l)) }));
        return { answer: sr(damaged), expected };
      }
      case "search-line-dropped": {
        const damaged = damageLine(hunks, pick, innerContext, () => []);
        return damaged && { answer: sr(damaged), expected };
      }
      case "refuse-not-unique": {
        // SEARCH cut down to the changed lines alone, which occur elsewhere too.
        for (const hunk of hunks) {
          const changedOnly: Hunk = { ...hunk, lines: hunk.lines.filter((l) => l.kind !== " ") };
          if (oldSide(changedOnly).length > 0 && occurrences(original, oldSide(changedOnly)) > 1) return { answer: sr([changedOnly]), expected: null };
        }
        return null;
      }
    }
  }

  if (format === "whole-file") {
    const whole = (content: string, intro = `${edit.path}`) => `${prose}\n\n${intro}\n${fence(content, edit.path.endsWith(".md") ? "markdown" : "")}\n`;
    switch (flaw) {
      case "clean":
        return { answer: whole(expected), expected };
      case "prose-says-updated-file":
        return { answer: `Here is the full updated file \`${edit.path}\`:\n\n${fence(expected)}\n`, expected };
      case "refuse-elided-code": {
        const all = lines(expected);
        if (all.length < 30) return null;
        const cut = Math.floor(all.length / 2);
        const comment = edit.path.endsWith(".md") ? "<!-- ... rest of the file unchanged -->" : "// ... rest of the file unchanged";
        return { answer: whole(join_([...all.slice(0, cut), comment])), expected: null };
      }
      case "refuse-not-shown":
        return { answer: whole(expected), expected: null, shown: {} };
      case "refuse-excerpt": {
        const all = lines(expected);
        if (all.length < 40) return null;
        const first = hunks[0].oldStart;
        return { answer: `${prose}\n\nThe updated \`${edit.path}\`:\n${fence(join_(all.slice(Math.max(0, first - 5), first + 10)))}\n`, expected: null };
      }
    }
  }
  throw new Error(`no renderer for ${format}/${flaw}`);
}

export interface Corpus {
  cases: RealCase[];
  pairs: number;
  files: number;
  hunks: number;
  /** Real hunks left out because their old side occurs more than once in the file. */
  repeatedHunks: number;
}

export function buildRealCorpus(nodeModules: string, perCell: number, seed: number): Corpus {
  const pairs = findVersionPairs(nodeModules);
  const pools = realEdits(pairs);
  const random = createRandom(seed);
  const pick: Pick = (items) => items[Math.floor(random() * items.length)];
  const cases: RealCase[] = [];
  let repeatedHunks = 0;
  for (const edit of pools.edits) {
    const original = lines(edit.original);
    for (const hunk of edit.hunks) if (occurrences(original, oldSide(hunk)) !== 1) repeatedHunks++;
  }
  for (const format of Object.keys(FLAWS) as Format[]) {
    for (const flaw of FLAWS[format]) {
      let made = 0;
      for (let attempt = 0; made < perCell && attempt < perCell * 40; attempt++) {
        const edit = pick(pools.edits);
        const rendered = caseFor(format, flaw, edit, pools, pick, random);
        if (!rendered) continue;
        const path = rendered.path ?? edit.path;
        const original = rendered.created ? "" : (rendered.shown?.[path] ?? edit.original);
        cases.push({
          id: `${format}/${flaw}/${made}`,
          format,
          flaw,
          path,
          original,
          shown: rendered.shown ?? { [edit.path]: edit.original },
          answer: rendered.answer,
          expected: rendered.expected,
          ...(rendered.deleted ? { deleted: true } : {}),
          ...(rendered.created ? { created: true } : {}),
          source: rendered.source ?? edit.source,
        });
        made++;
      }
    }
  }
  return { cases, pairs: pairs.length, files: pools.edits.length, hunks: pools.edits.reduce((n, e) => n + e.hunks.length, 0), repeatedHunks };
}
