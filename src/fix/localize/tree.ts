/**
 * The repository's file list at the failing commit, indexed so that what a log
 * says (a bare `Foo.java`, `pkg/Foo.java`, `org.acme.Foo`, `tests.test_x`, a Go
 * import path) maps to the real paths. A lookup returns every match: choosing
 * between several is the ranker's job, with the other evidence.
 */
import { joinPath, type Target } from "./evidence.js";

/** Dependencies, build output and generated code: not the project's own files. */
const NOT_PROJECT_CODE =
  /(?:^|\/)(?:node_modules|bower_components|jspm_packages|vendor|third_party|site-packages|dist-packages|\.venv|venv|\.tox|__pycache__|target|build|dist|out|obj|\.gradle|\.next|\.nuxt|coverage|generated|\.git)\//;

/** Dependency manifests and the lock files their tools write. */
const DEPENDENCY_PAIRS: [manifests: string[], locks: string[]][] = [
  [["Gemfile", "gems.rb"], ["Gemfile.lock", "gems.locked"]],
  [["Cargo.toml"], ["Cargo.lock"]],
  [["package.json"], ["package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock"]],
  [["composer.json"], ["composer.lock"]],
  [["pyproject.toml"], ["poetry.lock", "uv.lock", "pdm.lock"]],
  [["Pipfile"], ["Pipfile.lock"]],
  [["go.mod"], ["go.sum"]],
  [["mix.exs"], ["mix.lock"]],
  [["Package.swift"], ["Package.resolved"]],
  [["pubspec.yaml"], ["pubspec.lock"]],
];

export function isProjectPath(path: string): boolean {
  return !NOT_PROJECT_CODE.test(path);
}

const JVM_EXTENSIONS = [".java", ".kt", ".scala", ".groovy"];

function basenameOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

export class RepoTree {
  private readonly byName = new Map<string, string[]>();
  private readonly dirs = new Set<string>();
  readonly paths: ReadonlySet<string>;

  /** `truncated`: the listing is known to be incomplete (GitHub cut a big tree). */
  constructor(
    paths: Iterable<string>,
    readonly truncated = false,
  ) {
    const kept = new Set<string>();
    for (const path of paths) {
      if (!isProjectPath(path)) continue;
      kept.add(path);
      const name = basenameOf(path);
      const list = this.byName.get(name);
      if (list) list.push(path);
      else this.byName.set(name, [path]);
      for (let dir = dirOf(path); dir !== "" && !this.dirs.has(dir); dir = dirOf(dir)) this.dirs.add(dir);
    }
    this.paths = kept;
  }

  get size(): number {
    return this.paths.size;
  }

  has(path: string): boolean {
    return this.paths.has(path);
  }

  hasDir(dir: string): boolean {
    return this.dirs.has(dir);
  }

  /** Files named `name`, anywhere. */
  named(name: string): string[] {
    return this.byName.get(name) ?? [];
  }

  /** Files whose path is `suffix` or ends with `/suffix`. */
  endingWith(suffix: string): string[] {
    if (this.paths.has(suffix) && !suffix.includes("/")) return [suffix];
    return this.named(basenameOf(suffix)).filter((p) => p === suffix || p.endsWith(`/${suffix}`));
  }

  /**
   * A path as a log prints it (relative to some other root, or with a prefix the
   * runner added): the exact path, else the files it ends with, dropping leading
   * segments of the given path until something matches.
   */
  resolvePath(path: string): string[] {
    if (this.paths.has(path)) return [path];
    const outside = isOutsidePath(path);
    let rest = outside ? path.replace(/^(?:\.\.\/)+|^\/+/, "") : path;
    // An absolute path's lone file name says too little (`/usr/…/json.rb` is not the repo's `json.rb`).
    const minSegments = path.startsWith("/") ? 2 : 1;
    for (;;) {
      if (rest.split("/").length < minSegments) return [];
      const found = this.endingWith(rest);
      if (found.length > 0) return found;
      const slash = rest.indexOf("/");
      if (slash === -1) return [];
      rest = rest.slice(slash + 1);
    }
  }

