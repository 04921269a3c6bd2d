#!/usr/bin/env node
/**
 * The `fixloop` operator command. Each subcommand lives in its own module and
 * registers itself on the program; this file only wires them.
 *
 * Modules load lazily: only the module of the command being run is imported,
 * so `fixloop context` or `fixloop apply` never load Probot, the AWS SDK or the
 * HTTP stack, and `fixloop --help` loads none of them (it lists the summaries
 * below). To add a command: one row in COMMANDS.
 */
import { Command } from "commander";
import { fixloopVersion } from "../version.js";

type Register = (program: Command) => void;

interface CommandEntry {
  /** Top-level command names the module registers. */
  names: string[];
  /** One line for `fixloop --help`; the module's own description shows with `fixloop <name> --help`. */
  summary: string;
  load: () => Promise<Register>;
}

const COMMANDS: CommandEntry[] = [
  { names: ["context"], summary: "Show the failure context that would be sent for a CI job log", load: async () => (await import("./context.js")).registerContextCommand },
  { names: ["apply"], summary: "Apply a model's edits (diff, apply_patch, SEARCH/REPLACE, whole file) to files on disk with the app's safety rules", load: async () => (await import("./apply.js")).registerApplyCommand },
  { names: ["backfill"], summary: "Backfill a repository's PR and CI history into the store", load: async () => (await import("./backfill.js")).registerBackfillCommand },
  { names: ["replay"], summary: "Run recorded deliveries through the app in-process", load: async () => (await import("./replay.js")).registerReplayCommand },
  { names: ["deliveries"], summary: "List, show and replay recorded webhook deliveries", load: async () => (await import("./deliveries.js")).registerDeliveriesCommand },
  { names: ["prs", "runs"], summary: "List recorded pull requests / CI runs", load: async () => (await import("./query.js")).registerQueryCommands },
  { names: ["jobs"], summary: "Inspect the durable job queue and retry jobs", load: async () => (await import("./jobs.js")).registerJobsCommand },
  { names: ["attribute"], summary: "Explain where a commit or PR came from; backfill attribution", load: async () => (await import("./attribute.js")).registerAttributeCommand },
  { names: ["feedback"], summary: "Inspect the feedback outbox to TensorZero, retry, drain", load: async () => (await import("./feedback.js")).registerFeedbackCommand },
  { names: ["migrate"], summary: "Apply the database migrations", load: async () => (await import("./migrate.js")).registerMigrateCommand },
  { names: ["mcp"], summary: "Serve the read-only agent tools over MCP on stdio", load: async () => (await import("./mcp.js")).registerMcpCommand },
];

/** The command a command line names: the first argument that is not an option (after `help`, the one it asks about). */
function requestedCommand(args: string[]): string | null {
  const words = args.filter((arg) => !arg.startsWith("-"));
  if (words[0] === "help") return words[1] ?? null;
  return words[0] ?? null;
}

async function buildProgram(args: string[]): Promise<Command> {
  const program = new Command();
  program
    .name("fixloop")
    .description("Operate fixloop: replay deliveries, backfill history, inspect PRs, runs, jobs and fixes")
    .version(fixloopVersion(), "-v, --version", "print fixloop's version")
    .helpOption("-h, --help", "show help for a command")
    .helpCommand("help [command]", "show help for a command")
    .showHelpAfterError();

  const name = requestedCommand(args);
  const entry = name === null ? undefined : COMMANDS.find((c) => c.names.includes(name));
  if (entry) {
    (await entry.load())(program);
  } else {
    // Help or an unknown command: list every command by its summary without loading any module.
    for (const { names, summary } of COMMANDS) for (const n of names) program.command(n).description(summary);
  }
  return program;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const program = await buildProgram(args);
  await program.parseAsync(process.argv);
}

main().catch((error: unknown) => {
  console.error(`fixloop: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
