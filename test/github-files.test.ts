import nock from "nock";
import { ProbotOctokit } from "probot";
import { describe, expect, it } from "vitest";
import { completeTruncatedTree, decodeText, fetchFilesAtRef, filePaths, readRepoTree, repoPathProblem, UnsafePathError } from "../src/github/files.js";
import { changedBetween, lastGreenSha, pullRequestFiles } from "../src/github/history.js";
import { fixture } from "./helpers.js";

const API = "https://api.github.com";
const SHA = "8f4c2a1d9e3b7c6a5f4e3d2c1b0a9f8e7d6c5b4a";
const repo = { owner: "acme", repo: "widgets" };

function testOctokit() {
  return new ProbotOctokit({ auth: { token: "test" }, retry: { enabled: false }, throttle: { enabled: false } });
}

function blobReply(sha: string, bytes: Buffer) {
  return {
    sha,
    node_id: `B_${sha.slice(0, 8)}`,
    size: bytes.byteLength,
    url: `${API}/repos/acme/widgets/git/blobs/${sha}`,
    // GitHub wraps base64 at 60 columns.
    content: (bytes.toString("base64").match(/.{1,60}/g) ?? [""]).join("\n") + "\n",
    encoding: "base64",
  };
}

const PARSER_TS = "export function parse(input: string): Widget[] {\n  const depth: number = token.value;\n}\n";
const RELEASE_SH = "#!/usr/bin/env bash\nset -euo pipefail\nnpm publish\n";
const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000010000000100806000000", "hex");

