/**
 * The files a fix needs, read at one commit through the Git data API: no
 * clone, no disk.
 *
 * Per parent directory one non-recursive tree read (`GET git/trees/<ref>:<dir>`)
 * gives every wanted entry's mode (so an executable keeps its bit when the fix
 * rewrites it), kind (symlink, submodule, directory) and size; then one blob
 * read per regular file small enough. N files in K directories cost K + N
 * requests; a recursive tree of the whole repo would be one request but can be
 * tens of megabytes (and truncated) on big repositories. The contents API would
 * cost the same N requests yet says nothing about modes, and silently follows
 * symlinks to their target's content.
 */
import type { ProbotOctokit } from "probot";
import { httpStatusOf } from "./actions.js";
import type { RepoRef } from "./repo.js";
import { mapLimited } from "./map-limited.js";

export type FileMode = "100644" | "100755";

export type FetchedFile =
  | { type: "file"; content: string; sha: string; mode: FileMode }
  | { type: "symlink" | "submodule" | "directory" | "binary" | "too_large"; sha?: string };

/** `undefined` for a path that does not exist at the ref. */
export type FetchedFiles = Record<string, FetchedFile | undefined>;

/** The contents API's own limit for inline content; a source file a fix rewrites is rarely bigger. */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;

/** Parallel reads per call: enough to hide latency, few enough to stay clear of secondary rate limits. */
const READ_CONCURRENCY = 4;

const MAX_PATH_LENGTH = 4096;

/**
 * Why a repository path is not acceptable, or null if it is. Accepted paths
 * are canonical and stay inside the work tree: relative, "/"-separated, no
 * empty, "." or ".." segments, no ".git" segment (any case), no backslashes
 * or control characters.
 */
export function repoPathProblem(path: string): string | null {
  if (path.length === 0) return "empty path";
  if (path.length > MAX_PATH_LENGTH) return "path too long";
  if (path.startsWith("/")) return "absolute path";
  if (/^[A-Za-z]:/.test(path)) return "drive-letter path";
  if (path.includes("\\")) return "backslash in path";
  if (/[\u0000-\u001f\u007f]/.test(path)) return "control character in path";
  for (const segment of path.split("/")) {
    if (segment === "") return "empty path segment";
    if (segment === "." || segment === "..") return `"${segment}" segment`;
    if (segment.toLowerCase() === ".git") return ".git directory";
  }
  return null;
}

export class UnsafePathError extends Error {
  override name = "UnsafePathError";
  constructor(readonly problems: { path: string; problem: string }[]) {
    super(`Refusing unsafe repository paths: ${problems.map((p) => `${JSON.stringify(p.path)} (${p.problem})`).join(", ")}`);
  }
}

/** Throws `UnsafePathError` naming every unacceptable path; call it before any request. */
export function assertSafeRepoPaths(paths: readonly string[]): void {
  const problems = paths.flatMap((path) => {
    const problem = repoPathProblem(path);
    return problem === null ? [] : [{ path, problem }];
  });
  if (problems.length > 0) throw new UnsafePathError(problems);
}

/** Each segment percent-encoded, slashes kept: a literal piece of a route template. */
function encodeSegments(value: string): string {
  return value.split("/").map(encodeURIComponent).join("/");
}

interface TreeEntry {
  path: string;
  mode: string;
  type: string;
  sha: string;
  size?: number;
}

