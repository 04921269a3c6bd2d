/** Reads a CI job log (text or stream) line by line into a FailureContext. */
import { LogAnalyzer } from "./analyzer.js";
import { LineSplitter } from "./lines.js";
import type { ContextOptions, FailureContext } from "./types.js";

export type LogSource = string | Uint8Array | AsyncIterable<string | Buffer | Uint8Array> | NodeJS.ReadableStream;

/**
 * Builds the failure context of one job log. The source is consumed once, line
 * by line; memory stays bounded whatever the log's size.
 */
export async function buildFailureContext(source: LogSource, options: ContextOptions = {}): Promise<FailureContext> {
  const analyzer = new LogAnalyzer(options);
  const splitter = new LineSplitter((line) => analyzer.pushRaw(line));
  if (typeof source === "string" || source instanceof Uint8Array) {
    splitter.push(source);
  } else {
    for await (const chunk of source as AsyncIterable<string | Buffer | Uint8Array>) splitter.push(chunk);
  }
  splitter.end();
  return analyzer.finish(splitter.bytes);
}

/** Tokens a text costs, estimated from its length. */
export function estimateTokens(text: string, charsPerToken = 4): number {
  return Math.ceil(text.length / charsPerToken);
}