describe("fetchFilesAtRef", () => {
  it("reads each directory's tree once, then only the blobs of regular files small enough", async () => {
    const scope = nock(API)
      // Root, src/ and scripts/ trees by tree-ish "<sha>:<dir>"; lib/ does not exist.
      .get(`/repos/acme/widgets/git/trees/${SHA}`)
      .reply(200, fixture("api/git/tree.root.json"))
      .get(`/repos/acme/widgets/git/trees/${SHA}:src`)
      .reply(200, fixture("api/git/tree.src.json"))
      .get(`/repos/acme/widgets/git/trees/${SHA}:scripts`)
      .reply(200, fixture("api/git/tree.scripts.json"))
      .get(`/repos/acme/widgets/git/trees/${SHA}:lib`)
      .reply(404, { message: "Not Found" })
      .get("/repos/acme/widgets/git/blobs/2222222222222222222222222222222222222222")
      .reply(200, blobReply("2222222222222222222222222222222222222222", Buffer.from(PARSER_TS)))
      .get("/repos/acme/widgets/git/blobs/3333333333333333333333333333333333333333")
      .reply(200, blobReply("3333333333333333333333333333333333333333", PNG))
      .get("/repos/acme/widgets/git/blobs/cccccccccccccccccccccccccccccccccccccccc")
      .reply(200, blobReply("cccccccccccccccccccccccccccccccccccccccc", Buffer.from(RELEASE_SH)))
      .get("/repos/acme/widgets/git/blobs/9999999999999999999999999999999999999999")
      .reply(200, blobReply("9999999999999999999999999999999999999999", Buffer.from("# widgets\n")));

    const files = await fetchFilesAtRef(testOctokit(), {
      ...repo,
      ref: SHA,
      paths: [
        "src/parser.ts",
        "src/logo.png",
        "src/current",
        "src/vendor",
        "src/generated.json",
        "src/grammar",
        "src/missing.ts",
        "scripts/release.sh",
        "README.md",
        "lib/nothing.ts",
        "src/parser.ts",
      ],
    });

    // Every interceptor used once, and nothing else asked for: no blob read for the symlink,
    // the submodule, the directory or the 4.8 MB file.
    expect(scope.isDone()).toBe(true);
    expect(Object.keys(files)).toEqual([
      "src/parser.ts",
      "src/logo.png",
      "src/current",
      "src/vendor",
      "src/generated.json",
      "src/grammar",
      "src/missing.ts",
      "scripts/release.sh",
      "README.md",
      "lib/nothing.ts",
    ]);
    expect(files["src/parser.ts"]).toEqual({ type: "file", content: PARSER_TS, sha: "2222222222222222222222222222222222222222", mode: "100644" });
    expect(files["scripts/release.sh"]).toEqual({ type: "file", content: RELEASE_SH, sha: "cccccccccccccccccccccccccccccccccccccccc", mode: "100755" });
    expect(files["README.md"]).toMatchObject({ type: "file", content: "# widgets\n" });
    expect(files["src/logo.png"]).toEqual({ type: "binary", sha: "3333333333333333333333333333333333333333" });
    expect(files["src/current"]).toEqual({ type: "symlink", sha: "4444444444444444444444444444444444444444" });
    expect(files["src/vendor"]).toEqual({ type: "submodule", sha: "5555555555555555555555555555555555555555" });
    expect(files["src/generated.json"]).toEqual({ type: "too_large", sha: "6666666666666666666666666666666666666666" });
    expect(files["src/grammar"]).toEqual({ type: "directory", sha: "7777777777777777777777777777777777777777" });
    expect(files["src/missing.ts"]).toBeUndefined();
    expect("src/missing.ts" in files).toBe(true);
    expect(files["lib/nothing.ts"]).toBeUndefined();
  });

  it("honours a smaller maxBytes without reading the blob", async () => {
    const scope = nock(API).get(`/repos/acme/widgets/git/trees/${SHA}:src`).reply(200, fixture("api/git/tree.src.json"));
    const files = await fetchFilesAtRef(testOctokit(), { ...repo, ref: SHA, paths: ["src/parser.ts"], maxBytes: 1000 });
    expect(scope.isDone()).toBe(true);
    expect(files["src/parser.ts"]).toEqual({ type: "too_large", sha: "2222222222222222222222222222222222222222" });
  });

  it("percent-encodes directory names but keeps the ':' and '/' of the tree-ish", async () => {
    const dir = {
      sha: "abababababababababababababababababababab",
      tree: [{ path: "a #1.md", mode: "100644", type: "blob", sha: "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", size: 4 }],
      truncated: false,
    };
    const scope = nock(API)
      .get(`/repos/acme/widgets/git/trees/${SHA}:docs/my%20notes%7Bv2%7D`)
      .reply(200, dir)
      .get("/repos/acme/widgets/git/blobs/cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd")
      .reply(200, blobReply("cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", Buffer.from("hi!\n")));
    const files = await fetchFilesAtRef(testOctokit(), { ...repo, ref: SHA, paths: ["docs/my notes{v2}/a #1.md"] });
    expect(scope.isDone()).toBe(true);
    expect(files["docs/my notes{v2}/a #1.md"]).toMatchObject({ type: "file", content: "hi!\n" });
  });

  it("refuses unsafe paths before sending any request", async () => {
    // No interceptors: any request would fail with a network error instead of UnsafePathError.
    const error = await fetchFilesAtRef(testOctokit(), {
      ...repo,
      ref: SHA,
      paths: ["src/ok.ts", "../etc/passwd", "/etc/passwd", ".git/config", "src/.GIT/HEAD", "a//b", "a\\b", "./a", "C:/x"],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsafePathError);
    expect((error as UnsafePathError).problems.map((p) => p.path)).toEqual([
      "../etc/passwd",
      "/etc/passwd",
      ".git/config",
      "src/.GIT/HEAD",
      "a//b",
      "a\\b",
      "./a",
      "C:/x",
    ]);
  });
});

describe("repoPathProblem", () => {
  it("accepts ordinary repository paths, dotfiles included", () => {
    for (const path of ["README.md", "src/a/b.ts", ".github/workflows/ci.yml", ".gitignore", "a/.gitkeep", "x..y/z", "docs/my notes.md"]) {
      expect(repoPathProblem(path), path).toBeNull();
    }
  });

  it("names what is wrong with a path", () => {
    expect(repoPathProblem("")).toBe("empty path");
    expect(repoPathProblem("a/../b")).toBe('".." segment');
    expect(repoPathProblem("a/.git")).toBe(".git directory");
    expect(repoPathProblem("a/b/")).toBe("empty path segment");
    expect(repoPathProblem("a\u0000b")).toBe("control character in path");
  });
});

describe("decodeText", () => {
  it("keeps a byte-order mark and CRLF line ends as they are", () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("a\r\nb\r\n")]);
    expect(decodeText(bytes)).toBe("\uFEFFa\r\nb\r\n");
  });

  it("calls NUL bytes and invalid UTF-8 binary", () => {
    expect(decodeText(Buffer.from("abc\u0000def"))).toBeNull();
    expect(decodeText(Buffer.from([0x61, 0xff, 0xfe, 0x62]))).toBeNull();
    expect(decodeText(Buffer.from("héllo ✓"))).toBe("héllo ✓");
  });
});

