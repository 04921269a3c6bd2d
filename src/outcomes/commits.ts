/**
 * Commits that landed on a branch, in the one shape the outcome trackers and
 * attribution read: from a push webhook (`pushedCommitsFromPayload`) or from
 * the REST commit listing (`commitFromApi`), so live events and backfills go
 * through the same code.
 */
import { z } from "zod";
import { toIso } from "../time.js";

export interface PushedCommit {
  sha: string;
  message: string;
  authorLogin: string | null;
  authorEmail: string | null;
  /** ISO-8601 UTC; the commit's own timestamp as GitHub reports it. */
  timestamp: string;
  /** Repo-relative paths the commit added, modified or removed (as far as the source tells). */
  files: string[];
}

/**
 * GitHub puts at most this many commits in one push delivery; a push of more
 * is truncated and the rest must be read through the API.
 */
export const WEBHOOK_PUSH_COMMIT_CAP = 2048;

const person = z.object({ username: z.string().nullable().optional(), email: z.string().nullable().optional() }).passthrough().nullable().optional();
const paths = z.array(z.string()).nullable().optional();

const pushCommitSchema = z
  .object({
    id: z.string().min(7),
    message: z.string().nullable().optional(),
    timestamp: z.string().nullable().optional(),
    author: person,
    added: paths,
    modified: paths,
    removed: paths,
  })
  .passthrough();

export const pushPayloadSchema = z
  .object({
    ref: z.string(),
    before: z.string().nullable().optional(),
    after: z.string().nullable().optional(),
    created: z.boolean().optional(),
    deleted: z.boolean().optional(),
    forced: z.boolean().optional(),
    commits: z.array(pushCommitSchema).nullable().optional(),
    repository: z.object({ full_name: z.string().min(3) }).passthrough(),
  })
  .passthrough();

export type PushPayload = z.infer<typeof pushPayloadSchema>;

/** `refs/heads/main` → `main`; tags and other refs → null. */
export function branchOfRef(ref: string): string | null {
  return ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : null;
}

function uniquePaths(...lists: (string[] | null | undefined)[]): string[] {
  return [...new Set(lists.flatMap((list) => list ?? []))];
}

/**
 * The push payload's commits, oldest first as GitHub lists them. A commit
 * without a usable timestamp is dropped: every outcome rule is a window in time.
 */
export function pushedCommitsFromPayload(payload: unknown): PushedCommit[] {
  const parsed = z.object({ commits: z.array(pushCommitSchema).nullable().optional() }).passthrough().safeParse(payload);
  if (!parsed.success) return [];
  return (parsed.data.commits ?? []).flatMap((commit) => {
    const timestamp = toIso(commit.timestamp);
    if (!timestamp) return [];
    return [
      {
        sha: commit.id.toLowerCase(),
        message: commit.message ?? "",
        authorLogin: commit.author?.username ?? null,
        authorEmail: commit.author?.email ?? null,
        timestamp,
        files: uniquePaths(commit.modified, commit.added, commit.removed),
      },
    ];
  });
}

/** One item of `GET /repos/{o}/{r}/commits`: the fields we read. */
export interface ApiCommit {
  sha: string;
  commit: {
    message: string;
    author?: { email?: string | null; date?: string | null } | null;
    committer?: { email?: string | null; date?: string | null } | null;
  };
  author?: { login?: string | null } | null;
}

/**
 * A listed commit, with the files the caller knows it touched (the listing
 * has none: a `path=` query tells which of ours it changed). The committer
 * date is used, as that is when the commit was made on the branch.
 */
export function commitFromApi(item: ApiCommit, files: string[]): PushedCommit | null {
  const timestamp = toIso(item.commit.committer?.date ?? item.commit.author?.date ?? null);
  if (!timestamp) return null;
  return {
    sha: item.sha.toLowerCase(),
    message: item.commit.message ?? "",
    authorLogin: item.author?.login ?? null,
    authorEmail: item.commit.author?.email ?? null,
    timestamp,
    files: uniquePaths(files),
  };
}
