/** The shapes shared by the patch modules: a parsed diff, safety rules and apply results. */

export interface PatchLine {
  kind: " " | "-" | "+";
  text: string;
}

export interface PatchHunk {
  /** 1-based first line of the hunk in the original file, as the diff claims it; null when the header had none. */
  oldStart: number | null;
  lines: PatchLine[];
  /**
   * A line the hunk's place follows (git's `@@ … @@ function()` context, apply_patch's `@@ class Foo`):
   * used only to choose between places the hunk's own lines fit equally well.
   */
  anchor?: string;
  /**
   * 0-based file line the old side starts at, set only for hunks fixloop computed from the file itself
   * (a whole-file answer), never from a model's line numbers: such a hunk is placed there when it matches.
   */
  pinnedAt?: number;
  /** "\ No newline at end of file" followed the last old-side line. */
  oldNoNewlineAtEnd?: boolean;
  /** "\ No newline at end of file" followed the last new-side line. */
  newNoNewlineAtEnd?: boolean;
}

export interface PatchFile {
  /** Repo-relative path before the change; null for a created file. */
  oldPath: string | null;
  /** Repo-relative path after the change; null for a deleted file. */
  newPath: string | null;
  isNew: boolean;
  isDeleted: boolean;
  isBinary: boolean;
  isSymlink: boolean;
  /** A gitlink (mode 160000): never written as a file. */
  isSubmodule: boolean;
  hunks: PatchHunk[];
  /**
   * The answer says this file goes away (prose or an apply_patch Delete). When its hunks remove every
   * line, the file is deleted; without this, a patch that empties a file is refused as ambiguous.
   */
  deleteIntent?: boolean;
}

export class PatchParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PatchParseError";
  }
}

export interface SafetyRules {
  maxChangedLines: number;
  maxFiles: number;
  /** Globs (picomatch; a pattern without "/" matches the base name anywhere). */
  exclude: string[];
  allowWorkflows: boolean;
  allowLockfiles: boolean;
  /** Composite actions (.github/actions/**) and other CI systems' config. */
  allowCiConfig?: boolean;
  /** package.json lifecycle scripts (preinstall, postinstall, prepare…) and a test script that cannot fail. */
  allowInstallScripts?: boolean;
  /** CODEOWNERS, .github/fixloop.yml, Dependabot and Renovate settings. */
  allowRepoSettings?: boolean;
}

export interface SafetyViolation {
  path: string | null;
  rule: string;
  message: string;
}

export interface FileChange {
  path: string;
  /** New full content; null deletes the file. */
  content: string | null;
}

export interface ApplyFailure {
  path: string;
  /** 1-based hunk number within the file; null when the failure concerns the whole file. */
  hunk: number | null;
  reason: string;
}

export type ApplyResult =
  | { ok: true; changes: FileChange[]; changedLines: number }
  | { ok: false; failures: ApplyFailure[] };