  /** `org.acme.Foo$Bar` (+ `Foo.kt` when the frame says so) → `…/org/acme/Foo.java`. */
  resolveJvmClass(name: string, file: string | null): string[] {
    const parts = name.split(".");
    // The class is the first segment that starts upper-case; the rest are nested classes.
    let classAt = parts.findIndex((p) => /^[A-Z]/.test(p));
    if (classAt === -1) classAt = parts.length - 1;
    const packageDirs = parts.slice(0, classAt).join("/");
    const outer = parts[classAt].split("$")[0];
    const names = file ? [file] : JVM_EXTENSIONS.map((ext) => `${outer}${ext}`);
    for (const fileName of names) {
      const found = packageDirs ? this.endingWith(`${packageDirs}/${fileName}`) : this.named(fileName);
      if (found.length > 0) return found;
    }
    return [];
  }

  /** `tests.test_x.TestCase` → `tests/test_x.py`; `pkg.Name` → `pkg/__init__.py` when `pkg` is a package; under any source root. */
  resolvePythonModule(name: string): string[] {
    const parts = name.split(".").filter(Boolean);
    for (let n = parts.length; n >= 1; n -= 1) {
      const stem = parts.slice(0, n).join("/");
      const found = this.endingWith(`${stem}.py`);
      if (found.length > 0) return found;
      // A package: `pkg` itself, or `pkg.Name` for a name its `__init__.py` defines or re-exports.
      const init = this.endingWith(`${stem}/__init__.py`);
      if (init.length > 0) return init;
    }
    return [];
  }

  /** A Go import path → the directory it names (the longest tail of it that is a directory here). */
  resolveGoPackage(name: string): string[] {
    const parts = name.split("/");
    for (let start = 0; start < parts.length; start += 1) {
      const dir = parts.slice(start).join("/");
      if (this.dirs.has(dir)) {
        return [...this.paths].filter((p) => dirOf(p) === dir && p.endsWith(".go")).sort((a, b) => Number(a.endsWith("_test.go")) - Number(b.endsWith("_test.go")));
      }
    }
    return [];
  }

  /** A sharness test number → the script `t<number>-<title>.sh` (git, and projects using its test-lib). */
  resolveTestScript(number: string): string[] {
    const prefix = `t${number}-`;
    const found: string[] = [];
    for (const [name, paths] of this.byName) if (name.startsWith(prefix) && name.endsWith(".sh")) found.push(...paths);
    return found.sort();
  }

  resolve(target: Target): string[] {
    switch (target.type) {
      case "path": {
        // Written after a `cd`: the path from that directory, when it is a file there.
        const fromCwd = target.cwd ? joinPath(target.cwd, target.path) : null;
        if (fromCwd && this.paths.has(fromCwd)) return [fromCwd];
        // A bare token names a file only as a whole: `t/README` is not any `README`.
        return target.whole ? this.endingWith(target.path) : this.resolvePath(target.path);
      }
      case "jvm-class":
        return this.resolveJvmClass(target.name, target.file);
      case "python-module":
        return this.resolvePythonModule(target.name);
      case "go-package":
        return this.resolveGoPackage(target.name);
      case "test-script":
        return this.resolveTestScript(target.number);
    }
  }

  /**
   * A dependency manifest's lock file, or a lock file's manifest (`Gemfile` ↔ `Gemfile.lock`,
   * `Cargo.toml` ↔ `Cargo.lock`, `package.json` ↔ `package-lock.json`…): a failure about versions is
   * often fixed in the other one. Looked for in the file's directory, then its parents (a
   * workspace's single lock file at the root).
   */
  dependencyCompanionsOf(path: string): string[] {
    const name = basenameOf(path);
    const others = DEPENDENCY_PAIRS.flatMap(([manifests, locks]) => (manifests.includes(name) ? locks : locks.includes(name) ? manifests : []));
    if (others.length === 0) return [];
    const isLock = DEPENDENCY_PAIRS.some(([, locks]) => locks.includes(name));
    for (let dir = dirOf(path); ; dir = dirOf(dir)) {
      const found = others.map((o) => (dir === "" ? o : `${dir}/${o}`)).filter((p) => this.paths.has(p));
      if (found.length > 0) return found;
      // A lock file's manifest is beside it; only a manifest looks up for a workspace's lock.
      if (dir === "" || isLock) return [];
    }
  }

