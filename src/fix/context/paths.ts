/**
 * File references in CI output: find `file:line` mentions in many tools'
 * formats and turn runner paths into repo-relative ones. Anything that is not
 * a file of the repository (dependencies, system paths, `..` escapes) is dropped,
 * since those are files a fix must never touch.
 */
import type { FileRef } from "./types.js";

/** Extensions of files worth reading for a fix: source, build and config files. */
export const EXTENSIONS =
  "tsx|ts|mts|cts|jsx|js|mjs|cjs|vue|svelte|astro|pyi|pyx|py|go|rs|cc|cpp|cxx|c|hpp|hh|hxx|h|mm|m|java|kts|kt|scala|groovy|gradle|rb|rake|php|cs|fs|vb|swift|dart|exs|ex|erl|hrl|hs|mli|ml|cljs|clj|lua|pl|pm|jl|sh|bash|zsh|ps1|sql|yml|yaml|json|toml|xml|html|htm|css|scss|sass|less|mdx|md|proto|tf|hcl|nix|zig|nim|cmake|mk|sol|graphql|gql|prisma|ini|cfg|conf|txt|r";
/** Build files without an extension. */
export const BARE_NAMES = "Makefile|GNUmakefile|Dockerfile|Containerfile|Rakefile|Gemfile|Jenkinsfile|Justfile|Vagrantfile|Procfile";

const PATH_CHARS = "[^\\s:()'\"`<>|,;=\\[\\]{}*?]";
// A path starts where a token starts (which also keeps the search linear on long tokens).
const PATH_WITH_EXT = `(?<!${PATH_CHARS})(?:[A-Za-z]:[\\\\/]|file:\\/\\/)?${PATH_CHARS}*?(?:\\.(?:${EXTENSIONS})|(?<![\\w.-])(?:${BARE_NAMES}))(?![\\w-])`;

/** `path:line`, `path:line:col`, maven `path:[line,col]`. */
const COLON_REF = new RegExp(`(${PATH_WITH_EXT}):(?:(\\d+)(?::(\\d+))?|\\[(\\d+),(\\d+)\\])`, "gi");
/** tsc, MSVC, C#: `path(line,col)`. */
const PAREN_REF = new RegExp(`(${PATH_WITH_EXT})\\((\\d+)(?:,(\\d+))?\\)`, "gi");
/** Python tracebacks. */
const PYTHON_REF = /File "([^"]+)", line (\d+)/g;
/** pytest node ids `tests/test_x.py::test_y`. */
const PYTEST_NODE = /(?<![\w./-])([\w./-]+\.py)::/g;
/** jest / vitest `FAIL  src/a.test.ts`. */
const FAILED_FILE = new RegExp(`^\\s*FAIL\\s+(${PATH_WITH_EXT})`, "i");
/** eslint "stylish": a path alone on a line, then `  3:5  error  message  rule` lines. */
const BARE_PATH_LINE = new RegExp(`^\\s*(${PATH_WITH_EXT})\\s*$`, "i");
const ESLINT_DETAIL = /^\s+(\d+):(\d+)\s+(?:error|warning)\s/;
/** GitHub workflow command `::error file=a.ts,line=3,col=5::message` as Gitea and raw logs keep it. */
const WORKFLOW_COMMAND = /^::(?:error|warning|notice) ([^:]*)::/;
/** Web URLs are not file references, even when they end in `.js:3`. */
const WEB_URL = /\b(?:https?|git|ssh|wss?):\/\/\S+/gi;

/** Checkout directories of the common runners, anchored at the start of a path. */
const WORKSPACE_LAYOUTS: RegExp[] = [
  /^(?:[A-Za-z]:)?\/(?:home|Users)\/[^/]+\/_?work\/([^/]+)\/\1\//, // Actions hosted and self-hosted
  /^[A-Za-z]:\/a\/([^/]+)\/\1\//, // Actions on Windows: D:\a\repo\repo\
  /^.*?\/_work\/([^/]+)\/\1\//, // self-hosted runners elsewhere
  /^\/__w\/([^/]+)\/\1\//, // Actions container jobs
  /^\/github\/workspace\//, // Docker actions
  /^\/builds\/(?:[A-Za-z0-9_-]{8}\/\d+\/)?[^/]+\/[^/]+\//, // GitLab: /builds/group/project/
  /^\/workspace\/[^/]+\/[^/]+\//, // Gitea act_runner: /workspace/owner/repo/
];

/**
 * The same layouts, found anywhere in a line, for shortening paths in excerpts.
 * A checkout directory followed by a separator goes away; the directory itself becomes ".".
 */
