/**
 * Whether a failing commit may be built on and pushed to the base repository,
 * decided from the run itself and from GitHub, never from the absence of a
 * stored PR row (the app may have been installed after the PR opened, or the
 * delivery lost). A fork's commit pushed as `fixloop/run-<id>` would run the
 * fork's code in the base repository's CI with its secrets: whenever fixloop
 * cannot tell, it comments instead of pushing.
 */
import type { ProbotOctokit } from "probot";
import { httpStatusOf } from "../github/actions.js";
import type { FixTrigger } from "./trigger.js";

export interface StoredPullRequest {
  prNumber: number;
  isFork: boolean | null;
  state: string;
}

export type Provenance =
  | { kind: "same-repo"; evidence: string; prNumber: number | null }
  | { kind: "fork"; evidence: string; prNumber: number | null }
  | { kind: "unknown"; evidence: string; prNumber: number | null };

interface AssociatedPull {
  number: number;
  state: string;
  head: { repo: { full_name: string } | null };
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * Where the failing commit comes from. Order: what the run says
 * (`head_repository` of a workflow run), a stored PR known to be a fork, the
 * PRs GitHub associates with the commit (`GET /repos/{o}/{r}/commits/{sha}/pulls`),
 * then whether the run's branch in the base repository points at the commit.
 */
export async function provenanceOf(octokit: InstanceType<typeof ProbotOctokit>, trigger: FixTrigger, stored: StoredPullRequest[]): Promise<Provenance> {
  const [owner, repo] = trigger.repo.split("/");
  const storedNumber = (stored.find((p) => p.state === "open") ?? stored[0])?.prNumber ?? trigger.prNumbers[0] ?? null;
  if (trigger.headRepoSlug !== null) {
    return same(trigger.headRepoSlug, trigger.repo)
      ? { kind: "same-repo", evidence: `the run's head repository is ${trigger.headRepoSlug}`, prNumber: storedNumber }
      : { kind: "fork", evidence: `the run's head repository is ${trigger.headRepoSlug}`, prNumber: storedNumber };
  }
  const storedFork = stored.find((p) => p.isFork === true);
  if (storedFork) return { kind: "fork", evidence: `PR #${storedFork.prNumber} comes from a fork`, prNumber: storedFork.prNumber };

  const { data } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner, repo, commit_sha: trigger.headSha, per_page: 100 });
  const pulls = data as unknown as AssociatedPull[];
  const open = pulls.filter((p) => p.state === "open");
  const relevant = open.length > 0 ? open : pulls;
  const fromFork = relevant.find((p) => p.head.repo === null || !same(p.head.repo.full_name, trigger.repo));
  if (fromFork) {
    return { kind: "fork", evidence: `PR #${fromFork.number} has its head in ${fromFork.head.repo?.full_name ?? "a deleted repository"}`, prNumber: fromFork.number };
  }
  if (relevant.length > 0) return { kind: "same-repo", evidence: `PR #${relevant[0].number} has its head in ${trigger.repo}`, prNumber: relevant[0].number };

  // No PR: a push. The commit is the base repository's own when it is in the history of the run's branch there.
  if (trigger.headBranch) {
    try {
      const { data: comparison } = await octokit.rest.repos.compareCommitsWithBasehead({ owner, repo, basehead: `${trigger.headSha}...${trigger.headBranch}`, per_page: 1 });
      if (comparison.status === "identical" || comparison.status === "ahead") {
        return { kind: "same-repo", evidence: `the commit is on branch ${trigger.headBranch} of ${trigger.repo}`, prNumber: storedNumber };
      }
      return { kind: "unknown", evidence: `the commit is not on branch ${trigger.headBranch} of ${trigger.repo}`, prNumber: storedNumber };
    } catch (error) {
      if (httpStatusOf(error) !== 404) throw error;
      return { kind: "unknown", evidence: `${trigger.repo} has no branch ${trigger.headBranch}`, prNumber: storedNumber };
    }
  }
  return { kind: "unknown", evidence: "no PR and no branch name to check the commit against", prNumber: storedNumber };
}

/** Why the fix must go out as a comment, or null when it may be pushed. */
export function commentReason(provenance: Provenance): string | null {
  if (provenance.kind === "fork") return `this commit comes from a fork (${provenance.evidence}) and fixloop never pushes a fork's commit`;
  if (provenance.kind === "unknown") return `fixloop cannot confirm this commit belongs to this repository (${provenance.evidence}), so it does not push it`;
  return null;
}
