/**
 * A fix goes to GitHub as a commit on its own branch and a draft PR, through
 * the Git data API only (blobs → tree → commit → ref → pull request): no
 * clone, no disk, so it runs on Lambda.
 *
 * Publishing is idempotent, so a retried job never opens a second PR: an
 * existing fix branch whose head commit sits directly on the failing commit
 * is reused as it is, and an existing PR for the branch is returned instead
 * of a new one. A PR a human already closed is returned as closed, never
 * reopened or duplicated.
 */
import type { ProbotOctokit } from "probot";
import { redactText } from "../fix/redact.js";
import { httpStatusOf } from "./actions.js";
import { FIX_BRANCH_PREFIX } from "./fix-branch.js";
import type { RepoRef } from "./repo.js";
import { assertSafeRepoPaths, type FileMode } from "./files.js";
import { mapLimited } from "./map-limited.js";

/** Every branch fixloop writes starts with this; it never writes anywhere else. */

/** Always on a fix PR, so outcomes can find fixloop's PRs and people can filter them. */
export const FIX_LABEL = "fixloop";

/** GitHub refuses PR bodies over 65,536 characters; leave room for the note saying so. */
const MAX_PR_BODY_CHARS = 65_000;

const BLOB_CONCURRENCY = 4;

export interface FixFileChange {
  path: string;
  /** Full new content (UTF-8); null deletes the file, which must exist at the base commit. */
  content: string | null;
  /** Pass the mode `fetchFilesAtRef` reported so an executable stays executable; default 100644. */
  mode?: FileMode;
}

export interface PublishFixInput extends RepoRef {
  /** The failing commit: the fix commit's only parent. */
  baseSha: string;
  /**
   * The failing commit's tree, when the caller already has it (a workflow_run
   * payload's head_commit.tree_id): saves reading the commit. It must be
   * baseSha's own tree, or the fix commit would carry another tree's files.
   */
  baseTreeSha?: string;
  /** The failing branch: the PR's base. */
  baseBranch: string;
  /** The fix branch, e.g. fixloop/run-123 or fixloop/run-123-2; must start with FIX_BRANCH_PREFIX. */
  branch: string;
  changes: FixFileChange[];
  commitMessage: string;
  /** Commit author; GitHub uses the app's bot identity when absent. */
  author?: { name: string; email: string };
  pr: { title: string; body: string; draft: boolean; labels: string[] };
  /**
   * The caller knows no earlier run published this fix (its first try): skip
   * the up-front reads of branch and PR. A race is still safe: GitHub's 422s
   * for an existing ref or PR lead to the same reuse as the reads would.
   */
  firstTry?: boolean;
}

export interface PublishFixResult {
  commitSha: string;
  branch: string;
  prNumber: number;
  prUrl: string;
  /** GraphQL id, for markReadyForReview. */
  prNodeId: string;
  /** "closed" or "merged" only for a PR found from an earlier run: a human's decision, left alone. */
  prState: "open" | "closed" | "merged";
  /** False when the repository does not support drafts and the PR was opened ready for review. */
  draft: boolean;
  reusedBranch: boolean;
  reusedPr: boolean;
}

/** The input cannot be published as it is (unsafe path, bad branch name, nothing to commit…). */
export class PublishInputError extends Error {
  override name = "PublishInputError";
}

/** The fix branch exists but is not a fix commit on the failing commit: someone else's work, never overwritten. */
export class BranchConflictError extends Error {
  override name = "BranchConflictError";
  constructor(
    readonly branch: string,
    readonly headSha: string,
    readonly reason: string,
  ) {
    super(`Branch ${branch} already exists at ${headSha} and ${reason}; not touching it`);
  }
}

