/** The patch step: find the diff in a model answer, parse it tolerantly, check it against the safety rules, apply it in memory. */
export { extractDiff } from "./extract.js";
export { parsePatch, pathsToFetch, type ParsePatchOptions } from "./parse.js";
export { DEFAULT_SAFETY_RULES, LOCKFILE_NAMES, checkPatchSafety, isTestPath } from "./safety.js";
export { applyPatch } from "./apply.js";
export {
  PatchParseError,
  type ApplyFailure,
  type ApplyResult,
  type FileChange,
  type PatchFile,
  type PatchHunk,
  type PatchLine,
  type SafetyRules,
  type SafetyViolation,
} from "./types.js";
