/**
 * Rules a patch must pass before it is applied anywhere: where it may write,
 * what kinds of files, how much, and that it does not just silence tests.
 *
 * One entry point for every edit format and every caller (the fix job and
 * `fixloop apply`): `checkChangeSafety` takes a list of file changes (paths,
 * kind, added and removed lines), whatever format they were parsed from;
 * `checkPatchSafety` is its adapter for unified diffs. Paths are normalised
 * before any rule looks at them, and a path that is not already in normal form
 * is refused, so `.github/./workflows/x.yml` and `src//secret.ts` are seen as
 * what they are.
 *
 * The fix branch is pushed with the app's token and the repo's CI runs it
 * with the repo's secrets before anyone reviews it, so files that steer CI or
 * install-time code, and added lines that fetch and run code or send the
 * environment away, are refused unless the repository allows them.
 */
import picomatch from "picomatch";
import { splitSource } from "./lines.js";
import type { PatchFile, SafetyRules, SafetyViolation } from "./types.js";

export const DEFAULT_SAFETY_RULES: SafetyRules = {
  maxChangedLines: 200,
  maxFiles: 10,
  exclude: [],
  allowWorkflows: false,
  allowLockfiles: false,
  allowCiConfig: false,
  allowInstallScripts: false,
  allowRepoSettings: false,
};

/** One file's change, in no particular edit format: what every rule below needs to know. */
export interface ChangeToCheck {
  /** Repo-relative path before the change; null for a created file. */
  oldPath: string | null;
  /** Repo-relative path after the change; null for a deleted file. */
  newPath: string | null;
  isNew?: boolean;
  isDeleted?: boolean;
  isBinary?: boolean;
  isSymlink?: boolean;
  isSubmodule?: boolean;
  added: string[];
  removed: string[];
  /** Changed lines when the format knows better than added + removed (a deletion without hunks). */
  changedLines?: number;
}

/** A unified diff's files as format-neutral changes. */
export function changesOfPatch(files: PatchFile[]): ChangeToCheck[] {
  return files.map((file) => ({
    oldPath: file.oldPath,
    newPath: file.newPath,
    isNew: file.isNew,
    isDeleted: file.isDeleted,
    isBinary: file.isBinary,
    isSymlink: file.isSymlink,
    isSubmodule: file.isSubmodule,
    added: file.hunks.flatMap((hunk) => hunk.lines.filter((line) => line.kind === "+").map((line) => line.text)),
    removed: file.hunks.flatMap((hunk) => hunk.lines.filter((line) => line.kind === "-").map((line) => line.text)),
  }));
}

const WORKFLOW_GLOB = ".github/workflows/**";

/** Files that steer CI besides workflows: composite actions and other CI systems' config. */
export const CI_CONFIG_GLOBS: readonly string[] = [
  ".github/actions/**",
  "action.yml",
  "action.yaml",
  ".gitlab-ci.yml",
  ".gitlab-ci.yaml",
  ".gitlab/ci/**",
  ".circleci/**",
  "**/Jenkinsfile",
  "Jenkinsfile.*",
  "azure-pipelines.yml",
  "azure-pipelines.yaml",
  ".azure-pipelines/**",
  ".buildkite/**",
  ".travis.yml",
  "bitbucket-pipelines.yml",
  ".drone.yml",
  ".woodpecker.yml",
  ".woodpecker/**",
  "appveyor.yml",
  ".appveyor.yml",
  ".gitea/workflows/**",
  ".forgejo/workflows/**",
  "cloudbuild.yaml",
  "cloudbuild.yml",
];

/** Files that decide who reviews, what fixloop may do and what bots update. */
export const REPO_SETTINGS_GLOBS: readonly string[] = [
  "CODEOWNERS",
  ".github/CODEOWNERS",
  "docs/CODEOWNERS",
  ".gitlab/CODEOWNERS",
  ".github/fixloop.yml",
  ".github/fixloop.yaml",
  ".github/dependabot.yml",
  ".github/dependabot.yaml",
  "renovate.json",
  "renovate.json5",
  ".github/renovate.json",
  ".github/renovate.json5",
  ".renovaterc",
  ".renovaterc.json",
];

