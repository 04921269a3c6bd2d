/**
 * The labelled corpus of real CI logs under fixtures/logs/corpus (see its
 * SOURCES.md): loading, and the line normalisation both the labels and every
 * scored excerpt go through, so that fixloop and the baselines are judged alike.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export interface CorpusEntry {
  id: string;
  /**
   * Held-out logs ("test") are never looked at while tuning the rules; "fresh" logs were
   * added later, after test had been studied, and studied in turn from 2026-12-07 19:40 UTC;
   * "fresh2" logs were added then, held out from everyone.
   */
  split: "dev" | "test" | "fresh" | "fresh2";
  ecosystem: string;
  ci: "jenkins" | "github-actions" | "travis";
  /** code, or infra when the labelled reason is an outage of the platform (see SOURCES.md). */
  class: "code" | "infra";
  /** The labelled error lines in log order, normalised with labelText. The first is the first error. */
  errors: string[];
  hasPassing: boolean;
  source: string;
}

/** Splits whose logs may be read while tuning the rules; fresh2 is held out from everyone. */
export const STUDIED_SPLITS: readonly CorpusEntry["split"][] = ["dev", "test", "fresh"];

export const CORPUS_DIR = new URL("../../fixtures/logs/corpus/", import.meta.url).pathname;

export function loadCorpus(dir = CORPUS_DIR): CorpusEntry[] {
  const entries = JSON.parse(readFileSync(join(dir, "labels.json"), "utf8")) as CorpusEntry[];
  const classes = JSON.parse(readFileSync(join(dir, "classes.json"), "utf8")) as Record<string, { class: "code" | "infra"; why: string }>;
  for (const entry of entries) entry.class = classes[entry.id]?.class ?? entry.class;
  return entries;
}

export function readLog(entry: CorpusEntry, which: "fail" | "pass", dir = CORPUS_DIR): Buffer {
  return gunzipSync(readFileSync(join(dir, entry.id, `${which}.log.gz`)));
}

const TIMESTAMP = /^\uFEFF?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)? ?/;
/** Colour codes with or without their ESC (LogChunks' XML labels lost the ESC byte). */
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()*+][0-9A-Za-z]|\x1b[0-Z\\-~]|\[[0-9;]*[mK]/g;

/** A log line as a label: last visible carriage-return segment, no timestamp, colours or edge blanks, inner blanks collapsed. */
export function labelText(raw: string): string {
  let line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  if (line.includes("\r")) line = line.split("\r").findLast((s) => s.trim() !== "") ?? "";
  return line.replace(TIMESTAMP, "").replace(ANSI, "").replace(/\s+/g, " ").trim();
}

/**
 * Checkout directories differ between excerpts (fixloop shortens them): drop them on both sides
 * (a container action's `/github/workspace` alone becomes `.`, as fixloop writes it).
 */
const WORKSPACE = /(?:\/home\/travis\/build\/[^/\s]+\/[^/\s]+\/|\/home\/runner\/work\/[^/\s]+\/[^/\s]+\/|\/builds\/workspace\/[^/\s]+\/|\/builds\/[^/\s]+\/[^/\s]+\/)/g;
/**
 * Long labels are compared on their start: every method may cut long lines. Only the label
 * is cut: a label may start inside its log line (LogChunks chunks often begin mid-line, `error] …`
 * of `[error] …`), and cutting the line too would cut off the label's last characters.
 */
const COMPARED_CHARS = 120;

export function comparable(text: string): string {
  return labelText(text)
    .replace(/^##\[(?:error|warning|notice)\]/, "")
    .replace(WORKSPACE, "")
    .replace(/\/github\/workspace(?:\/|(?![\w/]))/g, (m) => (m.endsWith("/") ? "" : "."));
}

/** A label as compared: its first COMPARED_CHARS characters. */
export function matchKey(text: string): string {
  return comparable(text).slice(0, COMPARED_CHARS);
}

/** Unique labelled lines worth scoring (a bare `[ERROR]` says nothing). */
export function scoredLines(entry: CorpusEntry): string[] {
  const keys = entry.errors.map(matchKey).filter((k) => k.replace(/^\[(?:ERROR|INFO|WARNING)\]\s*/, "").length >= 3);
  return [...new Set(keys)];
}

/** Recall of the labelled lines in an excerpt, and whether the first error line is in it. */
export function score(entry: CorpusEntry, excerpt: string): { recall: number; first: boolean } {
  const haystack = excerpt.split("\n").map(comparable).join("\n");
  const lines = scoredLines(entry);
  if (lines.length === 0) return { recall: 1, first: true };
  const kept = lines.filter((line) => haystack.includes(line)).length;
  return { recall: kept / lines.length, first: haystack.includes(lines[0]) };
}