  /**
   * The source a test most likely exercises: `FooTest.java` → `Foo.java` in the
   * same package, `test_foo.py` → `foo.py`, `foo.test.ts` → `foo.ts`, `foo_test.go`
   * → `foo.go`, `foo_spec.rb` → `foo.rb`. Several candidates are ordered by how
   * much of the test's directory path they share.
   */
  companionsOf(testPath: string): string[] {
    const name = basenameOf(testPath);
    const stems = companionNames(name);
    if (stems.length === 0) return [];
    const testDirs = dirOf(testPath).split("/");
    const found = new Set<string>();
    for (const stem of stems) for (const path of this.named(stem)) if (path !== testPath && !isTestPath(path)) found.add(path);
    return [...found].sort((a, b) => shared(b, testDirs) - shared(a, testDirs));
  }

  /**
   * Sources a test's name spells as a path: `test_eos_vlans.py` → `…/eos/…/vlans.py`,
   * `http_client_test.go` → `…/http/…/client.go` — the last word is the file, the others
   * directories on its path (singular or plural). Only names of two words or more; every match is returned.
   */
  nestedCompanionsOf(testPath: string): string[] {
    const found = new Set<string>();
    for (const stem of companionNames(basenameOf(testPath))) {
      const dot = stem.lastIndexOf(".");
      const words = stem.slice(0, dot).split("_").filter(Boolean);
      if (words.length < 2) continue;
      const file = `${words.at(-1)}${stem.slice(dot)}`;
      const dirs = words.slice(0, -1);
      for (const path of this.named(file)) {
        const segments = dirOf(path).split("/");
        // `test_pipeline_media.py` tests `pipelines/media.py` as well: a word matches its plural or singular.
        if (path !== testPath && !isTestPath(path) && dirs.every((d) => segments.some((s) => s === d || s === `${d}s` || `${s}s` === d))) found.add(path);
      }
    }
    return [...found].sort();
  }
}

/** A path as written outside any checkout layout (absolute, or `../` from a build directory). */
export function isOutsidePath(path: string): boolean {
  return path.startsWith("/") || path.startsWith("../");
}

function shared(path: string, dirs: string[]): number {
  const mine = new Set(dirOf(path).split("/"));
  return dirs.filter((d) => mine.has(d) && !/^(?:src|test|tests|main|java|lib|spec)$/.test(d)).length;
}

export function isTestPath(path: string): boolean {
  const name = basenameOf(path);
  return (
    /(?:^|\/)(?:tests?|spec|__tests__|testing)\//.test(path) ||
    /^(?:test_|tests_)|_test\.\w+$|_spec\.rb$|\.(?:test|spec)\.[cm]?[jt]sx?$|(?:Test|Tests|IT|Spec|TestCase)\.(?:java|kt|scala|groovy|cs)$|^Test[A-Z]\w*\.(?:java|kt|scala|groovy)$/.test(name)
  );
}

function companionNames(name: string): string[] {
  const out = new Set<string>();
  const add = (candidate: string) => {
    if (candidate !== name && candidate !== "" && !candidate.startsWith(".")) out.add(candidate);
  };
  let m: RegExpExecArray | null;
  if ((m = /^(\w+?)(?:Tests?|IT|Spec|TestCase)\.(java|kt|scala|groovy|cs)$/.exec(name))) add(`${m[1]}.${m[2]}`);
  if ((m = /^Test(\w+)\.(java|kt|scala|groovy)$/.exec(name))) add(`${m[1]}.${m[2]}`);
  if ((m = /^tests?_(\w+)\.py$/.exec(name))) add(`${m[1]}.py`);
  if ((m = /^(\w+)_tests?\.py$/.exec(name))) add(`${m[1]}.py`);
  if ((m = /^(.+)\.(?:test|spec)\.([cm]?[jt]sx?)$/.exec(name))) {
    add(`${m[1]}.${m[2]}`);
    if (m[2].startsWith("t")) add(`${m[1]}.${m[2].replace("t", "j")}`);
  }
  if ((m = /^(\w+)_test\.go$/.exec(name))) add(`${m[1]}.go`);
  if ((m = /^(\w+)_spec\.rb$/.exec(name))) add(`${m[1]}.rb`);
  if ((m = /^(\w+)_test\.rs$/.exec(name))) add(`${m[1]}.rs`);
  return [...out];
}
