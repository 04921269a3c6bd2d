/**
 * `.github/fixloop.yml`: per-repository settings, with org-wide defaults
 * through `_extends` (Probot's config plugin). Validated with a schema; an
 * invalid file becomes a readable error on the job, never a crash.
 */
import picomatch from "picomatch";
import { z } from "zod";
import type { SafetyRules } from "../patch/types.js";

export const CONFIG_FILE = "fixloop.yml";

const globList = z.array(z.string().min(1));

/** Workflow files and dependency lock files: a fix that edits them needs a person. */
export const DEFAULT_PATH_EXCLUDES = [".github/workflows/**", "**/*.lock", "**/package-lock.json", "**/npm-shrinkwrap.json", "**/pnpm-lock.yaml", "**/go.sum"];

export const repoConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Watched branches (globs). Empty: the repository's default branch only. */
    branches: globList.default([]),
    /** Workflow names or file paths (globs); empty include means every workflow. */
    workflows: z
      .object({ include: globList.default([]), exclude: globList.default([]) })
      .strict()
      .default({ include: [], exclude: [] }),
    max_attempts: z.number().int().min(1).max(5).default(2),
    max_changed_lines: z.number().int().min(1).max(5000).default(200),
    max_files: z.number().int().min(1).max(100).default(10),
    paths: z
      .object({ exclude: globList.default(DEFAULT_PATH_EXCLUDES) })
      .strict()
      .default({ exclude: DEFAULT_PATH_EXCLUDES }),
    /**
     * Kinds of change refused unless allowed here: workflow and lock files (which must also be left
     * out of paths.exclude), composite actions and other CI systems' config, package.json install-time
     * scripts and a test script that cannot fail, CODEOWNERS/fixloop/Dependabot/Renovate settings.
     */
    allow: z
      .object({
        workflows: z.boolean().default(false),
        lockfiles: z.boolean().default(false),
        ci_config: z.boolean().default(false),
        install_scripts: z.boolean().default(false),
        repo_settings: z.boolean().default(false),
      })
      .strict()
      .default({ workflows: false, lockfiles: false, ci_config: false, install_scripts: false, repo_settings: false }),
    draft: z.boolean().default(true),
    dry_run: z.boolean().default(false),
    delivery: z.enum(["pull_request", "comment"]).default("pull_request"),
    rerun_first: z.boolean().default(true),
    max_tokens_per_day: z.number().int().min(0).default(200_000),
    context_budget_tokens: z.number().int().min(200).max(100_000).default(2000),
    labels: z.array(z.string().min(1).max(50)).default(["fixloop"]),
    /** Notes for the model about this repository, given to it beside AGENTS.md and similar files. */
    instructions: z.string().max(8000).default(""),
    /** One comment per PR, edited in place, showing what fixloop is doing about it. */
    summary_comment: z.boolean().default(false),
  })
  .strict();

export type RepoConfig = z.infer<typeof repoConfigSchema>;

export const DEFAULT_REPO_CONFIG: RepoConfig = repoConfigSchema.parse({});

export class InvalidConfigError extends Error {
  override name = "InvalidConfigError";
}

/** "max_attempts: expected a number ≤ 5" rather than a stack trace. */
export function parseRepoConfig(raw: unknown, source = `.github/${CONFIG_FILE}`): RepoConfig {
  const input = raw === null || raw === undefined ? {} : raw;
  const result = repoConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
    return `${where}: ${issue.message}`;
  });
  throw new InvalidConfigError(`${source} is invalid: ${problems.join("; ")}`);
}

export interface ConfigOctokit {
  config: {
    get(options: { owner: string; repo: string; path: string; defaults?: object }): Promise<{ config: unknown }>;
  };
}

/** Reads and validates the repo's config; `_extends` is resolved by Probot's config plugin. */
export async function loadRepoConfig(octokit: ConfigOctokit, owner: string, repo: string): Promise<RepoConfig> {
  let raw: unknown;
  try {
    ({ config: raw } = await octokit.config.get({ owner, repo, path: `.github/${CONFIG_FILE}` }));
  } catch (error) {
    // The config plugin's own errors are about the file (bad YAML, a directory); anything else (5xx, network) is retried.
    if (!/octokit-plugin-config/.test((error as Error).message)) throw error;
    throw new InvalidConfigError(`.github/${CONFIG_FILE} could not be read: ${(error as Error).message.replace(/^\[@probot\/octokit-plugin-config\]\s*/, "")}`);
  }
  return parseRepoConfig(raw);
}

function matchesAny(globs: string[], value: string): boolean {
  return globs.length > 0 && picomatch(globs, { dot: true })(value);
}

export function isWatchedBranch(config: RepoConfig, branch: string | null, defaultBranch: string | null): boolean {
  if (!branch) return false;
  if (config.branches.length === 0) return branch === defaultBranch;
  return matchesAny(config.branches, branch);
}

/** A workflow is named by its display name or its file path (`.github/workflows/ci.yml`). */
export function isWatchedWorkflow(config: RepoConfig, workflow: { name: string | null; path: string | null }): boolean {
  const names = [workflow.name, workflow.path].filter((n): n is string => Boolean(n));
  if (names.some((n) => matchesAny(config.workflows.exclude, n))) return false;
  return config.workflows.include.length === 0 || names.some((n) => matchesAny(config.workflows.include, n));
}

export function safetyRulesFor(config: RepoConfig): SafetyRules {
  return {
    maxChangedLines: config.max_changed_lines,
    maxFiles: config.max_files,
    exclude: config.paths.exclude,
    allowWorkflows: config.allow.workflows,
    allowLockfiles: config.allow.lockfiles,
    allowCiConfig: config.allow.ci_config,
    allowInstallScripts: config.allow.install_scripts,
    allowRepoSettings: config.allow.repo_settings,
  };
}
