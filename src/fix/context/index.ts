/** The failure-context builder: CI output in, a redacted, budgeted excerpt out. */
export type { ContextOptions, FailureClass, FailureContext, FileRef, InfraKind, LogFormat } from "./types.js";
export { DEFAULT_BUDGET_TOKENS, DEFAULT_CHARS_PER_TOKEN } from "./types.js";
export { buildFailureContext, estimateTokens, type LogSource } from "./build.js";
export { contextFromCheckRun, contextFromCheckRuns, type CheckRunAnnotation, type CheckRunInput } from "./checkRuns.js";
export { mergeFailureContexts } from "./merge.js";
export { selectFilesForPrompt, type PromptFile, type SelectFilesOptions } from "./files.js";
export { normalizeRepoPath, stripWorkspacePaths } from "./paths.js";
export { LogAnalyzer } from "./analyzer.js";
export { BaselineLines, lineFingerprint } from "./baseline.js";
export { redactSecrets, redactLines, LineRedactor, type RedactionResult } from "../redact.js";
