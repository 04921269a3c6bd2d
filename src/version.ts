/** fixloop's version, from its package.json (one source of truth for `--version`, the banner and the API). */
import { readFileSync } from "node:fs";

let cached: string | undefined;

export function fixloopVersion(): string {
  cached ??= (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
  return cached;
}
