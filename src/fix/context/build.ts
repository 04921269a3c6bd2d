/** Reads a CI job log (text or stream) line by line into a FailureContext. */
import { LogAnalyzer } from "./analyzer.js";
import type { LogSource } from "./lines.js";
import { SECRET_HINT_WORDS } from "../redact.js";
import { ERROR_HINT_WORDS, hasErrorShape, INFRA_HINT_WORDS } from "./patterns.js";
import { HintAutomaton, scanLog } from "./scan.js";
import type { ContextOptions, FailureContext } from "./types.js";

export type { LogSource };

/**
 * Builds the failure context of one job log. The source is consumed once, line
 * by line; memory stays bounded whatever the log's size.
 */
export async function buildFailureContext(source: LogSource, options: ContextOptions = {}): Promise<FailureContext> {
  const analyzer = new LogAnalyzer(options);
  const read = await scanLog(source, analyzer, failingLogHints(), { hints: true, fingerprints: analyzer.wantsFingerprints });
  return analyzer.finish(read.bytes, read);
}

let failingHints: HintAutomaton | null = null;

/**
 * Words that make a line of a failing log worth the full treatment (strong): every hint word of
 * the error and infra rules, the checkout line that names the workspace, GitLab section markers;
 * and words that only call for the redactor (weak): its hint words and the zero-width
 * characters a split token hides behind.
 */
export function failingLogHints(): HintAutomaton {
  failingHints ??= new HintAutomaton(
    [...ERROR_HINT_WORDS, ...INFRA_HINT_WORDS, "Git repository in ", "section_"],
    [...SECRET_HINT_WORDS, "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"],
    hasErrorShape,
  );
  return failingHints;
}

/** Tokens a text costs, estimated from its length. */
export function estimateTokens(text: string, charsPerToken = 4): number {
  return Math.ceil(text.length / charsPerToken);
}
