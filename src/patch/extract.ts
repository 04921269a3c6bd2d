/**
 * Takes the diff out of a model's answer: fenced blocks (```diff or any fence
 * whose content looks like a diff) or a bare diff amid prose. When a block
 * holds only hunks, the file it names in its fence or the prose just above it
 * becomes the block's ---/+++ header.
 */
import { readHunkHeader } from "./parse.js";

const DIFF_INFO_WORDS = new Set(["diff", "patch", "udiff", "git"]);
/** A repo path as prose writes it: segments of word characters, dots and dashes, ending in an extension. */
const PATH_TOKEN = /^(?:\.\/)?[\w@.+-]+(?:\/[\w@.+-]+)*\.[A-Za-z][\w-]*$/;

export interface Block {
  /** Index of the first content line in the answer's lines. */
  start: number;
  info: string;
  lines: string[];
}

function isHunkHeader(line: string): boolean {
  return line.startsWith("@@") && readHunkHeader(line) !== null;
}

function hasFileHeader(lines: string[]): boolean {
  return lines.some(
    (line, i) =>
      line.startsWith("diff --git ") ||
      line.startsWith("Index: ") ||
      (line.startsWith("--- ") && (lines[i + 1]?.startsWith("+++ ") || isHunkHeader(lines[i + 1] ?? ""))) ||
      (line.startsWith("+++ ") && isHunkHeader(lines[i + 1] ?? "")),
  );
}

function startsDiff(lines: string[], i: number): boolean {
  const line = lines[i];
  return (
    line.startsWith("diff --git ") ||
    line.startsWith("Index: ") ||
    (line.startsWith("--- ") && (lines[i + 1]?.startsWith("+++ ") ?? false)) ||
    isHunkHeader(line)
  );
}

function looksLikeDiff(lines: string[]): boolean {
  return lines.some(isHunkHeader) || hasFileHeader(lines);
}

/**
 * Fenced blocks. A diff context line holding a markdown file's fence reads
 * " ```": a fence indented by exactly one space is therefore never taken as
 * one, and a closing fence may not be indented deeper than its opening one.
 */
export function fencedBlocks(lines: string[]): Block[] {
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^( {0,3})(`{3,}|~{3,})(.*)$/);
    if (!open || open[1].length === 1 || (open[2][0] === "`" && open[3].includes("`"))) continue;
    const indent = open[1].length;
    const fence = open[2];
    let end = i + 1;
    for (; end < lines.length; end++) {
      const close = lines[end].match(/^( *)(`{3,}|~{3,})\s*$/);
      if (close && close[1].length <= indent && close[1].length !== 1 && close[2][0] === fence[0] && close[2].length >= fence.length) break;
    }
    const content = lines.slice(i + 1, end).map((line) => {
      const leading = line.match(/^ */)![0].length;
      return line.slice(Math.min(leading, indent));
    });
    blocks.push({ start: i + 1, info: open[3].trim(), lines: content });
    i = end;
  }
  return blocks;
}

function pathCandidates(text: string): string[] {
  const quoted = [...text.matchAll(/`([^`\s]+)`|\*\*([^*\s]+)\*\*|"([^"\s]+)"|'([^'\s]+)'/g)]
    .map((m) => m[1] ?? m[2] ?? m[3] ?? m[4])
    .filter((token) => PATH_TOKEN.test(token));
  if (quoted.length > 0) return [...new Set(quoted)];
  const plain = text
    .split(/\s+/)
    .map((word) => word.replace(/^[([{<]+|[)\]}>,;:!?]+$|\.$/g, ""))
    .filter((word) => PATH_TOKEN.test(word) && !word.includes("://"));
  return [...new Set(plain)];
}

/** The single file a headerless block is about: named in its fence's info string, or in the prose just above it. */
export function namedFile(answerLines: string[], blockStart: number, info: string): string | null {
  const fromInfo = info
    .split(/\s+/)
    .slice(1)
    .concat(info.includes(":") ? [info.slice(info.indexOf(":") + 1)] : [])
    .map((word) => word.replace(/^(?:title|file|path|filename)=/, "").replace(/^["']|["']$/g, ""))
    .filter((word) => PATH_TOKEN.test(word));
  if (fromInfo.length > 0) return new Set(fromInfo).size === 1 ? fromInfo[0] : null;

  let looked = 0;
  for (let i = blockStart - 1; i >= 0 && looked < 3; i--) {
    const line = answerLines[i].trim();
    if (line === "" || /^(`{3,}|~{3,})/.test(line)) continue;
    looked++;
    const candidates = pathCandidates(line);
    if (candidates.length === 1) return candidates[0].replace(/^\.\//, "");
    if (candidates.length > 1) return null;
  }
  return null;
}

function withNamedHeader(lines: string[], answerLines: string[], blockStart: number, info: string): string[] {
  if (hasFileHeader(lines) || !lines.some(isHunkHeader)) return lines;
  const path = namedFile(answerLines, blockStart, info);
  return path === null ? lines : [`--- a/${path}`, `+++ b/${path}`, ...lines];
}

/** The diff in a model's answer, with line ends normalised to "\n"; null when the answer holds none. */
export function extractDiff(modelAnswer: string): string | null {
  const lines = modelAnswer.split("\n").map((line) => line.replace(/\r+$/, ""));
  if (lines[lines.length - 1] === "") lines.pop();

  // An answer that opens with a diff is a bare diff: fences further down are the diffed files' content.
  const first = lines.findIndex((line) => line.trim() !== "");
  if (first >= 0 && startsDiff(lines, first)) return withNamedHeader(lines.slice(first), lines, first, "").join("\n") + "\n";

  const blocks = fencedBlocks(lines);
  const diffBlocks = blocks.filter((block) => looksLikeDiff(block.lines));
  if (diffBlocks.length > 0) {
    const parts = diffBlocks.map((block) => withNamedHeader(block.lines, lines, block.start - 1, block.info).join("\n"));
    return parts.join("\n") + "\n";
  }
  // A block labelled as a diff that is not one is still the model's answer; parsing it explains what is wrong.
  const labelled = blocks.find((block) => DIFF_INFO_WORDS.has(block.info.split(/[\s:]/)[0].toLowerCase()));
  if (labelled && labelled.lines.some((line) => line.trim() !== "")) return labelled.lines.join("\n") + "\n";

  const start = lines.findIndex((_, i) => startsDiff(lines, i));
  if (start < 0) return null;
  return withNamedHeader(lines.slice(start), lines, start, "").join("\n") + "\n";
}
