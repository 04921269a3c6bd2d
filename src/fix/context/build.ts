/** Reads a CI job log (text or stream) line by line into a FailureContext. */
import { LogAnalyzer } from "./analyzer.js";
import type { LogSource } from "./lines.js";
import { failingLogHints, scanLog } from "./scan.js";
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

/** Tokens a text costs, estimated from its length. */
export function estimateTokens(text: string, charsPerToken = 4): number {
  return Math.ceil(text.length / charsPerToken);
}
