/**
 * The inference request for an attempt, from what the earlier steps found.
 * Pure: the variant's template renders the arguments, so the request carries
 * data only (the failure, the files and why, the previous attempt, the
 * repository's instructions, a person's hint).
 */
import type { RepoConfig } from "../../config/repo-config.js";
import type { FixAttempt } from "../../store/schema.js";
import type { CollectedFailure } from "../collect.js";
import type { PromptFile } from "../context/files.js";
import type { RepoInstructions } from "../instructions.js";
import type { PatchInferenceRequest } from "../model.js";
import { buildPatchRequestArguments, buildPatchSystemArguments, DEFAULT_PROMPT_TOKEN_BUDGET } from "../prompt.js";
import type { FixJobPayload } from "./types.js";

export interface PromptInput {
  trigger: FixJobPayload;
  attempt: FixAttempt;
  config: RepoConfig;
  failure: CollectedFailure;
  promptFiles: PromptFile[];
  /** The chain's previous attempt: its diff and the new error go into the prompt. */
  previous: FixAttempt | undefined;
  instructions: RepoInstructions;
}

export function buildInferenceRequest({ trigger, attempt, config, failure, promptFiles, previous, instructions }: PromptInput): PatchInferenceRequest {
  return {
    episodeId: attempt.episodeId,
    tags: { repo: trigger.repo, run: trigger.runId, attempt: String(attempt.attemptNumber), chain: attempt.chainId },
    system: buildPatchSystemArguments({ maxFiles: config.max_files, maxChangedLines: config.max_changed_lines, protectedPaths: config.paths.exclude }),
    user: (factor) =>
      buildPatchRequestArguments(
        {
          repo: trigger.repo,
          workflow: trigger.workflowName ?? "CI",
          job: failure.jobs.map((j) => j.name).join(", ") || (trigger.workflowName ?? "CI"),
          failingStep: failure.context.failingStep,
          failureClass: failure.context.class,
          errorLines: failure.context.errorLines,
          logExcerpt: failure.context.context,
          files: promptFiles.map((f) => ({ path: f.path, content: f.content, startLine: f.startLine, truncated: f.truncated, ...(f.why ? { why: f.why } : {}) })),
          attempt: attempt.attemptNumber,
          maxAttempts: config.max_attempts,
          previousAttempt: previous?.diff ? { diff: previous.diff, error: failure.context.errorLines.join("\n") || failure.context.context.slice(-2000) } : null,
          sameFailureJobs: failure.sameFailureJobs.map((j) => j.name),
          repoInstructions: instructions.docs,
          personHint: trigger.command?.hint ? { author: trigger.command.author, text: trigger.command.hint } : null,
        },
        { tokenBudget: Math.floor(DEFAULT_PROMPT_TOKEN_BUDGET * factor) },
      ),
  };
}
