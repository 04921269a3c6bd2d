#!/usr/bin/env node
/**
 * The `fixloop` operator command. Each subcommand lives in its own module and
 * registers itself on the program; this file only wires them.
 */
import { Command } from "commander";
import { registerApplyCommand } from "./apply.js";
import { registerAttributeCommand } from "./attribute.js";
import { registerContextCommand } from "./context.js";
import { registerFeedbackCommand } from "./feedback.js";
import { registerJobsCommand } from "./jobs.js";
import { registerMigrateCommand } from "./migrate.js";
import { registerQueryCommands } from "./query.js";
import { registerReplayCommand } from "./replay.js";
import { registerBackfillCommand } from "./backfill.js";

const program = new Command();
program
  .name("fixloop")
  .description("Operate fixloop: replay deliveries, backfill history, inspect PRs, runs, jobs and fixes")
  .showHelpAfterError();

// Subcommand registrations (one line each).
registerContextCommand(program);
registerApplyCommand(program);
registerBackfillCommand(program);
registerReplayCommand(program);
registerQueryCommands(program);
registerJobsCommand(program);
registerAttributeCommand(program);
registerFeedbackCommand(program);
registerMigrateCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`fixloop: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