describe("readRepoTree: one recursive read per SHA", () => {
  const entry = (path: string, sha: string, size = 10) => ({ path, mode: "100644", type: "blob", sha, size });

  it("reads once per client and SHA, and the listing lets fetchFilesAtRef skip directory reads", async () => {
    const scope = nock(API)
      .get(`/repos/acme/widgets/git/trees/${SHA}`)
      .query({ recursive: "1" })
      .reply(200, { sha: "t", truncated: false, tree: [{ path: "src", mode: "040000", type: "tree", sha: "d" }, entry("src/parser.ts", "b1", PARSER_TS.length)] })
      .get("/repos/acme/widgets/git/blobs/b1")
      .reply(200, blobReply("b1", Buffer.from(PARSER_TS)));
    const octokit = testOctokit();
    const listing = await readRepoTree(octokit, { ...repo, sha: SHA });
    expect(await readRepoTree(octokit, { ...repo, sha: SHA })).toBe(listing);
    expect(filePaths(listing!)).toEqual(["src/parser.ts"]);
    expect(listing!.entries.get("src")).toMatchObject({ type: "tree" });
    const files = await fetchFilesAtRef(octokit, { ...repo, ref: SHA, paths: ["src/parser.ts", "src/missing.ts"], tree: listing });
    expect(files["src/parser.ts"]).toMatchObject({ type: "file", content: PARSER_TS });
    expect(files["src/missing.ts"]).toBeUndefined();
    expect(scope.isDone()).toBe(true);
  });

  it("a commit GitHub does not have is null, not an error; a server error is not cached", async () => {
    nock(API).get(`/repos/acme/widgets/git/trees/${SHA}`).query(true).reply(404, { message: "Not Found" });
    expect(await readRepoTree(testOctokit(), { ...repo, sha: SHA })).toBeNull();
    const octokit = testOctokit();
    nock(API).get(`/repos/acme/widgets/git/trees/${SHA}`).query(true).reply(500, { message: "boom" });
    await expect(readRepoTree(octokit, { ...repo, sha: SHA })).rejects.toThrow();
    nock(API).get(`/repos/acme/widgets/git/trees/${SHA}`).query(true).reply(200, { sha: "t", truncated: false, tree: [] });
    expect(await readRepoTree(octokit, { ...repo, sha: SHA })).toMatchObject({ truncated: false });
  });

  it("truncated: the candidate directories are read one by one and added", async () => {
    nock(API)
      .get(`/repos/acme/widgets/git/trees/${SHA}`)
      .query({ recursive: "1" })
      .reply(200, { sha: "t", truncated: true, tree: [entry("README.md", "r")] })
      .get(`/repos/acme/widgets/git/trees/${SHA}:src/main/java/org/acme`)
      .reply(200, { sha: "d", truncated: false, tree: [entry("Cart.java", "c"), { path: "util", mode: "040000", type: "tree", sha: "u" }] })
      .get(`/repos/acme/widgets/git/trees/${SHA}:lib`)
      .reply(404, { message: "Not Found" });
    const octokit = testOctokit();
    const listing = (await readRepoTree(octokit, { ...repo, sha: SHA }))!;
    expect(listing.truncated).toBe(true);
    await completeTruncatedTree(octokit, { ...repo, sha: SHA, listing, dirs: ["src/main/java/org/acme", "lib", "lib", "../etc"] });
    expect(filePaths(listing).sort()).toEqual(["README.md", "src/main/java/org/acme/Cart.java"]);
    expect(listing.entries.get("src/main/java/org/acme/util")).toMatchObject({ type: "tree" });
  });
});

describe("what changed before a failure", () => {
  it("the last green run's SHA, the files since it, and a PR's files: one request each", async () => {
    nock(API)
      .get("/repos/acme/widgets/actions/workflows/7/runs")
      .query({ branch: "main", status: "success", per_page: "1" })
      .reply(200, { total_count: 1, workflow_runs: [{ id: 1, head_sha: "a".repeat(40) }] })
      .get(`/repos/acme/widgets/compare/${"a".repeat(40)}...${SHA}`)
      .query({ per_page: "100" })
      .reply(200, { files: [{ filename: "src/a.ts" }, { filename: "src/b.ts" }] })
      .get("/repos/acme/widgets/pulls/5/files")
      .query({ per_page: "100" })
      .reply(200, [{ filename: "src/a.ts" }]);
    const octokit = testOctokit();
    const green = await lastGreenSha(octokit, { ...repo, workflowId: 7, branch: "main" });
    expect(green).toBe("a".repeat(40));
    expect(await changedBetween(octokit, { ...repo, base: green!, head: SHA })).toEqual(["src/a.ts", "src/b.ts"]);
    expect(await pullRequestFiles(octokit, { ...repo, pullNumber: 5 })).toEqual(["src/a.ts"]);
  });

  it("a base that is gone (force-push) or a PR that is gone gives null", async () => {
    nock(API)
      .get(`/repos/acme/widgets/compare/${"b".repeat(40)}...${SHA}`)
      .query(true)
      .reply(404, { message: "Not Found" })
      .get("/repos/acme/widgets/pulls/6/files")
      .query(true)
      .reply(404, { message: "Not Found" });
    expect(await changedBetween(testOctokit(), { ...repo, base: "b".repeat(40), head: SHA })).toBeNull();
    expect(await pullRequestFiles(testOctokit(), { ...repo, pullNumber: 6 })).toBeNull();
  });
});