/** git check-ref-format's rules for one branch name, plus fixloop's own prefix. */
export function fixBranchProblem(branch: string, baseBranch?: string): string | null {
  if (!branch.startsWith(FIX_BRANCH_PREFIX) || branch.length === FIX_BRANCH_PREFIX.length) return `must start with "${FIX_BRANCH_PREFIX}" and name something`;
  if (baseBranch !== undefined && branch === baseBranch) return "is the base branch itself";
  if (branch.length > 200) return "is too long";
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(branch)) return "contains a character git forbids in ref names";
  if (branch.includes("..") || branch.includes("@{") || branch.includes("//")) return 'contains "..", "@{" or "//"';
  if (branch.endsWith("/") || branch.endsWith(".")) return 'ends with "/" or "."';
  if (branch.split("/").some((part) => part.startsWith(".") || part.endsWith(".lock"))) return 'has a component starting with "." or ending with ".lock"';
  return null;
}

const COMMIT_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

function validateInput(input: PublishFixInput): void {
  const branchProblem = fixBranchProblem(input.branch, input.baseBranch);
  if (branchProblem) throw new PublishInputError(`Fix branch "${input.branch}" ${branchProblem}`);
  if (!COMMIT_SHA.test(input.baseSha)) throw new PublishInputError(`baseSha must be a full commit SHA, got "${input.baseSha}"`);
  if (input.baseTreeSha !== undefined && !COMMIT_SHA.test(input.baseTreeSha)) throw new PublishInputError(`baseTreeSha must be a full tree SHA, got "${input.baseTreeSha}"`);
  if (input.changes.length === 0) throw new PublishInputError("Nothing to publish: no file changes");
  if (input.commitMessage.trim() === "") throw new PublishInputError("The commit message is empty");
  if (input.pr.title.trim() === "") throw new PublishInputError("The PR title is empty");
  const paths = input.changes.map((change) => change.path);
  try {
    assertSafeRepoPaths(paths);
  } catch (error) {
    throw new PublishInputError((error as Error).message);
  }
  const seen = new Set<string>();
  for (const path of paths) {
    if (seen.has(path)) throw new PublishInputError(`"${path}" is changed twice`);
    seen.add(path);
  }
}


/** The commit a branch points at, or null when there is no such branch. */
async function branchHead(octokit: ProbotOctokit, repo: RepoRef, branch: string): Promise<{ sha: string; type: string } | null> {
  try {
    const { data } = await octokit.rest.git.getRef({ owner: repo.owner, repo: repo.repo, ref: `heads/${branch}` });
    return { sha: data.object.sha, type: data.object.type };
  } catch (error) {
    if (httpStatusOf(error) === 404) return null;
    throw error;
  }
}

/** Throws BranchConflictError unless the branch head is a single-parent commit on baseSha. */
async function assertReusableHead(octokit: ProbotOctokit, repo: RepoRef, branch: string, head: { sha: string; type: string }, baseSha: string) {
  if (head.type !== "commit") throw new BranchConflictError(branch, head.sha, `points at a ${head.type}, not a commit`);
  const { data } = await octokit.rest.git.getCommit({ owner: repo.owner, repo: repo.repo, commit_sha: head.sha });
  const parents = data.parents.map((parent) => parent.sha);
  if (parents.length !== 1 || parents[0] !== baseSha) {
    throw new BranchConflictError(branch, head.sha, `its head's parents are [${parents.join(", ")}], not the failing commit ${baseSha}`);
  }
}

interface ExistingPull {
  number: number;
  html_url: string;
  node_id: string;
  state: string;
  draft?: boolean;
  merged_at: string | null;
  head: { sha: string };
  labels: { name?: string }[];
}

/** The PR for this head: an open one first, else the newest closed one, else null. */
async function findPull(octokit: ProbotOctokit, repo: RepoRef, branch: string): Promise<ExistingPull | null> {
  const { data } = await octokit.rest.pulls.list({ owner: repo.owner, repo: repo.repo, head: `${repo.owner}:${branch}`, state: "all", per_page: 100 });
  const pulls = data as ExistingPull[];
  return pulls.find((pull) => pull.state === "open") ?? [...pulls].sort((a, b) => b.number - a.number)[0] ?? null;
}

function stateOf(pull: ExistingPull): PublishFixResult["prState"] {
  if (pull.state === "open") return "open";
  return pull.merged_at ? "merged" : "closed";
}

