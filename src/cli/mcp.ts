/**
 * `fixloop mcp`: the agent tools (get_pr_outcomes, get_ci_runs,
 * attribute_commit, attribute_session) as an MCP server on stdio, over the
 * store at DATABASE_URL. The SDK is loaded only when the command runs.
 */
import type { Command } from "commander";
import { loadDotEnv } from "./shared.js";

export function registerMcpCommand(program: Command): void {
  program
    .command("mcp")
    .description("Serve fixloop's read-only agent tools over the Model Context Protocol on stdio (for Claude Desktop, Claude Code, other MCP clients)")
    .option("--database-url <url>", "the store to read (default: DATABASE_URL, else ./data/fixloop.db)")
    .action(async (o: { databaseUrl?: string }) => {
      loadDotEnv();
      const { serveMcpOverStdio } = await import("../mcp/stdio.js");
      await serveMcpOverStdio({ databaseUrl: o.databaseUrl });
    });
}
