import { createHash } from "node:crypto";
import nock from "nock";
import { ProbotOctokit } from "probot";
import { describe, expect, it } from "vitest";
import {
  BranchConflictError,
  closePullRequest,
  fixBranchProblem,
  markReadyForReview,
  publishFix,
  PublishInputError,
  type PublishFixInput,
} from "../src/github/publish.js";
import { fixture } from "./helpers.js";

const API = "https://api.github.com";
const BASE_SHA = "8f4c2a1d9e3b7c6a5f4e3d2c1b0a9f8e7d6c5b4a";
const BASE_TREE = "6f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6";
const BRANCH = "fixloop/run-9120304501";
const FIXED_PARSER = "export function parse(input: string): Widget[] {\n  const depth = Number(token.value);\n}\n";

/** An Octokit that counts every request it sends (pagination pages included). */
function countingOctokit() {
  const octokit = new ProbotOctokit({ auth: { token: "test" }, retry: { enabled: false }, throttle: { enabled: false } });
  const sent: string[] = [];
  octokit.hook.before("request", (options) => {
    sent.push(`${options.method} ${options.url}`);
  });
  return { octokit, sent };
}

function input(overrides: Partial<PublishFixInput> = {}): PublishFixInput {
  return {
    owner: "acme",
    repo: "widgets",
    baseSha: BASE_SHA,
    baseBranch: "fix-widget-parser",
    branch: BRANCH,
    changes: [{ path: "src/parser.ts", content: FIXED_PARSER, mode: "100644" }],
    commitMessage: "fixloop: coerce depth to a number\n\nCI run 9120304501 failed in test (20).",
    author: { name: "fixloop[bot]", email: "190000001+fixloop[bot]@users.noreply.github.com" },
    pr: { title: "fixloop: fix type error in parser", body: "CI failed on `test (20)`…", draft: true, labels: ["ci-fix"] },
    ...overrides,
  };
}