const WORKSPACE_IN_TEXT =
  /(?:file:\/\/)?(?:(?:[A-Za-z]:)?[\\/](?:home|Users)[\\/][^\\/\s]+[\\/]_?work[\\/]([^\\/\s]+)[\\/]\1|[A-Za-z]:[\\/]a[\\/]([^\\/\s]+)[\\/]\2|\/__w\/([^/\s]+)\/\3|\/github\/workspace)(?:([\\/])|(?=[\s)'"\]:,;]|$))/g;

/** Dependency, toolchain and VCS directories: never the repository's own code. */
const FOREIGN_PATH =
  /(?:^|\/)(?:node_modules|bower_components|jspm_packages|vendor|site-packages|dist-packages|\.yarn|\.pnpm-store|\.cargo|\.rustup|\.git|\.venv|venv|__pypackages__)\/|(?:^|\/)go\/pkg\/mod\/|^(?:node|internal|bun|deno):/;

function toRoot(root: string): string {
  const slashed = root.replace(/\\/g, "/").replace(/\/+$/, "");
  return `${slashed}/`;
}

/**
 * A runner or relative path as a repo-relative path, or null when it is not a
 * file of the repository (outside the checkout, `..`, dependencies, vendored code).
 */
export function normalizeRepoPath(raw: string, workspaceRoots: readonly string[] = []): string | null {
  let path = raw.trim().replace(/^["'`(]+|["'`),:;]+$/g, "");
  if (path.startsWith("file://")) path = path.slice("file://".length);
  path = path.replace(/\\/g, "/");
  if (/^\/[A-Za-z]:\//.test(path)) path = path.slice(1); // file:///D:/a/...

  let stripped = false;
  for (const root of workspaceRoots) {
    const prefix = toRoot(root);
    if (path.startsWith(prefix)) {
      path = path.slice(prefix.length);
      stripped = true;
      break;
    }
  }
  if (!stripped) {
    for (const layout of WORKSPACE_LAYOUTS) {
      const match = layout.exec(path);
      if (match) {
        path = path.slice(match[0].length);
        break;
      }
    }
  }

  path = path.replace(/\/{2,}/g, "/").replace(/(^|\/)(?:\.\/)+/g, "$1");
  while (path.startsWith("./")) path = path.slice(2);
  if (path === "" || path === ".") return null;
  if (path.startsWith("/") || path.startsWith("~") || /^[A-Za-z]:\//.test(path)) return null;
  if (/(?:^|\/)\.\.(?:\/|$)/.test(path)) return null;
  if (/[\s<>:"|?*]/.test(path)) return null;
  if (FOREIGN_PATH.test(path)) return null;
  return path;
}

/** Shortens runner checkout paths inside a line to repo-relative ones. */
export function stripWorkspacePaths(line: string, workspaceRoots: readonly string[] = []): string {
  let text = line;
  for (const root of workspaceRoots) {
    const prefix = toRoot(root);
    if (text.includes(prefix)) text = text.split(prefix).join("");
  }
  if (text.includes("work") || text.includes("/__w/") || text.includes("/github/workspace") || /[A-Za-z]:[\\/]a[\\/]/.test(text)) {
    WORKSPACE_IN_TEXT.lastIndex = 0;
    text = text.replace(WORKSPACE_IN_TEXT, (...groups: (string | undefined)[]) => (groups[4] ? "" : "."));
  }
  return text;
}

function toNumber(value: string | undefined): number | null {
  if (value === undefined || value === "") return null;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/**
 * Collects file references line by line, in order of appearance, without
 * duplicates. Stateful because eslint prints the path once above its errors.
 */
export class RefCollector {
  private readonly seen = new Set<string>();
  private readonly refs: FileRef[] = [];
  private barePath: string | null = null;

  constructor(
    private readonly workspaceRoots: readonly string[] = [],
    private readonly max = 40,
  ) {}

  add(rawPath: string, line: number | null, column: number | null): void {
    if (this.refs.length >= this.max) return;
    const path = normalizeRepoPath(rawPath, this.workspaceRoots);
    if (path === null) return;
    const key = `${path}:${line ?? ""}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.refs.push({ path, line, column: line === null ? null : column });
  }

  addLine(line: string): void {
    if (this.refs.length >= this.max) return;
    const command = WORKFLOW_COMMAND.exec(line);
    if (command) {
      const props = new Map(
        command[1].split(",").map((pair) => {
          const at = pair.indexOf("=");
          return [pair.slice(0, at).trim(), pair.slice(at + 1).trim()] as const;
        }),
      );
      const file = props.get("file");
      if (file) this.add(file, toNumber(props.get("line")), toNumber(props.get("col") ?? props.get("column")));
    }

    const bare = BARE_PATH_LINE.exec(line);
    if (bare) {
      this.barePath = bare[1];
      return;
    }
    const eslint = ESLINT_DETAIL.exec(line);
    if (eslint && this.barePath) {
      this.add(this.barePath, toNumber(eslint[1]), toNumber(eslint[2]));
      return;
    }

    const text = line.includes("://") ? line.replace(WEB_URL, " ") : line;
    const failed = FAILED_FILE.exec(text);
    if (failed) this.add(failed[1], null, null);
    if (text.includes("File \"")) {
      for (const m of text.matchAll(PYTHON_REF)) this.add(m[1], toNumber(m[2]), null);
    }
    if (text.includes("(")) {
      for (const m of text.matchAll(PAREN_REF)) this.add(m[1], toNumber(m[2]), toNumber(m[3]));
    }
    if (text.includes(":")) {
      for (const m of text.matchAll(COLON_REF)) {
        this.add(m[1], toNumber(m[2] ?? m[4]), toNumber(m[3] ?? m[5]));
      }
      if (text.includes("::")) for (const m of text.matchAll(PYTEST_NODE)) this.add(m[1], null, null);
    }
  }

  /** References in order; a path-only reference is left out when the same path has line references. */
  result(): FileRef[] {
    const withLines = new Set(this.refs.filter((ref) => ref.line !== null).map((ref) => ref.path));
    return this.refs.filter((ref) => ref.line !== null || !withLines.has(ref.path));
  }
}
