/**
 * `fixloop attribute commit <sha>`, `fixloop attribute pr <owner/repo#N>`,
 * `fixloop attribute session <attempt-or-episode-id>`:
 * which session produced this, and did it hold up? One sentence per session
 * (JSON with --json). `fixloop attribute backfill`: attribute the default
 * branch's commits from the REST API, incrementally.
 */
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { apiBaseUrlFromEnv, createRepoOctokit, credentialsFromEnv, type GitHubLog } from "../github/auth.js";
import { explainCommit, explainPr } from "../outcomes/attribution-explain.js";
import { backfillAttribution, type AttributionBackfillSummary } from "../outcomes/attribution-backfill.js";
import { formatCommitAttribution, formatPrAttribution } from "../outcomes/attribution-format.js";
import { explainSession, formatSessionStory } from "../outcomes/attribution-session.js";
import { openStore, type Store } from "../store/db.js";
import { parseSince } from "../time.js";
import { splitRepo } from "../github/repo.js";

interface Writable {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** What the commands touch outside themselves; tests hand in their own. */
export interface AttributeIo {
  stdout: Writable;
  stderr: Writable;
  openStore: () => Promise<Store>;
  env?: NodeJS.ProcessEnv;
  /** Merged over the Octokit defaults (tests turn retries off). */
  octokitOptions?: Record<string, unknown>;
  now?: Date;
}

function processIo(): AttributeIo {
  return { stdout: process.stdout, stderr: process.stderr, openStore: () => openStore(), env: process.env };
}

function loadDotEnv(): void {
  if (existsSync(".env")) process.loadEnvFile(".env");
}

function confidenceOption(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`--min-confidence must be a number from 0 to 1, got "${value}"`);
  return n;
}

