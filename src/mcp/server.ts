/**
 * fixloop's agent tools over the Model Context Protocol: what happened to PRs
 * and CI runs, and which session produced a commit or how a fix attempt
 * fared. Read-only: every tool is a query on the store. One server serves
 * stdio (`fixloop mcp`) and Streamable HTTP (`/mcp`).
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { AttributionQueryError, explainCommit } from "../outcomes/attribution-explain.js";
import { formatCommitAttribution } from "../outcomes/attribution-format.js";
import { explainSession } from "../outcomes/attribution-session.js";
import type { Store } from "../store/db.js";
import { listCiRuns, listPrOutcomes, withoutRaw } from "../store/records.js";
import { CI_STATUSES, PR_STATES } from "../store/schema.js";
import { parseSince } from "../time.js";

export const MCP_SERVER_NAME = "fixloop";

const rows = z.array(z.record(z.string(), z.unknown()));
const since = z.string().describe("only rows updated since: an age (7d, 12h, 2w) or a date (2024-05-01)");
const limit = z.number().int().min(1).max(500).describe("at most this many rows (default 50)");
const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

/** A tool's answer: the structure for programs, one short text for the model. */
function answer(structured: Record<string, unknown>, text: string): CallToolResult {
  return { structuredContent: structured, content: [{ type: "text", text }] };
}

function toolError(message: string): CallToolResult {
  return { isError: true, content: [{ type: "text", text: message }] };
}

/** A bad argument (an unreadable date, an ambiguous sha) is the caller's to fix: said as a tool error, not thrown. */
async function guarded(fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof AttributionQueryError || error instanceof SinceError) return toolError(error.message);
    throw error;
  }
}

class SinceError extends Error {}

function sinceIso(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return parseSince(value);
  } catch (error) {
    throw new SinceError((error as Error).message.replace("--since", "since"));
  }
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function createFixloopMcpServer(store: Store, version = "0.1.0"): McpServer {
  const server = new McpServer(
    { name: MCP_SERVER_NAME, version },
    { instructions: "fixloop records pull requests (GitHub, GitLab MRs, Gitea PRs), CI runs, and the fix attempts it made for red CI. Ask what happened to PRs and runs, and which session produced a commit." },
  );

  server.registerTool(
    "get_pr_outcomes",
    {
      title: "PR outcomes",
      description: "Pull/merge requests recorded for a repository, latest first: state (open, merged, closed), author, refs, merge commit, merged/closed/reverted times, downstream touches and linked fix sessions.",
      inputSchema: {
        repo: z.string().min(3).describe("owner/repo (GitHub, Gitea) or group/project (GitLab)"),
        state: z.enum(PR_STATES).optional(),
        since: since.optional(),
        provider: z.string().optional().describe("github, gitlab or gitea"),
        limit: limit.optional(),
      },
      outputSchema: { pr_outcomes: rows },
      annotations: { title: "PR outcomes", ...READ_ONLY },
    },
    async (args) =>
      guarded(async () => {
        const found = await listPrOutcomes(store.db, { repo: args.repo, state: args.state, since: sinceIso(args.since), provider: args.provider, limit: args.limit ?? 50 });
        const byState = PR_STATES.map((s) => [s, found.filter((r) => r.state === s).length] as const).filter(([, n]) => n > 0);
        const summary = found.length === 0 ? `No PRs recorded for ${args.repo} with these filters.` : `${plural(found.length, "PR")} for ${args.repo}: ${byState.map(([s, n]) => `${n} ${s}`).join(", ")}.`;
        return answer({ pr_outcomes: found.map(withoutRaw) }, summary);
      }),
  );

  server.registerTool(
    "get_ci_runs",
    {
      title: "CI runs",
      description: "CI runs recorded, latest first: GitHub Actions runs and check suites, GitLab pipelines, Gitea commit statuses and Actions runs. Status is success, failure, cancelled or in_progress; the forge's own status is kept as raw_status.",
      inputSchema: {
        commit_sha: z.string().min(4).optional().describe("a full or abbreviated commit sha"),
        status: z.enum(CI_STATUSES).optional(),
        repo: z.string().min(3).optional(),
        provider: z.string().optional().describe("github-actions, github-checks, gitlab-ci, gitea-status, gitea-actions, or a forge: github, gitlab, gitea"),
        since: since.optional(),
        limit: limit.optional(),
      },
      outputSchema: { ci_runs: rows },
      annotations: { title: "CI runs", ...READ_ONLY },
    },
    async (args) =>
      guarded(async () => {
        const found = await listCiRuns(store.db, {
          commitSha: args.commit_sha,
          status: args.status,
          repo: args.repo,
          provider: args.provider,
          since: sinceIso(args.since),
          limit: args.limit ?? 50,
        });
        const failing = found.filter((r) => r.status === "failure").length;
        const summary = found.length === 0 ? "No CI runs recorded with these filters." : `${plural(found.length, "run")}${failing > 0 ? `, ${failing} failing` : ""}.`;
        return answer({ ci_runs: found.map(withoutRaw) }, summary);
      }),
  );

  server.registerTool(
    "attribute_commit",
    {
      title: "Attribute a commit",
      description: "Which session produced a commit (a fixloop fix attempt or a coding agent), how sure, on what evidence, and how the work fared: CI verdict, merged, reverted, touched since.",
      inputSchema: {
        sha: z.string().min(4).describe("a full or abbreviated commit sha"),
        repo: z.string().min(3).optional().describe("the repository, when the sha is known in several"),
        min_confidence: z.number().min(0).max(1).optional().describe("leave out links below this confidence (default 0.5)"),
      },
      outputSchema: { sha: z.string(), repo: z.string(), links: rows, minConfidence: z.number(), hiddenCount: z.number() },
      annotations: { title: "Attribute a commit", ...READ_ONLY },
    },
    async (args) =>
      guarded(async () => {
        const found = await explainCommit(store.db, { sha: args.sha, repo: args.repo, minConfidence: args.min_confidence });
        if (!found) return toolError(`not found: no attribution recorded for commit ${args.sha}${args.repo ? ` in ${args.repo}` : ""}`);
        return answer(found as unknown as Record<string, unknown>, formatCommitAttribution(found).join("\n"));
      }),
  );

  server.registerTool(
    "attribute_session",
    {
      title: "Attribute a session",
      description: "The story of a fixloop fix attempt (by its id) or of every attempt of a TensorZero episode (by episode id): commits produced, the PR and its fate, CI verdict, downstream touches and reverts since, feedback sent, each with its evidence.",
      inputSchema: { id: z.string().min(1).describe("a fix attempt id or a TensorZero episode id") },
      outputSchema: { id: z.string(), matchedBy: z.enum(["attempt", "episode"]), attempts: rows },
      annotations: { title: "Attribute a session", ...READ_ONLY },
    },
    async (args) =>
      guarded(async () => {
        const story = await explainSession(store.db, args.id);
        if (!story) return toolError(`not found: no fix attempt or episode recorded with id ${args.id}`);
        return answer(story as unknown as Record<string, unknown>, story.attempts.map((a) => `${a.sentence}.`).join("\n"));
      }),
  );

  return server;
}
