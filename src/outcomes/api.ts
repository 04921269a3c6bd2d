/**
 * The GitHub reads of outcome tracking (jobs and periodic checks only; the
 * webhook handlers never call GitHub): a merged PR's diff, and the commits
 * on a branch that touched given paths in a time window.
 */
import type { ProbotOctokit } from "probot";
import type { RepoRef } from "../github/repo.js";
import { commitFromApi, type ApiCommit, type PushedCommit } from "./commits.js";


/** The PR's unified diff (`application/vnd.github.diff`), as GitHub renders it. */
export async function pullRequestDiff(octokit: ProbotOctokit, input: RepoRef & { prNumber: number }): Promise<string> {
  const { data } = await octokit.rest.pulls.get({ owner: input.owner, repo: input.repo, pull_number: input.prNumber, mediaType: { format: "diff" } });
  // With the diff media type the body is text, whatever the typings say.
  return data as unknown as string;
}

export interface CommitsTouchingInput extends RepoRef {
  branch: string;
  paths: readonly string[];
  since: string;
  until: string;
}

export interface CommitsTouching {
  commits: PushedCommit[];
  requests: number;
}

/**
 * Commits on `branch` committed in [since, until] that changed any of
 * `paths`: one paginated listing per path (`GET /repos/{o}/{r}/commits?sha=&path=&since=&until=`),
 * merged by SHA, oldest first. Each commit carries the paths it was listed for.
 */
export async function commitsTouchingPaths(octokit: ProbotOctokit, input: CommitsTouchingInput): Promise<CommitsTouching> {
  const bySha = new Map<string, { item: ApiCommit; files: string[] }>();
  let requests = 0;
  for (const path of new Set(input.paths)) {
    const iterator = octokit.paginate.iterator(octokit.rest.repos.listCommits, {
      owner: input.owner,
      repo: input.repo,
      sha: input.branch,
      path,
      since: input.since,
      until: input.until,
      per_page: 100,
    });
    for await (const page of iterator) {
      requests++;
      for (const item of page.data as ApiCommit[]) {
        const entry = bySha.get(item.sha) ?? { item, files: [] };
        entry.files.push(path);
        bySha.set(item.sha, entry);
      }
    }
  }
  const commits = [...bySha.values()].flatMap(({ item, files }) => commitFromApi(item, files) ?? []);
  commits.sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.sha.localeCompare(b.sha));
  return { commits, requests };
}
