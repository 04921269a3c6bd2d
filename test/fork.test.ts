/**
 * Fork-ness from the run and GitHub, never from a missing PR row: each way
 * provenanceOf decides, with the GitHub calls it makes (nock, no others).
 */
import nock from "nock";
import { ProbotOctokit } from "probot";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { commentReason, provenanceOf } from "../src/fix/fork.js";
import type { FixTrigger } from "../src/fix/trigger.js";

const SHA = "8f4c2a1d9e3b7c6a5f4e3d2c1b0a9f8e7d6c5b4a";
const API = "https://api.github.com/repos/acme/widgets";

function trigger(over: Partial<FixTrigger> = {}): FixTrigger {
  return {
    repo: "acme/widgets",
    installationId: 1,
    provider: "github-checks",
    runId: "77",
    runAttempt: 1,
    workflowId: null,
    workflowName: "CircleCI Checks",
    workflowPath: null,
    headSha: SHA,
    headBranch: "patch-1",
    conclusion: "failure",
    event: null,
    prNumbers: [],
    headRepoSlug: null,
    defaultBranch: "main",
    headTreeSha: null,
    ...over,
  };
}

const octokit = () => new ProbotOctokit({ auth: { token: "t" }, retry: { enabled: false }, throttle: { enabled: false } });
const pull = (number: number, headRepo: string | null, state = "open") => ({ number, state, head: { repo: headRepo === null ? null : { full_name: headRepo } } });

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
});

describe("provenanceOf", () => {
  test("a workflow run names its head repository: decided without a call", async () => {
    expect(await provenanceOf(octokit(), trigger({ provider: "github-actions", headRepoSlug: "mallory/widgets" }), [])).toMatchObject({ kind: "fork" });
    expect(await provenanceOf(octokit(), trigger({ provider: "github-actions", headRepoSlug: "ACME/widgets" }), [])).toMatchObject({ kind: "same-repo" });
  });

  test("a stored PR known to be a fork", async () => {
    expect(await provenanceOf(octokit(), trigger(), [{ prNumber: 9, isFork: true, state: "open" }])).toMatchObject({ kind: "fork", prNumber: 9 });
  });

  test("no stored PR: the PRs GitHub associates with the commit decide", async () => {
    nock(API).get(`/commits/${SHA}/pulls`).query({ per_page: "100" }).reply(200, [pull(42, "mallory/widgets")]);
    const fork = await provenanceOf(octokit(), trigger(), []);
    expect(fork).toEqual({ kind: "fork", evidence: "PR #42 has its head in mallory/widgets", prNumber: 42 });
    expect(commentReason(fork)).toMatch(/comes from a fork/);

    nock(API).get(`/commits/${SHA}/pulls`).query(true).reply(200, [pull(43, null)]);
    expect(await provenanceOf(octokit(), trigger(), [])).toMatchObject({ kind: "fork", evidence: "PR #43 has its head in a deleted repository" });

    nock(API).get(`/commits/${SHA}/pulls`).query(true).reply(200, [pull(44, "acme/widgets")]);
    const own = await provenanceOf(octokit(), trigger(), []);
    expect(own).toMatchObject({ kind: "same-repo", prNumber: 44 });
    expect(commentReason(own)).toBeNull();
  });

  test("no PR at all: a push, trusted only when the commit is on the run's branch in this repository", async () => {
    nock(API).get(`/commits/${SHA}/pulls`).query(true).reply(200, []);
    nock(API).get(`/compare/${SHA}...main`).query(true).reply(200, { status: "ahead", ahead_by: 2, behind_by: 0, commits: [] });
    expect(await provenanceOf(octokit(), trigger({ headBranch: "main" }), [])).toMatchObject({ kind: "same-repo" });

    nock(API).get(`/commits/${SHA}/pulls`).query(true).reply(200, []);
    nock(API).get(`/compare/${SHA}...patch-1`).query(true).reply(200, { status: "diverged", ahead_by: 1, behind_by: 1, commits: [] });
    const diverged = await provenanceOf(octokit(), trigger(), []);
    expect(diverged.kind).toBe("unknown");
    expect(commentReason(diverged)).toMatch(/cannot confirm/);

    nock(API).get(`/commits/${SHA}/pulls`).query(true).reply(200, []);
    nock(API).get(`/compare/${SHA}...patch-1`).query(true).reply(404, { message: "Not Found" });
    expect(await provenanceOf(octokit(), trigger(), [])).toMatchObject({ kind: "unknown", evidence: "acme/widgets has no branch patch-1" });

    nock(API).get(`/commits/${SHA}/pulls`).query(true).reply(200, []);
    expect(await provenanceOf(octokit(), trigger({ headBranch: null }), [])).toMatchObject({ kind: "unknown" });
  });
});