function boundedBody(body: string): string {
  if (body.length <= MAX_PR_BODY_CHARS) return body;
  return `${body.slice(0, MAX_PR_BODY_CHARS)}\n\n…(truncated by fixloop: GitHub limits PR descriptions)`;
}

/** Writes blobs, a tree on the failing commit's tree, and the fix commit; returns the commit SHA. */
async function writeFixCommit(octokit: ProbotOctokit, input: PublishFixInput): Promise<string> {
  const repo = { owner: input.owner, repo: input.repo };
  const baseTree = input.baseTreeSha ?? (await octokit.rest.git.getCommit({ ...repo, commit_sha: input.baseSha })).data.tree.sha;
  const blobShas = await mapLimited(input.changes, BLOB_CONCURRENCY, async (change) => {
    if (change.content === null) return null;
    // base64 of the UTF-8 bytes: exactly these bytes land in the repository, whatever the JSON layer does.
    const { data } = await octokit.rest.git.createBlob({ ...repo, content: Buffer.from(change.content, "utf8").toString("base64"), encoding: "base64" });
    return data.sha;
  });
  const { data: tree } = await octokit.rest.git.createTree({
    ...repo,
    base_tree: baseTree,
    tree: input.changes.map((change, index) => ({ path: change.path, mode: change.mode ?? "100644", type: "blob" as const, sha: blobShas[index] })),
  });
  const { data: commit } = await octokit.rest.git.createCommit({
    ...repo,
    message: input.commitMessage,
    tree: tree.sha,
    parents: [input.baseSha],
    ...(input.author ? { author: { name: input.author.name, email: input.author.email } } : {}),
  });
  return commit.sha;
}

function isValidationError(error: unknown, pattern: RegExp): boolean {
  return httpStatusOf(error) === 422 && pattern.test((error as Error).message ?? "");
}

async function openPull(octokit: ProbotOctokit, input: PublishFixInput): Promise<{ pull: ExistingPull; reused: boolean }> {
  const repo = { owner: input.owner, repo: input.repo };
  const request = { ...repo, title: input.pr.title, body: boundedBody(input.pr.body), head: input.branch, base: input.baseBranch };
  try {
    const { data } = await octokit.rest.pulls.create({ ...request, draft: input.pr.draft });
    return { pull: data as ExistingPull, reused: false };
  } catch (error) {
    if (isValidationError(error, /already exists/i)) {
      // Another run of the same job got there first.
      const existing = await findPull(octokit, repo, input.branch);
      if (existing) return { pull: existing, reused: true };
    }
    if (input.pr.draft && isValidationError(error, /draft/i)) {
      // Drafts need a paid plan on private repositories; a ready PR is still a PR nobody merges unreviewed.
      const { data } = await octokit.rest.pulls.create({ ...request, draft: false });
      return { pull: data as ExistingPull, reused: false };
    }
    throw error;
  }
}

/**
 * Publishes a fix: commit on `branch` (parent `baseSha`), PR into
 * `baseBranch`, labelled `fixloop` plus `pr.labels`. One changed file costs
 * 9 requests on a fresh branch (8 with `baseTreeSha`), 3 when everything
 * already exists.
 */