/** `owner/repo#N`, or a PR's GitHub URL. */
export function parsePrRef(ref: string): { repo: string; number: number } {
  const short = /^([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)#(\d+)$/.exec(ref.trim());
  const url = /^https?:\/\/[^/]+\/([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)\/pull\/(\d+)\/?$/.exec(ref.trim());
  const match = short ?? url;
  if (!match || Number(match[2]) < 1) throw new Error(`Expected a PR as owner/repo#N, got "${ref}"`);
  return { repo: match[1], number: Number(match[2]) };
}

async function withIoStore<T>(io: AttributeIo, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await io.openStore();
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

function print(io: AttributeIo, json: boolean | undefined, value: unknown, lines: () => string[]): void {
  io.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${lines().join("\n")}\n`);
}

/** Returns false (and says so) when nothing is recorded for the commit. */
export async function runAttributeCommit(
  sha: string,
  options: { repo?: string; minConfidence?: number; json?: boolean },
  io: AttributeIo,
): Promise<boolean> {
  if (options.repo) splitRepo(options.repo);
  const answer = await withIoStore(io, (store) => explainCommit(store.db, { sha, repo: options.repo, minConfidence: options.minConfidence }));
  if (!answer) {
    if (options.json) io.stdout.write("null\n");
    io.stderr.write(`no attribution recorded for commit ${sha}${options.repo ? ` in ${options.repo}` : ""}\n`);
    return false;
  }
  print(io, options.json, answer, () => formatCommitAttribution(answer));
  return true;
}

export async function runAttributePr(ref: string, options: { minConfidence?: number; json?: boolean }, io: AttributeIo): Promise<boolean> {
  const { repo, number } = parsePrRef(ref);
  const answer = await withIoStore(io, (store) => explainPr(store.db, { repo, number, minConfidence: options.minConfidence }));
  if (!answer) {
    if (options.json) io.stdout.write("null\n");
    io.stderr.write(`no attribution recorded for ${repo}#${number}\n`);
    return false;
  }
  print(io, options.json, answer, () => formatPrAttribution(answer));
  return true;
}

/** `attribute session <attempt-or-episode-id>`; false (and says so) when neither is recorded. */
export async function runAttributeSession(id: string, options: { json?: boolean }, io: AttributeIo): Promise<boolean> {
  const story = await withIoStore(io, (store) => explainSession(store.db, id));
  if (!story) {
    if (options.json) io.stdout.write("null\n");
    io.stderr.write(`no fix attempt or episode recorded with id ${id}\n`);
    return false;
  }
  print(io, options.json, story, () => formatSessionStory(story));
  return true;
}

export interface AttributeBackfillOptions {
  repo?: string[];
  since: string;
  restart?: boolean;
  auth?: "app" | "token";
  baseUrl?: string;
  json?: boolean;
  verbose?: boolean;
}

function stderrLog(stderr: Writable, verbose: boolean): GitHubLog {
  const line = (level: string) => (message: string) => void stderr.write(`${level}: ${message}\n`);
  return { debug: verbose ? line("debug") : () => {}, info: verbose ? line("info") : () => {}, warn: line("warning"), error: line("error") };
}

export function formatBackfillSummary(summary: AttributionBackfillSummary): string[] {
  const lines = [`attribution backfill since ${summary.since}`];
  if (summary.repos.length === 0) lines.push("  no repositories: none given with --repo and none recorded yet");
  for (const r of summary.repos) {
    const head = `  ${r.repo}: `;
    const progress =
      `${r.commitsListed} commits listed since ${r.listedSince}${r.resumedFromCursor ? " (resumed from the cursor)" : ""}, ` +
      `${r.commitsAttributed} attributed, ${r.filesFetched} file lists fetched, ${r.linksWritten} links written, ` +
      `${r.authoredRecorded} fix commits linked, ${r.prsUpdated} PRs updated`;
    lines.push(r.error ? `${head}stopped: ${r.error} (after ${progress})` : `${head}${progress}`);
  }
  lines.push(`  requests: ${summary.requests}, 304 not modified: ${summary.notModified}`);
  return lines;
}

export async function runAttributeBackfill(options: AttributeBackfillOptions, io: AttributeIo): Promise<AttributionBackfillSummary> {
  const env = io.env ?? process.env;
  const repos = options.repo ?? [];
  for (const repo of repos) splitRepo(repo);
  const since = parseSince(options.since, io.now);
  const log = stderrLog(io.stderr, Boolean(options.verbose) || env.LOG_LEVEL === "debug");
  const credentials = credentialsFromEnv(env, options.auth);
  const baseUrl = apiBaseUrlFromEnv(env, options.baseUrl);
  const summary = await withIoStore(io, (store) =>
    backfillAttribution({
      store,
      repos,
      since,
      restart: options.restart,
      log,
      ...(io.now ? { now: io.now } : {}),
      octokitFor: async (repo) =>
        (
          await createRepoOctokit({ credentials, repo, baseUrl, log, ...(io.octokitOptions ? { octokitOptions: io.octokitOptions } : {}) })
        ).octokit,
      onProgress: io.stderr.isTTY
        ? (p) => void io.stderr.write(`\r${p.repo} ${p.phase} ${p.done}${p.total === null ? "" : `/${p.total}`}\u001b[K${p.phase === "prs" && p.done === p.total ? "\n" : ""}`)
        : undefined,
    }),
  );
  print(io, options.json, summary, () => formatBackfillSummary(summary));
  return summary;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerAttributeCommand(program: Command): void {
  const attribute = program
    .command("attribute")
    .description("Which session (fix attempt or coding agent) produced a commit or PR, and did it hold up");

  attribute
    .command("commit <sha>")
    .description("Explain a commit: the fix attempt or agent it came from, CI verdict, merged, reverted, touched since")
    .option("--repo <owner/repo>", "the repository, when the sha is known in several")
    .option("--min-confidence <n>", "show links at or above this confidence (0..1)", confidenceOption, 0.5)
    .option("--json", "print JSON")
    .action(async (sha: string, o: { repo?: string; minConfidence: number; json?: boolean }) => {
      loadDotEnv();
      if (!(await runAttributeCommit(sha, o, processIo()))) process.exitCode = 1;
    });

  attribute
    .command("pr <ref>")
    .description("Explain a PR (owner/repo#N): the fix attempts and agents linked to it, and how it fared")
    .option("--min-confidence <n>", "show sessions at or above this confidence (0..1)", confidenceOption, 0.5)
    .option("--json", "print JSON")
    .action(async (ref: string, o: { minConfidence: number; json?: boolean }) => {
      loadDotEnv();
      if (!(await runAttributePr(ref, o, processIo()))) process.exitCode = 1;
    });

  attribute
    .command("session <id>")
    .description("Tell a fix attempt's story (or every attempt of a TensorZero episode): commits, PR, CI, touches and reverts since, with the evidence")
    .option("--json", "print JSON")
    .action(async (id: string, o: { json?: boolean }) => {
      loadDotEnv();
      if (!(await runAttributeSession(id, o, processIo()))) process.exitCode = 1;
    });

  attribute
    .command("backfill")
    .description("Attribute the default branch's recent commits from the GitHub REST API (incremental: a cursor per repository)")
    .option("--repo <owner/repo>", "a repository (repeatable); default: every repository with fix attempts or recorded PRs", collect)
    .option("--since <age|date>", "how far back on a first run: an age (30d, 12h) or a date", "30d")
    .option("--restart", "ignore the stored cursors and read the whole window again")
    .option("--auth <app|token>", "credentials to use when both APP_ID/PRIVATE_KEY and GITHUB_TOKEN are set (default: app)")
    .option("--base-url <url>", "REST API root for GitHub Enterprise Server")
    .option("--json", "print the summary as JSON")
    .option("-v, --verbose", "log details to stderr")
    .action(async (o: AttributeBackfillOptions) => {
      if (o.auth !== undefined && o.auth !== "app" && o.auth !== "token") throw new Error(`--auth must be app or token, not "${String(o.auth)}"`);
      loadDotEnv();
      const summary = await runAttributeBackfill(o, processIo());
      if (summary.repos.some((r) => r.error)) process.exitCode = 1;
    });
}
