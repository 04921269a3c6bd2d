/** The shapes the failure-context builder takes and returns. */
import type { BaselineLines } from "./baseline.js";

export type FailureClass = "code" | "infra";

/** Why a failure is the platform's fault rather than the code's. */
export type InfraKind = "network" | "registry" | "checkout" | "runner-lost" | "cancelled" | "timeout" | "disk-full" | "rate-limit";

/** A repository file an error points at; `path` is repo-relative. */
export interface FileRef {
  path: string;
  line: number | null;
  column: number | null;
}

export interface FailureContext {
  class: FailureClass;
  /** "<kind>: <evidence>" for infra failures, e.g. "network: npm ERR! code ECONNRESET". */
  infraReason: string | null;
  /** Same kind as in infraReason, for code that branches on it. */
  infraKind: InfraKind | null;
  /** The failing step as the log names it, e.g. "Run npm test" or "$ pytest -q". */
  failingStep: string | null;
  /** The redacted excerpt that goes into the prompt, within the budget. */
  context: string;
  /** A handful of key error lines (redacted), for PR bodies. */
  errorLines: string[];
  /** Repository files the errors refer to, repo-relative. */
  files: FileRef[];
  /** Secrets redacted while reading the input. */
  redactions: number;
  /** True when something relevant did not fit the budget or the bounded buffers. */
  truncated: boolean;
  bytesRead: number;
  /** How the input was read when that was not plain UTF-8 text (another encoding, binary data). */
  notice?: string | null;
  /** True when a passing log of the same job was compared with (see ContextOptions.baseline). */
  baselineUsed?: boolean;
  /** Lines of the failing log left out because the passing log has them too. */
  sharedLinesDropped?: number;
}

export type LogFormat = "auto" | "github" | "gitlab" | "gitea";

export interface ContextOptions {
  /** Token budget of `context` (default 2000). */
  budgetTokens?: number;
  /** Characters per token used to estimate sizes (default 4). */
  charsPerToken?: number;
  /** The run's or job's conclusion when known; `cancelled` and `timed_out` force `infra`. */
  conclusion?: string | null;
  format?: LogFormat;
  /**
   * Absolute checkout directories to strip from paths, when the caller knows them
   * (e.g. GitLab's CI_PROJECT_DIR with subgroups). Common runner layouts are known already.
   */
  workspaceRoots?: string[];
  /**
   * The last passing log of the same job, as fingerprints: lines it has too never start
   * an excerpt nor fill the tail (they may still stand as lead-in). Empty or absent: no diff.
   */
  baseline?: BaselineLines | null;
}

export const DEFAULT_BUDGET_TOKENS = 2000;
export const DEFAULT_CHARS_PER_TOKEN = 4;