describe("publishFix, one file on a fresh branch", () => {
  it("writes blob → tree → commit → ref → draft PR → labels in 9 requests with GitHub's documented bodies", async () => {
    const bodies: Record<string, unknown> = {};
    const keep = (name: string) => (body: unknown) => {
      bodies[name] = body;
      return true;
    };
    const pull = fixture<Record<string, unknown>>("api/git/pull.created.json");
    const scope = nock(API)
      .get("/repos/acme/widgets/git/ref/heads%2Ffixloop%2Frun-9120304501")
      .reply(404, { message: "Not Found" })
      .get("/repos/acme/widgets/pulls")
      .query({ head: `acme:${BRANCH}`, state: "all", per_page: "100" })
      .reply(200, [])
      .get(`/repos/acme/widgets/git/commits/${BASE_SHA}`)
      .reply(200, fixture("api/git/commit.base.json"))
      .post("/repos/acme/widgets/git/blobs", keep("blob"))
      .reply(201, { sha: "b10b10b10b10b10b10b10b10b10b10b10b10b10b", url: `${API}/repos/acme/widgets/git/blobs/b10b` })
      .post("/repos/acme/widgets/git/trees", keep("tree"))
      .reply(201, { sha: "7ree7ree7ree7ree7ree7ree7ree7ree7ree7ree", tree: [], truncated: false })
      .post("/repos/acme/widgets/git/commits", keep("commit"))
      .reply(201, { sha: "f1f2f3f4f5f6f7f8f9f0a1a2a3a4a5a6a7a8a9a0", parents: [{ sha: BASE_SHA }] })
      .post("/repos/acme/widgets/git/refs", keep("ref"))
      .reply(201, { ref: `refs/heads/${BRANCH}`, object: { type: "commit", sha: "f1f2f3f4f5f6f7f8f9f0a1a2a3a4a5a6a7a8a9a0" } })
      .post("/repos/acme/widgets/pulls", keep("pull"))
      .reply(201, pull)
      .post("/repos/acme/widgets/issues/131/labels", keep("labels"))
      .reply(200, [{ name: "fixloop" }, { name: "ci-fix" }]);
    const { octokit, sent } = countingOctokit();

    const result = await publishFix(octokit, input());

    expect(scope.isDone()).toBe(true);
    expect(sent).toHaveLength(9);
    expect(sent.length).toBeLessThanOrEqual(15);
    expect(result).toEqual({
      commitSha: "f1f2f3f4f5f6f7f8f9f0a1a2a3a4a5a6a7a8a9a0",
      branch: BRANCH,
      prNumber: 131,
      prUrl: "https://github.com/acme/widgets/pull/131",
      prNodeId: "PR_kwDOKcAbCd4",
      prState: "open",
      draft: true,
      reusedBranch: false,
      reusedPr: false,
    });
    expect(bodies.blob).toEqual({ content: Buffer.from(FIXED_PARSER).toString("base64"), encoding: "base64" });
    expect(bodies.tree).toEqual({
      base_tree: BASE_TREE,
      tree: [{ path: "src/parser.ts", mode: "100644", type: "blob", sha: "b10b10b10b10b10b10b10b10b10b10b10b10b10b" }],
    });
    expect(bodies.commit).toEqual({
      message: input().commitMessage,
      tree: "7ree7ree7ree7ree7ree7ree7ree7ree7ree7ree",
      parents: [BASE_SHA],
      author: { name: "fixloop[bot]", email: "190000001+fixloop[bot]@users.noreply.github.com" },
    });
    expect(bodies.ref).toEqual({ ref: `refs/heads/${BRANCH}`, sha: "f1f2f3f4f5f6f7f8f9f0a1a2a3a4a5a6a7a8a9a0" });
    expect(bodies.pull).toEqual({
      title: "fixloop: fix type error in parser",
      body: "CI failed on `test (20)`…",
      head: BRANCH,
      base: "fix-widget-parser",
      draft: true,
    });
    expect(bodies.labels).toEqual({ labels: ["fixloop", "ci-fix"] });
  });

  it("skips reading the base commit when its tree SHA is given", async () => {
    let treeBody: { base_tree: string } | undefined;
    const scope = nock(API)
      .get(/\/git\/ref\//)
      .reply(404, { message: "Not Found" })
      .get("/repos/acme/widgets/pulls")
      .query(true)
      .reply(200, [])
      .post("/repos/acme/widgets/git/blobs")
      .reply(201, { sha: "b10b10b10b10b10b10b10b10b10b10b10b10b10b" })
      .post("/repos/acme/widgets/git/trees", (body) => {
        treeBody = body;
        return true;
      })
      .reply(201, { sha: "7ree7ree7ree7ree7ree7ree7ree7ree7ree7ree" })
      .post("/repos/acme/widgets/git/commits")
      .reply(201, { sha: "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0" })
      .post("/repos/acme/widgets/git/refs")
      .reply(201, {})
      .post("/repos/acme/widgets/pulls")
      .reply(201, fixture("api/git/pull.created.json"))
      .post("/repos/acme/widgets/issues/131/labels")
      .reply(200, []);
    const { octokit, sent } = countingOctokit();

    await publishFix(octokit, input({ baseTreeSha: BASE_TREE }));

    expect(scope.isDone()).toBe(true);
    expect(sent).toHaveLength(8);
    expect(sent.some((request) => request.includes("/git/commits/"))).toBe(false);
    expect(treeBody?.base_tree).toBe(BASE_TREE);
  });

  it("deletes with a null sha, keeps an executable's mode, and writes blobs only for new content", async () => {
    let treeBody: { base_tree: string; tree: unknown[] } | undefined;
    let blobPosts = 0;
    nock(API)
      .get(/\/git\/ref\//)
      .reply(404, { message: "Not Found" })
      .get("/repos/acme/widgets/pulls")
      .query(true)
      .reply(200, [])
      .get(`/repos/acme/widgets/git/commits/${BASE_SHA}`)
      .reply(200, fixture("api/git/commit.base.json"))
      .post("/repos/acme/widgets/git/blobs", () => ++blobPosts > 0)
      .reply(201, { sha: "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1" })
      .post("/repos/acme/widgets/git/trees", (body) => {
        treeBody = body;
        return true;
      })
      .reply(201, { sha: "7ree7ree7ree7ree7ree7ree7ree7ree7ree7ree" })
      .post("/repos/acme/widgets/git/commits")
      .reply(201, { sha: "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0" })
      .post("/repos/acme/widgets/git/refs")
      .reply(201, {})
      .post("/repos/acme/widgets/pulls")
      .reply(201, fixture("api/git/pull.created.json"))
      .post("/repos/acme/widgets/issues/131/labels")
      .reply(200, []);
    const { octokit } = countingOctokit();

    await publishFix(
      octokit,
      input({
        changes: [
          { path: "src/legacy-parser.ts", content: null },
          { path: "scripts/release.sh", content: "#!/usr/bin/env bash\nnpm publish --provenance\n", mode: "100755" },
        ],
      }),
    );

    expect(blobPosts).toBe(1);
    expect(treeBody).toEqual({
      base_tree: BASE_TREE,
      tree: [
        { path: "src/legacy-parser.ts", mode: "100644", type: "blob", sha: null },
        { path: "scripts/release.sh", mode: "100755", type: "blob", sha: "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1" },
      ],
    });
  });

  it("opens a ready PR when the repository does not support drafts", async () => {
    const drafts: boolean[] = [];
    nock(API)
      .get(/\/git\/ref\//)
      .reply(404, {})
      .get("/repos/acme/widgets/pulls")
      .query(true)
      .reply(200, [])
      .get(`/repos/acme/widgets/git/commits/${BASE_SHA}`)
      .reply(200, fixture("api/git/commit.base.json"))
      .post("/repos/acme/widgets/git/blobs")
      .reply(201, { sha: "b1" })
      .post("/repos/acme/widgets/git/trees")
      .reply(201, { sha: "t1" })
      .post("/repos/acme/widgets/git/commits")
      .reply(201, { sha: "c1" })
      .post("/repos/acme/widgets/git/refs")
      .reply(201, {})
      .post("/repos/acme/widgets/pulls", (body: { draft: boolean }) => drafts.push(body.draft) > 0)
      .reply(422, { message: "Draft pull requests are not supported in this repository.", documentation_url: "https://docs.github.com/rest/pulls/pulls#create-a-pull-request" })
      .post("/repos/acme/widgets/pulls", (body: { draft: boolean }) => drafts.push(body.draft) > 0)
      .reply(201, { ...fixture<Record<string, unknown>>("api/git/pull.created.json"), draft: false })
      .post("/repos/acme/widgets/issues/131/labels")
      .reply(200, []);

    const result = await publishFix(countingOctokit().octokit, input());

    expect(drafts).toEqual([true, false]);
    expect(result.draft).toBe(false);
  });
});

interface FakeCommit {
  tree: string;
  parents: string[];
  message: string;
}

interface FakePull {
  number: number;
  state: "open" | "closed";
  merged_at: string | null;
  head: string;
  headSha: string;
  base: string;
  draft: boolean;
  labels: string[];
}

/** Enough of GitHub's Git data and pulls API, with state, to see what two runs of publishFix leave behind. */
class FakeGitHub {
  commits = new Map<string, FakeCommit>([[BASE_SHA, { tree: BASE_TREE, parents: ["3b1f0e9d8c7a6b5e4f3d2c1b0a9e8d7c6b5a4f3e"], message: "Parse nested widgets" }]]);
  trees = new Set<string>([BASE_TREE]);
  refs = new Map<string, string>();
  pulls: FakePull[] = [];
  requests: string[] = [];
  /** Runs just before a ref is created: lets a test slip a concurrent writer in. */
  beforeCreateRef?: () => void;

  constructor() {
    const scope = nock(API).persist();
    for (const method of ["GET", "POST", "PATCH"]) {
      // A fake server answers whatever a run asks; a method one scenario never uses is not a missing request.
      scope
        .intercept(/^\/repos\/acme\/widgets\//, method)
        .optionally()
        .reply((uri, body) => this.handle(method, uri, body as Record<string, unknown>));
    }
  }

  private sha(...parts: unknown[]): string {
    return createHash("sha1").update(JSON.stringify(parts)).digest("hex");
  }

  private pullJson(pull: FakePull) {
    return {
      number: pull.number,
      node_id: `PR_node${pull.number}`,
      html_url: `https://github.com/acme/widgets/pull/${pull.number}`,
      state: pull.state,
      draft: pull.draft,
      merged_at: pull.merged_at,
      head: { ref: pull.head, sha: pull.headSha, label: `acme:${pull.head}` },
      base: { ref: pull.base },
      labels: pull.labels.map((name) => ({ name })),
    };
  }

  handle(method: string, uri: string, body: Record<string, unknown>): [number, unknown] {
    const url = new URL(uri, API);
    const path = decodeURIComponent(url.pathname.replace(/^\/repos\/acme\/widgets/, ""));
    this.requests.push(`${method} ${path}`);
    let match: RegExpExecArray | null;
    if (method === "GET" && (match = /^\/git\/ref\/heads\/(.+)$/.exec(path))) {
      const sha = this.refs.get(match[1]);
      return sha ? [200, { ref: `refs/heads/${match[1]}`, object: { type: "commit", sha } }] : [404, { message: "Not Found" }];
    }
    if (method === "GET" && (match = /^\/git\/commits\/([0-9a-f]+)$/.exec(path))) {
      const commit = this.commits.get(match[1]);
      return commit ? [200, { sha: match[1], tree: { sha: commit.tree }, parents: commit.parents.map((sha) => ({ sha })), message: commit.message }] : [404, {}];
    }
    if (method === "POST" && path === "/git/blobs") return [201, { sha: this.sha("blob", body.content) }];
    if (method === "POST" && path === "/git/trees") {
      if (!this.trees.has(body.base_tree as string)) return [422, { message: "base_tree is not a tree" }];
      const sha = this.sha("tree", body);
      this.trees.add(sha);
      return [201, { sha }];
    }
    if (method === "POST" && path === "/git/commits") {
      const sha = this.sha("commit", body, this.commits.size);
      this.commits.set(sha, { tree: body.tree as string, parents: body.parents as string[], message: body.message as string });
      return [201, { sha, parents: (body.parents as string[]).map((p) => ({ sha: p })) }];
    }
    if (method === "POST" && path === "/git/refs") {
      this.beforeCreateRef?.();
      const branch = (body.ref as string).replace(/^refs\/heads\//, "");
      if (this.refs.has(branch)) return [422, { message: "Reference already exists", documentation_url: "https://docs.github.com/rest/git/refs#create-a-reference" }];
      this.refs.set(branch, body.sha as string);
      return [201, { ref: body.ref, object: { type: "commit", sha: body.sha } }];
    }
    if (method === "GET" && path === "/pulls") {
      const head = url.searchParams.get("head");
      return [200, this.pulls.filter((pull) => `acme:${pull.head}` === head).map((pull) => this.pullJson(pull))];
    }
    if (method === "POST" && path === "/pulls") {
      if (this.pulls.some((pull) => pull.head === body.head && pull.state === "open")) {
        return [422, { message: "Validation Failed", errors: [{ resource: "PullRequest", code: "custom", message: `A pull request already exists for acme:${body.head}.` }] }];
      }
      const pull: FakePull = {
        number: 131 + this.pulls.length,
        state: "open",
        merged_at: null,
        head: body.head as string,
        headSha: this.refs.get(body.head as string) ?? "",
        base: body.base as string,
        draft: body.draft as boolean,
        labels: [],
      };
      this.pulls.push(pull);
      return [201, this.pullJson(pull)];
    }
    if (method === "POST" && (match = /^\/issues\/(\d+)\/labels$/.exec(path))) {
      const pull = this.pulls.find((p) => p.number === Number(match![1]));
      if (!pull) return [404, {}];
      pull.labels = [...new Set([...pull.labels, ...(body.labels as string[])])];
      return [200, pull.labels.map((name) => ({ name }))];
    }
    return [500, { message: `fake GitHub has no route for ${method} ${path}` }];
  }
}

describe("publishFix is idempotent", () => {
  it("run twice: one branch, one commit, one PR; the second run reuses both in 3 requests", async () => {
    const github = new FakeGitHub();
    const { octokit } = countingOctokit();

    const first = await publishFix(octokit, input());
    const firstRequests = github.requests.length;
    const second = await publishFix(octokit, input());

    expect(firstRequests).toBe(9);
    expect(github.requests.length - firstRequests).toBe(3);
    expect(github.requests.slice(firstRequests).filter((r) => r.startsWith("POST"))).toEqual([]);
    expect(github.pulls).toHaveLength(1);
    expect(github.pulls[0]).toMatchObject({ head: BRANCH, base: "fix-widget-parser", draft: true, labels: ["fixloop", "ci-fix"] });
    expect(github.refs.get(BRANCH)).toBe(first.commitSha);
    expect(github.commits.get(first.commitSha)?.parents).toEqual([BASE_SHA]);
    expect(first).toMatchObject({ reusedBranch: false, reusedPr: false, prNumber: 131 });
    expect(second).toEqual({ ...first, reusedBranch: true, reusedPr: true });
  });

  it("finishes the PR when an earlier run died after creating the branch", async () => {
    const github = new FakeGitHub();
    const { octokit } = countingOctokit();
    github.refs.set(BRANCH, "d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1");
    github.commits.set("d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1", { tree: "t", parents: [BASE_SHA], message: "fixloop: earlier" });

    const result = await publishFix(octokit, input());

    expect(result).toMatchObject({ commitSha: "d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1", reusedBranch: true, reusedPr: false, prNumber: 131 });
    expect(github.requests.filter((r) => r.includes("/git/blobs") || r.includes("/git/trees") || r === "POST /git/commits")).toEqual([]);
    expect(github.pulls).toHaveLength(1);
  });

  it("uses the branch a concurrent run created between the read and the write", async () => {
    const github = new FakeGitHub();
    github.beforeCreateRef = () => {
      github.beforeCreateRef = undefined;
      github.commits.set("e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2", { tree: "t", parents: [BASE_SHA], message: "fixloop: the other run" });
      github.refs.set(BRANCH, "e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2");
    };

    const result = await publishFix(countingOctokit().octokit, input());

    expect(result).toMatchObject({ commitSha: "e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2", reusedBranch: true });
    expect(github.pulls).toHaveLength(1);
    expect(github.pulls[0].headSha).toBe("e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2");
  });

  it("never touches a branch whose head is not a fix commit on the failing commit", async () => {
    const github = new FakeGitHub();
    github.commits.set("a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9", { tree: "t", parents: ["d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"], message: "human follow-up" });
    github.refs.set(BRANCH, "a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9");

    const error = await publishFix(countingOctokit().octokit, input()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BranchConflictError);
    expect(github.requests.filter((r) => r.startsWith("POST"))).toEqual([]);
    expect(github.refs.get(BRANCH)).toBe("a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9");
  });

  it("reports a PR a human closed (branch deleted) instead of opening another", async () => {
    const github = new FakeGitHub();
    github.pulls.push({ number: 120, state: "closed", merged_at: null, head: BRANCH, headSha: "d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1", base: "fix-widget-parser", draft: true, labels: ["fixloop"] });

    const result = await publishFix(countingOctokit().octokit, input());

    expect(result).toMatchObject({ prNumber: 120, prState: "closed", reusedPr: true, reusedBranch: false });
    expect(github.requests.filter((r) => r.startsWith("POST"))).toEqual([]);
    expect(github.refs.has(BRANCH)).toBe(false);
  });
});

describe("publishFix input checks", () => {
  it.each([
    ["a branch outside fixloop/", input({ branch: "main" })],
    ["the base branch itself", input({ branch: "fixloop/x", baseBranch: "fixloop/x" })],
    ["a branch name git rejects", input({ branch: "fixloop/run..1" })],
    ["a short base SHA", input({ baseSha: "8f4c2a1" })],
    ["a path into .git", input({ changes: [{ path: ".git/hooks/pre-commit", content: "rm -rf /" }] })],
    ["a path outside the repo", input({ changes: [{ path: "../outside.txt", content: "x" }] })],
    ["no changes", input({ changes: [] })],
    ["the same path twice", input({ changes: [{ path: "a.ts", content: "1" }, { path: "a.ts", content: null }] })],
  ])("refuses %s before any request", async (_label, bad) => {
    const { octokit, sent } = countingOctokit();
    await expect(publishFix(octokit, bad)).rejects.toBeInstanceOf(PublishInputError);
    expect(sent).toEqual([]);
  });

  it("names the rule a branch breaks", () => {
    expect(fixBranchProblem("fixloop/run-123-2")).toBeNull();
    expect(fixBranchProblem("fixloop/run 1")).toMatch(/character/);
    expect(fixBranchProblem("fixloop/run.lock")).toMatch(/\.lock/);
    expect(fixBranchProblem("fixloop/")).toMatch(/start with/);
  });
});

describe("after publishing", () => {
  it("marks a draft ready for review through GraphQL", async () => {
    let graphqlBody: { query: string; variables: Record<string, unknown> } | undefined;
    const scope = nock(API)
      .post("/graphql", (body) => {
        graphqlBody = body;
        return true;
      })
      .reply(200, { data: { markPullRequestReadyForReview: { pullRequest: { number: 131, isDraft: false } } } });

    const result = await markReadyForReview(countingOctokit().octokit, { owner: "acme", repo: "widgets", prNumber: 131, nodeId: "PR_kwDOKcAbCd4" });

    expect(scope.isDone()).toBe(true);
    expect(result).toEqual({ prNumber: 131, isDraft: false, open: true });
    expect(graphqlBody?.variables).toEqual({ pullRequestId: "PR_kwDOKcAbCd4" });
    expect(graphqlBody?.query).toMatch(/mutation MarkReadyForReview\(\$pullRequestId: ID!\)/);
    expect(graphqlBody?.query).toMatch(/markPullRequestReadyForReview\(input: \{ pullRequestId: \$pullRequestId \}\)/);
  });

  it("reads the node id first when it is not known, and skips the mutation for a PR that is not a draft", async () => {
    const draft = fixture<Record<string, unknown>>("api/git/pull.created.json");
    const scope = nock(API)
      .get("/repos/acme/widgets/pulls/131")
      .reply(200, draft)
      .post("/graphql", (body: { variables: { pullRequestId: string } }) => body.variables.pullRequestId === "PR_kwDOKcAbCd4")
      .reply(200, { data: { markPullRequestReadyForReview: { pullRequest: { number: 131, isDraft: false } } } })
      .get("/repos/acme/widgets/pulls/132")
      .reply(200, { ...draft, number: 132, draft: false });
    const { octokit } = countingOctokit();

    expect(await markReadyForReview(octokit, { owner: "acme", repo: "widgets", prNumber: 131 })).toEqual({ prNumber: 131, isDraft: false, open: true });
    expect(await markReadyForReview(octokit, { owner: "acme", repo: "widgets", prNumber: 132 })).toEqual({ prNumber: 132, isDraft: false, open: true });
    expect(scope.isDone()).toBe(true);
  });

  it("leaves a draft a person closed alone: no mutation (GitHub would refuse it and the follow-up would retry)", async () => {
    const draft = fixture<Record<string, unknown>>("api/git/pull.created.json");
    // Only the read is mocked: a mutation would match nothing, and the suite's nock guard fails the test.
    const scope = nock(API).get("/repos/acme/widgets/pulls/131").reply(200, { ...draft, state: "closed" });
    expect(await markReadyForReview(countingOctokit().octokit, { owner: "acme", repo: "widgets", prNumber: 131 })).toEqual({ prNumber: 131, isDraft: true, open: false });
    expect(scope.isDone()).toBe(true);
  });

  it("closes a PR", async () => {
    const scope = nock(API)
      .patch("/repos/acme/widgets/pulls/131", { state: "closed" })
      .reply(200, { ...fixture<Record<string, unknown>>("api/git/pull.created.json"), state: "closed" });
    expect(await closePullRequest(countingOctokit().octokit, { owner: "acme", repo: "widgets", prNumber: 131 })).toEqual({ prNumber: 131, state: "closed" });
    expect(scope.isDone()).toBe(true);
  });
});