/** Entries of one directory at `ref`, by name; null when the directory is not there. */
async function readDirectory(octokit: ProbotOctokit, repo: RepoRef, ref: string, dir: string): Promise<Map<string, TreeEntry> | null> {
  // A tree-ish "<ref>:<dir>" names the directory's tree directly. Reserved expansion ({+…}) lets the ":"
  // and "/" reach GitHub as they are; each segment is percent-encoded first so "#", "?" or "%" in a name cannot
  // end the path. (Spelled into the route itself, ":name" would be read as a legacy route parameter.)
  const treeish = dir === "" ? encodeSegments(ref) : `${encodeSegments(ref)}:${encodeSegments(dir)}`;
  try {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/git/trees/{+treeish}", { owner: repo.owner, repo: repo.repo, treeish });
    const entries = (data as { tree?: TreeEntry[] }).tree ?? [];
    return new Map(entries.map((entry) => [entry.path, entry]));
  } catch (error) {
    // 404: no such directory at this ref; 422: the "directory" is a file, so nothing below it exists.
    const status = httpStatusOf(error);
    if (status === 404 || status === 422) return null;
    throw error;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Text as git stores it, or null for binary: a NUL byte in the first 8000 bytes (git's own test) or invalid UTF-8. */
export function decodeText(bytes: Uint8Array): string | null {
  const probe = bytes.subarray(0, 8000);
  if (probe.includes(0)) return null;
  try {
    // ignoreBOM keeps a byte-order mark in the text, so writing the file back does not drop it.
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

async function readBlob(octokit: ProbotOctokit, repo: RepoRef, sha: string): Promise<Buffer> {
  const { data } = await octokit.rest.git.getBlob({ owner: repo.owner, repo: repo.repo, file_sha: sha });
  if (data.encoding === "base64") return Buffer.from(data.content, "base64");
  return Buffer.from(data.content, "utf8");
}


function parentOf(path: string): { dir: string; name: string } {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? { dir: "", name: path } : { dir: path.slice(0, slash), name: path.slice(slash + 1) };
}

/**
 * The given paths at `ref` (a commit SHA is best: a branch can move between
 * reads). Regular text files come with content, blob SHA and mode; anything
 * a patch must not rewrite comes back as its kind only. Every path is checked
 * with `repoPathProblem` before the first request (`UnsafePathError`).
 */
export async function fetchFilesAtRef(
  octokit: ProbotOctokit,
  input: RepoRef & { ref: string; paths: readonly string[]; maxBytes?: number; tree?: RepoListing | null },
): Promise<FetchedFiles> {
  const { ref, maxBytes = DEFAULT_MAX_FILE_BYTES } = input;
  const repo = { owner: input.owner, repo: input.repo };
  const paths = [...new Set(input.paths)];
  assertSafeRepoPaths(paths);

  const byDir = new Map<string, string[]>();
  for (const path of paths) {
    const { dir } = parentOf(path);
    byDir.set(dir, [...(byDir.get(dir) ?? []), path]);
  }
  // A complete recursive listing already says what each path is: no directory reads.
  const known = input.tree && !input.tree.truncated ? input.tree : null;
  const dirs = known ? [] : [...byDir.keys()];
  const listings = new Map(await mapLimited(dirs, READ_CONCURRENCY, async (dir) => [dir, await readDirectory(octokit, repo, ref, dir)] as const));

  const result: FetchedFiles = {};
  const blobsToRead: { path: string; entry: TreeEntry }[] = [];
  for (const path of paths) {
    const { dir, name } = parentOf(path);
    const entry = known ? known.entries.get(path) : listings.get(dir)?.get(name);
    if (!entry) result[path] = undefined;
    else if (entry.mode === "120000") result[path] = { type: "symlink", sha: entry.sha };
    else if (entry.mode === "160000" || entry.type === "commit") result[path] = { type: "submodule", sha: entry.sha };
    else if (entry.type === "tree") result[path] = { type: "directory", sha: entry.sha };
    else if ((entry.size ?? 0) > maxBytes) result[path] = { type: "too_large", sha: entry.sha };
    else {
      result[path] = undefined; // keeps the caller's order; filled in below
      blobsToRead.push({ path, entry });
    }
  }

  await mapLimited(blobsToRead, READ_CONCURRENCY, async ({ path, entry }) => {
    const bytes = await readBlob(octokit, repo, entry.sha);
    // The tree's size is authoritative, but a blob that grew past the limit is still refused.
    if (bytes.byteLength > maxBytes) {
      result[path] = { type: "too_large", sha: entry.sha };
      return;
    }
    const content = decodeText(bytes);
    result[path] =
      content === null
        ? { type: "binary", sha: entry.sha }
        : { type: "file", content, sha: entry.sha, mode: entry.mode === "100755" ? "100755" : "100644" };
  });
  return result;
}

/** Every entry of a commit's tree (files, directories, submodules) by full path, as one recursive read returns it. */
export interface RepoListing {
  sha: string;
  entries: Map<string, TreeEntry>;
  /** GitHub cut the listing (over 100,000 entries or 7 MB): absent paths may still exist. */
  truncated: boolean;
}

/** Listings kept per client (an installation client serves one job): a few SHAs at most. */
const TREE_CACHE_SIZE = 4;
/** Entries kept from one listing; beyond this the listing counts as truncated. */
export const MAX_TREE_ENTRIES = 200_000;
const treeCaches = new WeakMap<object, Map<string, Promise<RepoListing | null>>>();

/**
 * The whole file tree at `sha` in one request (`GET git/trees/<sha>?recursive=1`),
 * cached per client by repository and SHA (a SHA's tree never changes, so every
 * step of a job shares one read) and bounded in size. Null when the commit is
 * not there (404/409/422): the caller works without it.
 */
export function readRepoTree(octokit: ProbotOctokit, input: RepoRef & { sha: string }): Promise<RepoListing | null> {
  let treeCache = treeCaches.get(octokit);
  if (!treeCache) treeCaches.set(octokit, (treeCache = new Map()));
  const cache = treeCache;
  const key = `${input.owner}/${input.repo}@${input.sha}`.toLowerCase();
  const cached = cache.get(key);
  if (cached) {
    cache.delete(key);
    cache.set(key, cached); // most recently used last
    return cached;
  }
  const read = (async () => {
    try {
      const { data } = await octokit.request("GET /repos/{owner}/{repo}/git/trees/{tree_sha}", {
        owner: input.owner,
        repo: input.repo,
        tree_sha: input.sha,
        recursive: "1",
      });
      const listing = data as { sha: string; truncated?: boolean; tree?: TreeEntry[] };
      const entries = new Map<string, TreeEntry>();
      for (const entry of listing.tree ?? []) {
        if (entries.size >= MAX_TREE_ENTRIES) break;
        entries.set(entry.path, entry);
      }
      return { sha: listing.sha, entries, truncated: Boolean(listing.truncated) || (listing.tree?.length ?? 0) > MAX_TREE_ENTRIES };
    } catch (error) {
      const status = httpStatusOf(error);
      if (status === 404 || status === 409 || status === 422) return null;
      cache.delete(key); // a transient failure is not remembered
      throw error;
    }
  })();
  cache.set(key, read);
  if (cache.size > TREE_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return read;
}

/**
 * When the recursive listing was truncated: the entries of the candidate
 * directories, one non-recursive read each (at most `max`), added to the
 * listing. Directories that do not exist are skipped.
 */
export async function completeTruncatedTree(
  octokit: ProbotOctokit,
  input: RepoRef & { sha: string; listing: RepoListing; dirs: readonly string[]; max?: number },
): Promise<number> {
  const dirs = [...new Set(input.dirs)].filter((dir) => repoPathProblem(dir) === null || dir === "").slice(0, input.max ?? 8);
  const repo = { owner: input.owner, repo: input.repo };
  const read = await mapLimited(dirs, READ_CONCURRENCY, async (dir) => [dir, await readDirectory(octokit, repo, input.sha, dir)] as const);
  for (const [dir, entries] of read) {
    for (const entry of entries?.values() ?? []) {
      const path = dir === "" ? entry.path : `${dir}/${entry.path}`;
      input.listing.entries.set(path, { ...entry, path });
    }
  }
  return dirs.length;
}

/** The regular files and symlinks of a listing: what a path in a log can name. */
export function filePaths(listing: RepoListing): string[] {
  return [...listing.entries.values()].filter((e) => e.type === "blob").map((e) => e.path);
}
