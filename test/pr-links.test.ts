import { afterEach, beforeEach, expect, test } from "vitest";
import { prOutcomes } from "../src/store/schema.js";
import { fixture, startTestServer, type TestServer } from "./helpers.js";

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.close();
});

test("an agent's commit pushed before its PR exists is linked to the PR when the PR arrives", async () => {
  const pr = fixture<{ pull_request: { head: { sha: string; ref: string } }; repository: unknown; installation: unknown }>("pull_request.opened.json");
  const sha = pr.pull_request.head.sha;
  const push = {
    ref: `refs/heads/${pr.pull_request.head.ref}`,
    before: "0".repeat(40),
    after: sha,
    commits: [
      {
        id: sha,
        message: "Return [] for empty input\n\nCo-authored-by: Claude <noreply@anthropic.com>",
        timestamp: "2024-05-02T11:58:00Z",
        author: { name: "Octo Dev", email: "octodev@users.noreply.github.com", username: "octodev" },
        added: [],
        modified: ["src/parser.ts"],
        removed: [],
      },
    ],
    head_commit: null,
    repository: pr.repository,
    installation: pr.installation,
    sender: { login: "octodev" },
  };
  expect((await server.post("push", push)).status).toBe(202);
  expect((await server.post("pull_request", pr)).status).toBe(202);
  const [row] = await server.store.db.select().from(prOutcomes);
  expect(row.linkedSessionIds).toContain("agent:claude");
});
