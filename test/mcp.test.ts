/**
 * The agent tools end to end: a store filled by replayed deliveries (GitHub,
 * GitLab, Gitea, through their real routes), then the SDK's own MCP client
 * talking to `fixloop mcp` over stdio in a child process, and to `/mcp` over
 * Streamable HTTP behind the admin token.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { FixAttempt } from "../src/store/schema.js";
import { ADMIN_TOKEN, fixture, startTestServer, type TestServer } from "./helpers.js";
import { FORGE_SECRETS, postGitea, postGitlab } from "./forges-support.js";
import { FIX_SHA, MERGE_SHA, REPO, seedFixAttempt } from "./outcomes-setup.js";

const TSX = fileURLToPath(new URL("../node_modules/.bin/tsx", import.meta.url));
const CLI = fileURLToPath(new URL("../src/cli/index.ts", import.meta.url));

let server: TestServer;
let attempt: FixAttempt;
let client: Client;

type ToolResult = { isError?: boolean; structuredContent?: Record<string, any>; content: { type: string; text?: string }[] };

async function call(c: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return (await c.callTool({ name, arguments: args })) as ToolResult;
}

beforeAll(async () => {
  server = await startTestServer({ forgeSecrets: FORGE_SECRETS });
  attempt = await seedFixAttempt(server.store.db);
  for (const [event, name] of [
    ["pull_request", "pull_request.opened.json"],
    ["workflow_run", "workflow_run.completed.json"],
    ["pull_request", "pull_request.closed.fix-merged.json"],
    ["push", "push.main.fix-merge.json"],
    ["push", "push.main.touches.json"],
  ] as const) {
    expect((await server.post(event, fixture(name))).status).toBe(202);
  }
  expect((await postGitlab(server, "Merge Request Hook", fixture("gitlab/merge_request.open.json"))).status).toBe(200);
  expect((await postGitlab(server, "Pipeline Hook", fixture("gitlab/pipeline.success.json"))).status).toBe(200);
  expect((await postGitea(server, "pull_request", fixture("gitea/pull_request.opened.json"))).status).toBe(200);
  expect((await postGitea(server, "status", fixture("gitea/status.json"))).status).toBe(200);

  client = new Client({ name: "fixloop-test", version: "1.0.0" });
  await client.connect(
    new StdioClientTransport({
      command: TSX,
      args: [CLI, "mcp"],
      env: { PATH: process.env.PATH ?? "", DATABASE_URL: `file:${join(server.store.dir, "fixloop.db")}` },
      stderr: "pipe",
    }),
  );
}, 60_000);

afterAll(async () => {
  await client?.close();
  await server?.close();
});

describe("fixloop mcp (stdio, the SDK's client)", () => {
  test("lists the four read-only tools with JSON input schemas", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["attribute_commit", "attribute_session", "get_ci_runs", "get_pr_outcomes"]);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(byName.get_pr_outcomes.inputSchema).toMatchObject({ type: "object", required: ["repo"] });
    expect(Object.keys(byName.get_pr_outcomes.inputSchema.properties ?? {}).sort()).toEqual(["limit", "provider", "repo", "since", "state"]);
    expect(Object.keys(byName.get_ci_runs.inputSchema.properties ?? {}).sort()).toEqual(["commit_sha", "limit", "provider", "repo", "since", "status"]);
    expect(byName.attribute_commit.inputSchema).toMatchObject({ required: ["sha"] });
    expect(byName.attribute_session.inputSchema).toMatchObject({ required: ["id"] });
    expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
  });

  test("get_pr_outcomes answers per repository, state and provider", async () => {
    const merged = await call(client, "get_pr_outcomes", { repo: REPO, state: "merged" });
    expect(merged.structuredContent?.pr_outcomes.map((p: any) => p.prNumber)).toEqual([57]);
    expect(merged.content[0].text).toBe("1 PR for acme/widgets: 1 merged.");
    const gitlab = await call(client, "get_pr_outcomes", { repo: "gitlabhq/gitlab-test", provider: "gitlab" });
    expect(gitlab.structuredContent?.pr_outcomes).toMatchObject([{ provider: "gitlab", prNumber: 1, state: "open", headRef: "ms-viewport" }]);
    expect(gitlab.structuredContent?.pr_outcomes[0]).not.toHaveProperty("rawJson");
    const none = await call(client, "get_pr_outcomes", { repo: "gitlabhq/gitlab-test", provider: "github" });
    expect(none.structuredContent?.pr_outcomes).toEqual([]);
  });

  test("get_ci_runs answers by commit, status and provider", async () => {
    const byCommit = await call(client, "get_ci_runs", { commit_sha: "bcbb5ec" });
    expect(byCommit.structuredContent?.ci_runs).toMatchObject([{ provider: "gitlab-ci", runId: "31", status: "success" }]);
    const failing = await call(client, "get_ci_runs", { status: "failure" });
    expect(failing.structuredContent?.ci_runs.map((r: any) => r.provider).sort()).toEqual(["gitea-status", "github-actions"]);
    expect(failing.content[0].text).toBe("2 runs, 2 failing.");
    const gitea = await call(client, "get_ci_runs", { provider: "gitea" });
    expect(gitea.structuredContent?.ci_runs).toMatchObject([{ provider: "gitea-status", runId: "4021" }]);
  });

  test("attribute_commit tells the fix commit's story; an unknown sha is a not-found tool error", async () => {
    const told = await call(client, "attribute_commit", { sha: MERGE_SHA.slice(0, 10), repo: REPO });
    expect(told.isError).toBeFalsy();
    expect(told.structuredContent).toMatchObject({ sha: MERGE_SHA, repo: REPO, links: [{ sessionId: attempt.id, linkType: "authored" }] });
    expect(told.content[0].text).toContain(`landed fix attempt ${attempt.id}`);
    const missing = await call(client, "attribute_commit", { sha: "deadbeef00" });
    expect(missing).toMatchObject({ isError: true, content: [{ type: "text", text: "not found: no attribution recorded for commit deadbeef00" }] });
    const bad = await call(client, "attribute_commit", { sha: "not-a-sha" });
    expect(bad.isError).toBe(true);
    expect(bad.content[0].text).toMatch(/is not a commit sha/);
  });

  test("attribute_session tells the attempt's story by attempt id and by episode id", async () => {
    const byId = await call(client, "attribute_session", { id: attempt.id });
    expect(byId.structuredContent).toMatchObject({ matchedBy: "attempt", attempts: [{ id: attempt.id, pr: { number: 57, state: "merged" }, touches: { count: 3 }, reverts: 0 }] });
    expect(byId.content[0].text).toBe(`fix attempt ${attempt.id} produced commits ${FIX_SHA.slice(0, 7)}, ${MERGE_SHA.slice(0, 7)}; in PR #57 (merged); CI passed; touched 3 times since.`);
    const byEpisode = await call(client, "attribute_session", { id: attempt.episodeId! });
    expect(byEpisode.structuredContent).toMatchObject({ matchedBy: "episode", attempts: [{ id: attempt.id }] });
    const missing = await call(client, "attribute_session", { id: "no-such-attempt" });
    expect(missing).toMatchObject({ isError: true, content: [{ text: "not found: no fix attempt or episode recorded with id no-such-attempt" }] });
  });
});

describe("/mcp over Streamable HTTP", () => {
  test("answers the same tools with the admin token, 401 without", async () => {
    const http = new Client({ name: "fixloop-http-test", version: "1.0.0" });
    await http.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } }));
    try {
      expect((await http.listTools()).tools).toHaveLength(4);
      const runs = await call(http, "get_ci_runs", { repo: "gitea/webhooks" });
      expect(runs.structuredContent?.ci_runs).toMatchObject([{ provider: "gitea-status" }]);
    } finally {
      await http.close();
    }
    const refused = await fetch(`${server.url}/mcp`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(refused.status).toBe(401);
    const wrong = await fetch(`${server.url}/mcp`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer nope" }, body: "{}" });
    expect(wrong.status).toBe(401);
  });
});