export async function publishFix(octokit: ProbotOctokit, unredacted: PublishFixInput): Promise<PublishFixResult> {
  // Text fixloop writes on GitHub never carries a secret, whoever composed it.
  const input = { ...unredacted, commitMessage: redactText(unredacted.commitMessage), pr: { ...unredacted.pr, title: redactText(unredacted.pr.title), body: redactText(unredacted.pr.body) } };
  validateInput(input);
  const repo = { owner: input.owner, repo: input.repo };
  const [head, existingPull] = input.firstTry
    ? [null, null]
    : await Promise.all([branchHead(octokit, repo, input.branch), findPull(octokit, repo, input.branch)]);

  let commitSha: string;
  let reusedBranch: boolean;
  if (head) {
    await assertReusableHead(octokit, repo, input.branch, head, input.baseSha);
    commitSha = head.sha;
    reusedBranch = true;
  } else if (existingPull && existingPull.state !== "open") {
    // The branch is gone and its PR closed: someone ended this fix. Report it, do not bring it back.
    return pullResult(existingPull, existingPull.head.sha, input.branch, false, true);
  } else {
    commitSha = await writeFixCommit(octokit, input);
    reusedBranch = false;
    try {
      await octokit.rest.git.createRef({ ...repo, ref: `refs/heads/${input.branch}`, sha: commitSha });
    } catch (error) {
      if (!isValidationError(error, /already exists/i)) throw error;
      // A concurrent run created the branch between our read and our write: use its commit if it is a fix commit.
      const raced = await branchHead(octokit, repo, input.branch);
      if (!raced) throw error;
      await assertReusableHead(octokit, repo, input.branch, raced, input.baseSha);
      commitSha = raced.sha;
      reusedBranch = true;
    }
  }

  if (existingPull && existingPull.state !== "open") return pullResult(existingPull, commitSha, input.branch, reusedBranch, true);
  const { pull, reused } = existingPull ? { pull: existingPull, reused: true } : await openPull(octokit, input);

  const labels = [...new Set([FIX_LABEL, ...input.pr.labels])];
  const present = new Set((pull.labels ?? []).map((label) => label.name));
  if (labels.some((label) => !present.has(label))) {
    // GitHub creates a label that does not exist yet.
    await octokit.rest.issues.addLabels({ ...repo, issue_number: pull.number, labels });
  }
  return pullResult(pull, commitSha, input.branch, reusedBranch, reused);
}

function pullResult(pull: ExistingPull, commitSha: string, branch: string, reusedBranch: boolean, reusedPr: boolean): PublishFixResult {
  return {
    commitSha,
    branch,
    prNumber: pull.number,
    prUrl: pull.html_url,
    prNodeId: pull.node_id,
    prState: stateOf(pull),
    draft: pull.draft ?? false,
    reusedBranch,
    reusedPr,
  };
}

const MARK_READY_MUTATION = /* GraphQL */ `
  mutation MarkReadyForReview($pullRequestId: ID!) {
    markPullRequestReadyForReview(input: { pullRequestId: $pullRequestId }) {
      pullRequest {
        number
        isDraft
      }
    }
  }
`;

/**
 * Takes a draft PR out of draft (the fix's CI passed). REST cannot; this is
 * GraphQL's markPullRequestReadyForReview. Without `nodeId` the PR is read
 * first to get it; a PR someone closed (or merged) meanwhile is left as it is
 * (`open: false`): the mutation would fail on it, and it is their decision.
 */
export async function markReadyForReview(
  octokit: ProbotOctokit,
  input: RepoRef & { prNumber: number; nodeId?: string },
): Promise<{ prNumber: number; isDraft: boolean; open: boolean }> {
  let nodeId = input.nodeId;
  if (!nodeId) {
    const { data } = await octokit.rest.pulls.get({ owner: input.owner, repo: input.repo, pull_number: input.prNumber });
    if (data.state !== "open") return { prNumber: data.number, isDraft: Boolean(data.draft), open: false };
    if (!data.draft) return { prNumber: data.number, isDraft: false, open: true };
    nodeId = data.node_id;
  }
  const result = await octokit.graphql<{ markPullRequestReadyForReview: { pullRequest: { number: number; isDraft: boolean } } }>(MARK_READY_MUTATION, {
    pullRequestId: nodeId,
  });
  const { number, isDraft } = result.markPullRequestReadyForReview.pullRequest;
  return { prNumber: number, isDraft, open: true };
}

/** Closes a PR (after the last attempt failed); the branch stays so the work can still be looked at. */
export async function closePullRequest(
  octokit: ProbotOctokit,
  input: RepoRef & { prNumber: number },
): Promise<{ prNumber: number; state: "open" | "closed" }> {
  const { data } = await octokit.rest.pulls.update({ owner: input.owner, repo: input.repo, pull_number: input.prNumber, state: "closed" });
  return { prNumber: data.number, state: data.state as "open" | "closed" };
}
