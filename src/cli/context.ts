/**
 * `fixloop context <log-file>`: prints exactly what the failure-context builder
 * would send for a job log, so users can see and debug it.
 */
import { createReadStream } from "node:fs";
import type { Command } from "commander";
import { BaselineLines, buildFailureContext, estimateTokens, type FailureContext, type LogFormat } from "../fix/context/index.js";

const FORMATS: readonly LogFormat[] = ["auto", "github", "gitlab", "gitea"];

function positiveNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got "${value}"`);
    return n;
  };
}

export interface ContextCommandOptions {
  budget: number;
  charsPerToken: number;
  conclusion?: string;
  format: string;
  json?: boolean;
  /** The passing log of the same job: lines it has too are left out. */
  baseline?: string;
  /** A checkout to resolve the log's references against (localisation). */
  repo?: string;
  /** Files changed since the last green run (with --repo). */
  changed?: string[];
}

/** The JSON the command prints: the fields that go into the prompt first, then diagnostics. */
export function contextToJson(context: FailureContext, charsPerToken: number): Record<string, unknown> {
  return {
    class: context.class,
    failing_step: context.failingStep,
    context: context.context,
    files: context.files.map((file) => ({ path: file.path, line: file.line, column: file.column })),
    infra_reason: context.infraReason,
    error_lines: context.errorLines,
    redactions: context.redactions,
    truncated: context.truncated,
    estimated_tokens: estimateTokens(context.context, charsPerToken),
    bytes_read: context.bytesRead,
    notice: context.notice ?? null,
    baseline_used: context.baselineUsed ?? false,
    shared_lines_dropped: context.sharedLinesDropped ?? 0,
  };
}

export function contextToText(context: FailureContext, budget: number, charsPerToken: number): string {
  const files = context.files.map((f) => (f.line === null ? f.path : `${f.path}:${f.line}${f.column === null ? "" : `:${f.column}`}`));
  const lines = [
    `class:        ${context.class}${context.infraReason ? ` (${context.infraReason})` : ""}`,
    `failing step: ${context.failingStep ?? "-"}`,
    `files:        ${files.length > 0 ? files.join(", ") : "-"}`,
    `tokens:       ~${estimateTokens(context.context, charsPerToken)} of ${budget}${context.truncated ? " (truncated)" : ""}`,
    `redactions:   ${context.redactions}`,
    `read:         ${context.bytesRead} bytes${context.notice ? ` (${context.notice})` : ""}`,
    `baseline:     ${context.baselineUsed ? `used, ${context.sharedLinesDropped ?? 0} shared lines dropped` : "none"}`,
  ];
  if (context.errorLines.length > 0) lines.push("error lines:", ...context.errorLines.map((l) => `  ${l}`));
  lines.push("", "---- context ----", context.context, "---- end ----");
  return `${lines.join("\n")}\n`;
}

export async function runContextCommand(file: string, options: ContextCommandOptions): Promise<void> {
  if (!(FORMATS as readonly string[]).includes(options.format)) throw new Error(`--format must be one of ${FORMATS.join(", ")}`);
  const baseline = options.baseline ? await BaselineLines.fromLog(createReadStream(options.baseline)) : null;
  const context = await buildFailureContext(createReadStream(file), {
    baseline,
    budgetTokens: options.budget,
    charsPerToken: options.charsPerToken,
    conclusion: options.conclusion ?? null,
    format: options.format as LogFormat,
  });
  if (options.repo) {
    const { localizeInCheckout, shownToJson, shownToText } = await import("./localize.js");
    const located = await localizeInCheckout(file, context, { repo: options.repo, changed: options.changed });
    process.stdout.write(
      options.json
        ? `${JSON.stringify({ ...contextToJson(context, options.charsPerToken), files: shownToJson(located.shown), references: context.files, unresolved: located.unresolved, ambiguous: located.ambiguous }, null, 2)}\n`
        : `${shownToText(located.shown).join("\n")}\n${contextToText(context, options.budget, options.charsPerToken)}`,
    );
    return;
  }
  process.stdout.write(
    options.json
      ? `${JSON.stringify(contextToJson(context, options.charsPerToken), null, 2)}\n`
      : contextToText(context, options.budget, options.charsPerToken),
  );
}

export function registerContextCommand(program: Command): void {
  program
    .command("context")
    .description("Show the failure context (redacted, within the token budget) that would be sent for a CI job log")
    .argument("<log-file>", "a job log as downloaded from GitHub Actions, GitLab or Gitea")
    .option("--budget <tokens>", "token budget of the context", positiveNumber("--budget"), 2000)
    .option("--chars-per-token <n>", "characters per token for the estimate", positiveNumber("--chars-per-token"), 4)
    .option("--conclusion <conclusion>", "the run's conclusion, e.g. cancelled or timed_out (forces infra)")
    .option("--format <format>", `log format: ${FORMATS.join(", ")}`, "auto")
    .option("--baseline <passing-log>", "the last passing log of the same job: lines it has too are dropped")
    .option("--json", "print JSON: class, failing_step, context, files (+ diagnostics, baseline_used, shared_lines_dropped)")
    .option("--repo <dir>", "a checkout of the failing commit: resolve the log's references against it; files become what the prompt would show ({path, lines, why})")
    .option("--changed <files...>", "with --repo: files changed since the last green run")
    .action(async (file: string, options: ContextCommandOptions) => {
      await runContextCommand(file, options);
    });
}
