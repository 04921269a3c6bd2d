/**
 * Step 5, ask TensorZero: the repository's instructions that apply, the
 * request (./prompt.ts), and the answer kept on the attempt before anything
 * else happens to it, so a crash later never pays for a second inference. A
 * resumed attempt reuses the answer it stored. A gateway that cannot serve
 * now is a wait; a request it refuses is a failed attempt.
 */
import type { RepoConfig } from "../../config/repo-config.js";
import { splitRepo } from "../../github/repo.js";
import type { FixAttempt } from "../../store/schema.js";
import { updateAttempt } from "../../store/attempts.js";
import { estimateInferenceTokens, releaseTokens, reserveInference } from "../budget.js";
import type { CollectedFailure } from "../collect.js";
import { INSTRUCTIONS_SHARE, readRepoInstructions } from "../instructions.js";
import { ContextLengthError, GatewayRequestError, GatewayUnavailableError } from "../model.js";
import { explanationOf } from "../pr-body.js";
import { DEFAULT_PROMPT_TOKEN_BUDGET } from "../prompt.js";
import type { LocalizedFiles } from "./localize.js";
import { startOfUtcDay } from "./guards.js";
import { buildInferenceRequest } from "./prompt.js";
import type { FixDeps, FixEnd, FixJobPayload, Octokit } from "./types.js";

/** How often a fix job looks again for a gateway while none is configured. */
const NO_GATEWAY_WAIT_MS = 10 * 60_000;

export interface ModelAnswer {
  attempt: FixAttempt;
  /** The model's text: explanation and edits (untrusted). */
  content: string;
}

export interface AskInput {
  trigger: FixJobPayload;
  attempt: FixAttempt;
  config: RepoConfig;
  failure: CollectedFailure;
  localized: LocalizedFiles;
  previous: FixAttempt | undefined;
}

export async function askModel(deps: FixDeps, octokit: Octokit, input: AskInput): Promise<ModelAnswer | FixEnd> {
  const { trigger, config, localized } = input;
  let attempt = input.attempt;
  if (attempt.inferenceId && attempt.diff) return { attempt, content: attempt.diff };
  if (!deps.model) {
    // Not a failure of this fix: it runs once a gateway is configured (and the server restarted).
    return { end: "wait", delayMs: NO_GATEWAY_WAIT_MS, reason: "no TensorZero gateway configured (set TENSORZERO_URL)", attemptReason: "waiting: no TensorZero gateway configured (set TENSORZERO_URL)" };
  }
  const db = deps.store.db;
  const instructions = await readRepoInstructions(octokit, {
    ...splitRepo(trigger.repo),
    ref: trigger.headSha,
    failingPaths: localized.located.shown.map((f) => f.path),
    tree: localized.located.listing,
    configured: config.instructions,
    budgetTokens: Math.floor(DEFAULT_PROMPT_TOKEN_BUDGET * INSTRUCTIONS_SHARE),
  });
  attempt = await updateAttempt(db, attempt.id, { status: "prompting", reason: null, instructionFiles: instructions.files });
  const request = buildInferenceRequest({ trigger, attempt, config, failure: input.failure, promptFiles: localized.promptFiles, previous: input.previous, instructions });
  // Reserved before the call and settled after (the usage below replaces it), so concurrent jobs cannot all pass the cap.
  const overBudget = await reserveInference(db, attempt.id, estimateInferenceTokens(request.system, request.user(1)), {
    repo: trigger.repo,
    since: startOfUtcDay(deps.now?.() ?? new Date()),
    perRepo: config.max_tokens_per_day,
    global: deps.globalTokensPerDay ?? null,
  });
  if (overBudget) return { end: "skip", reason: overBudget };
  try {
    const result = await deps.model.proposePatch(request);
    // SQLite text stops at a NUL: keep the answer whole in storage and refuse it (no patch carries NULs).
    if (result.content.includes("\u0000")) {
      const withInference = await updateAttempt(db, attempt.id, { inferenceId: result.inferenceId, variant: result.variant, model: result.model, inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens });
      return { end: "refuse", reason: "patch refused: the model's answer contains NUL bytes", diff: result.content.replaceAll("\u0000", "\\0"), attempt: withInference };
    }
    attempt = await updateAttempt(db, attempt.id, {
      inferenceId: result.inferenceId,
      episodeId: result.episodeId,
      variant: result.variant,
      model: result.model,
      inputTokens: result.usage.inputTokens,
      outputTokens: result.usage.outputTokens,
      explanation: explanationOf(result.content),
      // The raw answer until the diff is taken out of it, so a crash does not pay for a second inference.
      diff: result.content,
    });
    return { attempt, content: result.content };
  } catch (error) {
    // No answer, so no usage to settle: the room goes back (a retry reserves again).
    await releaseTokens(db, attempt.id);
    if (error instanceof GatewayUnavailableError) {
      return { end: "wait", delayMs: error.retryAfterMs, reason: `gateway unavailable (${error.reason})`, attemptReason: `waiting for the TensorZero gateway: ${error.message}` };
    }
    if (error instanceof ContextLengthError || error instanceof GatewayRequestError) return { end: "fail", reason: `model: ${error.message}` };
    throw error;
  }
}