/** npm lifecycle scripts that run on install, pack or publish: code that runs wherever the package is installed. */
const LIFECYCLE_SCRIPT = /^\s*"(?:pre|post)?(?:install|prepare|prepublish|prepublishOnly|prepack|postpack|publish|dependencies|uninstall)"\s*:/;
/** A `test` script that cannot fail: an empty command, `true`, `exit 0`, `echo …`, `:` or anything ending in `|| true`. */
const NOOP_TEST_SCRIPT = /^\s*"test"\s*:\s*"(?:\s*|\s*(?:true|:|exit 0|echo\b[^"]*)\s*|[^"]*\|\|\s*(?:true|:|exit 0)\s*)"/;

/** Added lines that download and run code, or send the environment over the network. */
const DANGEROUS_LINES: readonly { rule: string; message: string; pattern: RegExp }[] = [
  {
    rule: "fetch-and-execute",
    message: "adds a line that downloads and runs code",
    pattern: /\b(?:curl|wget|fetch|iwr|invoke-webrequest)\b[^\n|]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:ba|z|da|k|fi)?sh\b|\b(?:curl|wget|iwr|invoke-webrequest)\b[^\n|]*\|\s*(?:sudo\s+)?(?:python[0-9.]*|node|perl|ruby|php|iex|invoke-expression)\b/i,
  },
  {
    rule: "fetch-and-execute",
    message: "adds a line that runs code fetched from the network",
    pattern: /\b(?:eval|source|\.|(?:ba|z|da)?sh\s+-c|iex|invoke-expression)\s*[("'`]*\s*(?:\$\(|<\(|`|\()\s*(?:curl|wget|iwr|invoke-webrequest|irm|invoke-restmethod)\b/i,
  },
  {
    rule: "fetch-and-execute",
    message: "adds a line that runs code fetched from the network",
    pattern: /\b(?:ba|z|da)?sh\s+<\(\s*(?:curl|wget)\b/i,
  },
  {
    rule: "env-exfiltration",
    message: "adds a line that sends the environment over the network",
    pattern: /\b(?:printenv|env|set|export\s+-p)\s*(?:\|\s*(?:base64|gzip|xxd)\s*)*\|\s*(?:curl|wget|nc|ncat|netcat|socat|openssl\s+s_client)\b|\b(?:curl|wget)\b[^\n]*(?:\$\(\s*(?:printenv|env)\s*\)|`\s*(?:printenv|env)\s*`|\/proc\/(?:self|\d+|\$\$)\/environ)/i,
  },
  {
    rule: "env-exfiltration",
    message: "adds a line that serialises the whole environment",
    pattern: /JSON\.stringify\(\s*process\.env\s*[),]|json\.dumps\(\s*(?:dict\(\s*)?os\.environ\b|\bos\.Environ\(\)\s*\)|ENV\.to_h\b|toJSON\(\s*env\s*\)/,
  },
];

/** Dependency lock files: regenerated by tools, never hand-edited by a fix. */
export const LOCKFILE_NAMES: readonly string[] = [
  "package-lock.json",
  "npm-shrinkwrap.json",
  "yarn.lock",
  "pnpm-lock.yaml",
  "bun.lock",
  "bun.lockb",
  "deno.lock",
  "Cargo.lock",
  "poetry.lock",
  "Pipfile.lock",
  "pdm.lock",
  "uv.lock",
  "Gemfile.lock",
  "go.sum",
  "go.work.sum",
  "composer.lock",
  "mix.lock",
  "pubspec.lock",
  "Podfile.lock",
  "Package.resolved",
  "packages.lock.json",
  "gradle.lockfile",
  "flake.lock",
  "conan.lock",
  "paket.lock",
];
const LOCKFILES = new Set(LOCKFILE_NAMES.map((name) => name.toLowerCase()));

/** Files whose purpose is testing, by the usual conventions of JS/TS, Python, Go, Ruby, Rust, JVM and .NET projects. */
const TEST_PATH_PATTERNS: readonly RegExp[] = [
  /(^|\/)(__tests__|__test__|tests?|specs?|e2e|testing)\//i,
  /\.(test|spec|e2e)\.[cm]?[jt]sx?$/i,
  /(^|\/)test_[^/]*\.py$/i,
  /_test\.(py|go|rb|exs?|dart)$/i,
  /_spec\.rb$/i,
  /(Tests?|Spec|IT)\.(java|kt|scala|cs|swift|php)$/,
];

/** Added lines that turn tests off (or narrow a run to a few tests). */
const SKIP_MARKERS: readonly RegExp[] = [
  /\b(?:it|test|describe|suite|context|specify|bench)\s*\.\s*(?:skip|skipIf|todo|only)\b/,
  /(?:^|[^\w.])(?:xit|xtest|xdescribe|xcontext|xspecify|fit|fdescribe|fcontext)\s*\(/,
  /@pytest\.mark\.(?:skip|skipif|xfail)\b/,
  /@unittest\.(?:skip|skipIf|skipUnless|expectedFailure)\b/,
  /\bpytest\.skip\s*\(/,
  /\.skipTest\s*\(/,
  /#\[\s*ignore\b/,
  /\bt\.Skip(?:f|Now)?\s*\(/,
  /@(?:Disabled|Ignore)\b/,
  /\[\s*Ignore\s*[\](]/,
  /\bmarkTestSkipped\s*\(/,
  /^\s*(?:skip|pending)(?:\s*\(|\s+["'])/,
];

/** Lines that define a test; removing more of them than a patch adds removes tests. */
const TEST_DEFINITIONS: readonly RegExp[] = [
  /(?:^|[^\w.])(?:it|test|specify)(?:\s*\.\s*\w+)?\s*\(\s*["'`]/,
  /^\s*(?:async\s+)?def\s+test_?\w*\s*\(/,
  /#\[\s*(?:tokio::)?test\b/,
  /^\s*func\s+Test\w*\s*\(/,
  /@Test\b/,
  /^\s*it\s+["']/,
];

/** Lines that assert something in a test, across the usual frameworks. */
const ASSERTIONS: readonly RegExp[] = [
  /\bexpect\s*\(/,
  /\bassert(?:_\w+|[A-Z]\w*)?\b\s*[(!]?/,
  /\bshould(?:\.|\s*\()/,
  /\b(?:t|b|s|suite)\.(?:Error|Errorf|Fatal|Fatalf|Fail|FailNow)\s*\(/,
  /\b(?:require|assert)\.\w+\s*\(/,
  /\bXCTAssert\w*\s*\(/,
  /\b(?:self|this)\.assert\w*\s*\(/,
  /\bverify\s*\(/,
  /\bpanic!\s*\(/,
];

/** Added lines that do nothing, or stop the rest of a test from running. */
const INERT_LINE = /^\s*(?:$|\/\/|#(?!\[)|\/\*|\*|--|pass\b|return\s*;?\s*$|return\s+(?:nil|None|true|false|0)?\s*;?\s*$|[{}()\[\];,]+\s*$)/;

function countMatches(lines: string[], patterns: readonly RegExp[]): number {
  return lines.filter((line) => patterns.some((pattern) => pattern.test(line))).length;
}

export function isTestPath(path: string): boolean {
  return TEST_PATH_PATTERNS.some((pattern) => pattern.test(path));
}

/**
 * The path as git would name it: "/" separators, no "." or empty segments, no
 * leading "./". ".." is kept (and refused later), so nothing is resolved away.
 */
export function normaliseRepoPath(path: string): string {
  const slashed = path.replace(/\\/g, "/");
  const segments = slashed.split("/").filter((segment) => segment !== "" && segment !== ".");
  return (slashed.startsWith("/") ? "/" : "") + segments.join("/");
}

/** Why a path may not be written at all, or null. Backslashes count as separators: the check must not depend on the OS. */
function pathProblem(path: string): { rule: string; message: string } | null {
  if (path.trim() === "") return { rule: "invalid-path", message: "empty path" };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return { rule: "invalid-path", message: "path contains control characters" };
  const slashed = path.replace(/\\/g, "/");
  if (slashed.startsWith("/") || slashed.startsWith("~") || /^[A-Za-z]:/.test(slashed)) {
    return { rule: "absolute-path", message: "absolute paths are not allowed" };
  }
  // A fix has no reason to name a file with escaped dots or separators; tools downstream may decode them.
  if (/%(2e|2f|5c)/i.test(path)) return { rule: "encoded-path", message: "paths may not contain percent-encoded '.', '/' or '\\'" };
  const segments = slashed.split("/");
  if (segments.includes("..")) return { rule: "path-traversal", message: "paths may not contain '..'" };
  if (segments.some((segment) => segment.toLowerCase() === ".git")) {
    return { rule: "git-dir", message: "paths inside .git are not allowed" };
  }
  return null;
}

/** Exclude globs as .gitignore reads them: a pattern with a "/" matches the whole path, one without matches a base name anywhere. */
function excludeMatcher(patterns: string[]): (path: string) => boolean {
  const pathPatterns = patterns.filter((pattern) => pattern.includes("/"));
  const namePatterns = patterns.filter((pattern) => !pattern.includes("/"));
  const byPath = pathPatterns.length > 0 ? picomatch(pathPatterns, { dot: true }) : () => false;
  const byName = namePatterns.length > 0 ? picomatch(namePatterns, { dot: true, basename: true }) : () => false;
  return (path) => byPath(path) || byName(path);
}

function changePaths(change: ChangeToCheck): string[] {
  const paths = [change.oldPath, change.newPath].filter((path): path is string => path !== null);
  return [...new Set(paths)];
}

/** Every added line is a skip marker (or blank), and every removed one a test definition the markers replace. */
function onlySilencesTests(added: string[], removed: string[]): boolean {
  const addedCode = added.filter((line) => line.trim() !== "");
  const removedCode = removed.filter((line) => line.trim() !== "");
  if (addedCode.length === 0) return false;
  return addedCode.every((line) => SKIP_MARKERS.some((p) => p.test(line))) && removedCode.every((line) => TEST_DEFINITIONS.some((p) => p.test(line)));
}

/** A patch that, besides test files, changes nothing but disables tests has not fixed anything. */
function disablesTestsOnly(changes: ChangeToCheck[], originals: Record<string, string | undefined>): string | null {
  let skipsAdded = 0;
  let testFilesDeleted = 0;
  let testsRemoved = 0;
  for (const change of changes) {
    const paths = changePaths(change).map(normaliseRepoPath);
    const { added, removed } = change;
    // Tests also live inside source files (Rust's #[cfg(test)], doctests…): a change there that only
    // adds skip markers, or turns a test definition into a skipped one, silences tests too.
    if (!paths.every(isTestPath) && !onlySilencesTests(added, removed)) return null;
    if (change.isDeleted) {
      testFilesDeleted++;
      continue;
    }
    skipsAdded += Math.max(0, countMatches(added, SKIP_MARKERS) - countMatches(removed, SKIP_MARKERS));
    testsRemoved += Math.max(0, countMatches(removed, TEST_DEFINITIONS) - countMatches(added, TEST_DEFINITIONS));
    // A file emptied of its tests counts as deleting it.
    const original = change.oldPath === null ? undefined : originals[change.oldPath];
    if (original !== undefined && added.length === 0 && removed.length > 0 && removed.length >= original.split("\n").filter((l) => l.trim()).length) {
      testFilesDeleted++;
    }
  }
  const parts: string[] = [];
  if (skipsAdded > 0) parts.push(`adds ${skipsAdded} skip/only marker(s)`);
  if (testFilesDeleted > 0) parts.push(`deletes ${testFilesDeleted} test file(s)`);
  if (testsRemoved > 0) parts.push(`removes ${testsRemoved} test(s)`);
  if (parts.length === 0) return null;
  return `the patch only changes tests and ${parts.join(", ")}: disabling tests is not a fix`;
}

/** Test markers a model may remove without replacing: `#[test]`, `@Test`, `[Test]`/`[Fact]`. */
const TEST_MARKERS: readonly RegExp[] = [/#\[\s*(?:tokio::|async_std::)?test\b/, /@(?:Test|ParameterizedTest|RepeatedTest)\b/, /\[\s*(?:Test|Fact|Theory|TestMethod)\s*[\](]/];

/**
 * The change to this file only takes checks away: it removes assertions (in a
 * test file) or test markers (anywhere), or adds an early return, and adds
 * nothing but inert lines. Why, or null.
 */
function weakensTests(change: ChangeToCheck, path: string): string | null {
  if (change.isDeleted) return null;
  const addedCode = change.added.filter((line) => line.trim() !== "");
  const removedCode = change.removed.filter((line) => line.trim() !== "");
  const kept = new Set(removedCode.map((line) => line.trim()));
  // Lines moved or re-indented are not new code.
  const newCode = addedCode.filter((line) => !kept.has(line.trim()));
  if (!newCode.every((line) => INERT_LINE.test(line))) return null;
  const inTestFile = isTestPath(path);
  const assertionsLost = inTestFile ? countMatches(removedCode, ASSERTIONS) - countMatches(addedCode, ASSERTIONS) : 0;
  const markersLost = countMatches(removedCode, TEST_MARKERS) - countMatches(addedCode, TEST_MARKERS);
  const earlyReturn = inTestFile && newCode.some((line) => /^\s*return\b/.test(line));
  const what: string[] = [];
  if (assertionsLost > 0) what.push(`removes ${assertionsLost} assertion(s)`);
  if (markersLost > 0) what.push(`removes ${markersLost} test marker(s)`);
  if (earlyReturn && removedCode.length === 0) what.push("adds an early return");
  if (what.length === 0) return null;
  return `the change to this file only ${what.join(" and ")}: weakening tests is not a fix`;
}

/** package.json changes that add install-time code or make the test script unable to fail. */
function installScriptProblem(change: ChangeToCheck): string | null {
  const lifecycle = change.added.find((line) => LIFECYCLE_SCRIPT.test(line) && !change.removed.some((r) => r.trim() === line.trim()));
  if (lifecycle) return `adds or changes an install-time lifecycle script (${lifecycle.trim().slice(0, 80)})`;
  const noop = change.added.find((line) => NOOP_TEST_SCRIPT.test(line));
  if (noop) return `turns the test script into a command that cannot fail (${noop.trim().slice(0, 80)})`;
  return null;
}

const matcher = (globs: readonly string[]) => picomatch([...globs], { dot: true, nocase: true });
const isWorkflowPath = matcher([WORKFLOW_GLOB]);
const isCiConfigPath = matcher(CI_CONFIG_GLOBS);
const isRepoSettingsPath = matcher(REPO_SETTINGS_GLOBS);

/**
 * Every rule the changes break (empty when they are acceptable): the one
 * safety check of every edit format, for the fix job and `fixloop apply`
 * alike. `originals`, when given, lets content-based rules see the current
 * files (binary content, a test file emptied, a deletion's size).
 */
export function checkChangeSafety(
  changes: ChangeToCheck[],
  rules: SafetyRules,
  originals: Record<string, string | undefined> = {},
): SafetyViolation[] {
  const violations: SafetyViolation[] = [];
  const isExcluded = excludeMatcher(rules.exclude);
  const touched = new Set<string>();
  let changedLines = 0;

  for (const change of changes) {
    const paths = changePaths(change);
    if (paths.length === 0) violations.push({ path: null, rule: "invalid-path", message: "a file section has no path" });
    for (const path of paths) {
      const problem = pathProblem(path);
      if (problem) {
        touched.add(path);
        violations.push({ path, ...problem });
        continue;
      }
      const normalised = normaliseRepoPath(path);
      touched.add(normalised);
      if (normalised !== path) {
        violations.push({ path, rule: "non-canonical-path", message: `the path is not in normal form (write it as ${normalised})` });
      }
      if (isExcluded(normalised)) {
        violations.push({ path, rule: "excluded-path", message: "the path matches an exclude rule of the configuration" });
      }
      if (!rules.allowWorkflows && isWorkflowPath(normalised)) {
        violations.push({ path, rule: "workflow-file", message: "workflow files may not be changed unless allowed" });
      }
      if (!rules.allowCiConfig && isCiConfigPath(normalised)) {
        violations.push({ path, rule: "ci-config", message: "composite actions and CI configuration may not be changed unless allowed (allow.ci_config)" });
      }
      if (!rules.allowRepoSettings && isRepoSettingsPath(normalised)) {
        violations.push({ path, rule: "repo-settings", message: "CODEOWNERS, fixloop, Dependabot and Renovate settings may not be changed unless allowed (allow.repo_settings)" });
      }
      const base = normalised.slice(normalised.lastIndexOf("/") + 1).toLowerCase();
      if (!rules.allowLockfiles && LOCKFILES.has(base)) {
        violations.push({ path, rule: "lockfile", message: "lock files may not be changed unless allowed" });
      }
      if (!rules.allowInstallScripts && base === "package.json") {
        const scripts = installScriptProblem(change);
        if (scripts) violations.push({ path, rule: "install-script", message: `${scripts}; not allowed unless allow.install_scripts` });
      }
      if (originals[path]?.includes("\u0000")) {
        violations.push({ path, rule: "binary-file", message: "the file is binary" });
      }
    }
    const label = change.newPath ?? change.oldPath;
    if (change.isBinary) violations.push({ path: label, rule: "binary-file", message: "binary patches are not allowed" });
    if (change.isSymlink) violations.push({ path: label, rule: "symlink", message: "symlinks may not be created or changed" });
    if (change.isSubmodule) violations.push({ path: label, rule: "submodule", message: "submodules may not be created or changed" });
    if (change.added.some((line) => line.includes("\u0000"))) {
      violations.push({ path: label, rule: "binary-content", message: "added lines contain NUL bytes" });
    }
    for (const danger of DANGEROUS_LINES) {
      const line = change.added.find((text) => danger.pattern.test(text));
      if (line && !violations.some((v) => v.path === label && v.rule === danger.rule)) {
        violations.push({ path: label, rule: danger.rule, message: `${danger.message}: ${line.trim().slice(0, 120)}` });
      }
    }
    if (label !== null) {
      const weakened = weakensTests(change, normaliseRepoPath(label));
      if (weakened) violations.push({ path: label, rule: "weakens-tests", message: weakened });
    }
    changedLines += change.changedLines ?? change.added.length + change.removed.length;
    if (change.isDeleted && change.added.length === 0 && change.removed.length === 0 && change.oldPath !== null) {
      const original = originals[change.oldPath];
      if (original !== undefined) changedLines += splitSource(original).lines.length;
    }
  }

  if (touched.size > rules.maxFiles) {
    violations.push({ path: null, rule: "max-files", message: `the patch touches ${touched.size} files; the limit is ${rules.maxFiles}` });
  }
  if (changedLines > rules.maxChangedLines) {
    violations.push({
      path: null,
      rule: "max-changed-lines",
      message: `the patch changes ${changedLines} lines; the limit is ${rules.maxChangedLines}`,
    });
  }
  const testsOnly = disablesTestsOnly(changes, originals);
  if (testsOnly) violations.push({ path: null, rule: "disables-tests", message: testsOnly });
  return violations;
}

/** `checkChangeSafety` for a parsed unified diff. */
export function checkPatchSafety(files: PatchFile[], rules: SafetyRules, originals: Record<string, string | undefined> = {}): SafetyViolation[] {
  return checkChangeSafety(changesOfPatch(files), rules, originals);
}
