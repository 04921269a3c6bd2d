import nock from "nock";
import { ProbotOctokit } from "probot";
import { describe, expect, it } from "vitest";
import { commentBody, commentMarker, upsertComment } from "../src/github/comments.js";

const API = "https://api.github.com";
const repo = { owner: "acme", repo: "widgets" };

function testOctokit() {
  return new ProbotOctokit({ auth: { token: "test" }, retry: { enabled: false }, throttle: { enabled: false } });
}

const bot = { login: "fixloop[bot]", id: 190000001, type: "Bot" };
const human = { login: "ada", id: 1001, type: "User" };

function comment(id: number, user: typeof bot, body: string, app: { id: number } | null = null) {
  return {
    id,
    node_id: `IC_kwDOKc${id}`,
    url: `${API}/repos/acme/widgets/issues/comments/${id}`,
    html_url: `https://github.com/acme/widgets/pull/77#issuecomment-${id}`,
    issue_url: `${API}/repos/acme/widgets/issues/77`,
    user,
    created_at: "2025-03-14T09:30:00Z",
    updated_at: "2025-03-14T09:30:00Z",
    author_association: user.type === "Bot" ? "NONE" : "MEMBER",
    body,
    performed_via_github_app: app,
  };
}

const PAGE_2 = `${API}/repositories/700100/issues/77/comments?per_page=100&page=2`;
const MARKER = "fork-patch:run-9120304501";
const PATCH_NOTE = "This PR comes from a fork, so here is the fix as a patch:\n\n```diff\n-  const depth: number = token.value;\n+  const depth = Number(token.value);\n```";

describe("upsertComment", () => {
  it("creates the comment, marker first, when no page has ours", async () => {
    let created: { body: string } | undefined;
    const scope = nock(API)
      .get("/repos/acme/widgets/issues/77/comments")
      .query({ per_page: "100" })
      .reply(200, [comment(1, human, "LGTM"), comment(2, bot, "<!-- fixloop:ci-passed -->\nFix CI passed")], { link: `<${PAGE_2}>; rel="next"` })
      .get("/repositories/700100/issues/77/comments")
      .query({ per_page: "100", page: "2" })
      .reply(200, [comment(3, human, "any news?")])
      .post("/repos/acme/widgets/issues/77/comments", (body) => {
        created = body;
        return true;
      })
      .reply(201, comment(4, bot, "…"));

    const result = await upsertComment(testOctokit(), { ...repo, issueNumber: 77, marker: MARKER, body: PATCH_NOTE });

    expect(scope.isDone()).toBe(true);
    expect(result).toEqual({ commentId: 4, url: "https://github.com/acme/widgets/pull/77#issuecomment-4", action: "created" });
    expect(created?.body).toBe(`<!-- fixloop:fork-patch:run-9120304501 -->\n${PATCH_NOTE}`);
  });

  it("edits our earlier comment (found on page 2) instead of adding another", async () => {
    let edited: { body: string } | undefined;
    const scope = nock(API)
      .get("/repos/acme/widgets/issues/77/comments")
      .query({ per_page: "100" })
      .reply(200, [comment(1, human, "LGTM")], { link: `<${PAGE_2}>; rel="next"` })
      .get("/repositories/700100/issues/77/comments")
      .query({ per_page: "100", page: "2" })
      .reply(200, [comment(5, bot, `${commentMarker(MARKER)}\nan older patch`)])
      .patch("/repos/acme/widgets/issues/comments/5", (body) => {
        edited = body;
        return true;
      })
      .reply(200, comment(5, bot, "…"));

    const result = await upsertComment(testOctokit(), { ...repo, issueNumber: 77, marker: MARKER, body: PATCH_NOTE });

    expect(scope.isDone()).toBe(true);
    expect(result.action).toBe("updated");
    expect(result.commentId).toBe(5);
    expect(edited?.body).toBe(commentBody(MARKER, PATCH_NOTE));
  });

  it("writes nothing when our comment already says exactly this (a retried job)", async () => {
    const scope = nock(API)
      .get("/repos/acme/widgets/issues/77/comments")
      .query({ per_page: "100" })
      .reply(200, [comment(5, bot, commentBody(MARKER, PATCH_NOTE))]);

    const result = await upsertComment(testOctokit(), { ...repo, issueNumber: 77, marker: MARKER, body: PATCH_NOTE });

    expect(scope.isDone()).toBe(true);
    expect(result).toEqual({ commentId: 5, url: "https://github.com/acme/widgets/pull/77#issuecomment-5", action: "unchanged" });
  });

  it("does not take over a human's comment that carries our marker", async () => {
    const scope = nock(API)
      .get("/repos/acme/widgets/issues/77/comments")
      .query({ per_page: "100" })
      .reply(200, [comment(6, human, `${commentMarker(MARKER)}\nplease overwrite me`)])
      .post("/repos/acme/widgets/issues/77/comments")
      .reply(201, comment(7, bot, "…"));

    const result = await upsertComment(testOctokit(), { ...repo, issueNumber: 77, marker: MARKER, body: PATCH_NOTE });

    expect(scope.isDone()).toBe(true);
    expect(result.action).toBe("created");
  });

  it("matches only the given app when told which one is ours", async () => {
    const otherBot = { login: "other-ci[bot]", id: 5, type: "Bot" };
    const scope = nock(API)
      .get("/repos/acme/widgets/issues/77/comments")
      .query({ per_page: "100" })
      .reply(200, [comment(8, otherBot, `${commentMarker(MARKER)}\nquoted`, { id: 77 }), comment(9, bot, `${commentMarker(MARKER)}\nold`, { id: 4242 })])
      .patch("/repos/acme/widgets/issues/comments/9")
      .reply(200, comment(9, bot, "…"));

    const result = await upsertComment(testOctokit(), { ...repo, issueNumber: 77, marker: MARKER, body: PATCH_NOTE, author: { appId: 4242 } });

    expect(scope.isDone()).toBe(true);
    expect(result).toMatchObject({ commentId: 9, action: "updated" });
  });
});

describe("commentBody", () => {
  it("removes copies of the marker from the text so only the header matches", () => {
    const body = commentBody(MARKER, `log said ${commentMarker(MARKER)} here`);
    expect(body.split(commentMarker(MARKER))).toHaveLength(2);
    expect(body.startsWith(commentMarker(MARKER))).toBe(true);
  });

  it("refuses markers that could close the HTML comment", () => {
    expect(() => commentMarker("x --> <script>")).toThrow(/marker/);
  });
});
