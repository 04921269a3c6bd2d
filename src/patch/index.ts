/** The patch step: read the edits in a model answer (any format), check them against the safety rules, apply them in memory. */
export { extractDiff } from "./extract.js";
export { parsePatch, pathsToFetch, type ParsePatchOptions } from "./parse.js";
export {
  CI_CONFIG_GLOBS,
  DEFAULT_SAFETY_RULES,
  LOCKFILE_NAMES,
  REPO_SETTINGS_GLOBS,
  changesOfPatch,
  checkChangeSafety,
  checkPatchSafety,
  isTestPath,
  normaliseRepoPath,
  type ChangeToCheck,
} from "./safety.js";
export { applyPatch } from "./apply.js";
export { renderChangesAsDiff } from "./hunks.js";
export {
  EDIT_FORMATS,
  editFormatOfVariant,
  readEdits,
  shownFilesFrom,
  type EditFormat,
  type EditsRead,
  type ReadEditsOptions,
  type ShownFiles,
} from "./read.js";
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
