/**
 * `fixloop backfill --repo owner/repo [--since 30d]`: read a repository's
 * recent pull requests, workflow runs and check suites from the REST API into
 * the store. Progress goes to stderr (bars on a terminal, one line per phase
 * otherwise); the summary goes to stdout, as JSON with --json.
 */
import { existsSync } from "node:fs";
import { MultiBar, Presets, type SingleBar } from "cli-progress";
import type { Command } from "commander";
import { backfillRepository, type BackfillPhase, type BackfillProgress, type BackfillSummary } from "../backfill/backfill.js";
import {
  apiBaseUrlFromEnv,
  createRepoOctokit,
  credentialsFromEnv,
  type GitHubIdentity,
  type GitHubLog,
} from "../github/auth.js";
import { openStore, type Store } from "../store/db.js";
import { parseSince } from "../time.js";
import { splitRepo } from "../github/repo.js";

export interface BackfillCommandOptions {
  repo: string;
  since: string;
  auth?: "app" | "token";
  baseUrl?: string;
  checkSuites: boolean;
  json?: boolean;
  verbose?: boolean;
}

interface Writable {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** What the command touches outside itself; tests hand in their own. */
export interface BackfillCommandIo {
  env: NodeJS.ProcessEnv;
  stdout: Writable;
  stderr: Writable;
  openStore: () => Promise<Store>;
  /** Merged over the Octokit defaults (tests shorten retry waits). */
  octokitOptions?: Record<string, unknown>;
  now?: Date;
}

export interface BackfillReport {
  identity: GitHubIdentity;
  summary: BackfillSummary;
}

function stderrLog(stderr: Writable, verbose: boolean): GitHubLog {
  const line = (level: string) => (message: string) => void stderr.write(`${level}: ${message}\n`);
  return { debug: verbose ? line("debug") : () => {}, info: verbose ? line("info") : () => {}, warn: line("warning"), error: line("error") };
}

const PHASE_LABEL: Record<BackfillPhase, string> = {
  pulls: "pull requests",
  "workflow-runs": "workflow runs",
  "check-suites": "check suites ",
};

/** Bars on a terminal; elsewhere one line per finished phase, which reads well in CI logs. */
function progressReporter(stderr: Writable): { onProgress: (p: BackfillProgress) => void; stop: () => void } {
  if (!stderr.isTTY) {
    return {
      onProgress: (p) => {
        if (!p.finished) return;
        const unit = p.phase === "check-suites" ? "commits asked" : "read";
        stderr.write(`${PHASE_LABEL[p.phase].trim()}: ${p.done} ${unit}\n`);
      },
      stop: () => {},
    };
  }
  const multibar = new MultiBar(
    { stream: stderr as NodeJS.WritableStream, hideCursor: true, clearOnComplete: false, format: "{label} [{bar}] {value}/{total}" },
    Presets.shades_classic,
  );
  const bars = new Map<BackfillPhase, SingleBar>();
  return {
    onProgress: (p) => {
      let bar = bars.get(p.phase);
      if (!bar) {
        // Pull requests have no known total until the cutoff is reached: a counter, not a bar.
        const format = p.total === null ? "{label} {value} read" : undefined;
        bar = multibar.create(p.total ?? 0, 0, { label: PHASE_LABEL[p.phase] }, format ? { format } : {});
        bars.set(p.phase, bar);
      }
      if (p.total !== null && p.total !== bar.getTotal()) bar.setTotal(p.total);
      bar.update(p.done);
    },
    stop: () => multibar.stop(),
  };
}

export function formatSummary(report: BackfillReport): string[] {
  const { summary: s, identity } = report;
  const who = identity.kind === "token" ? "token" : `app ${identity.appId}, installation ${identity.installationId}`;
  const counts = (c: { seen: number; written: number; unchanged: number; stale: number; malformed: number }) =>
    `${c.seen} read, ${c.written} written, ${c.unchanged} unchanged` +
    (c.stale ? `, ${c.stale} older than stored` : "") +
    (c.malformed ? `, ${c.malformed} malformed` : "");
  const lines = [
    `backfill ${s.repo} since ${s.since} (${who})`,
    `  pull requests: ${counts(s.pullRequests)}`,
    `  workflow runs: ${counts(s.workflowRuns)}`,
    s.checkSuites.skippedReason
      ? `  check suites:  skipped: ${s.checkSuites.skippedReason}`
      : `  check suites:  ${counts(s.checkSuites)} over ${s.checkSuites.commits} commits, ${s.checkSuites.actionsSkipped} Actions suites skipped` +
        (s.checkSuites.missingCommits ? `, ${s.checkSuites.missingCommits} commits gone` : ""),
    `  requests: ${s.requests}, 304 not modified: ${s.notModified}` +
      (s.rateLimit ? `, rate limit remaining: ${s.rateLimit.remaining}${s.rateLimit.limit === null ? "" : `/${s.rateLimit.limit}`}` : ""),
  ];
  for (const query of s.workflowRuns.truncatedQueries) lines.push(`  warning: GitHub listed only 1000 runs created ${query}`);
  return lines;
}

export async function runBackfillCommand(options: BackfillCommandOptions, io: BackfillCommandIo): Promise<BackfillReport> {
  splitRepo(options.repo);
  const since = parseSince(options.since, io.now);
  const log = stderrLog(io.stderr, Boolean(options.verbose) || io.env.LOG_LEVEL === "debug");
  const credentials = credentialsFromEnv(io.env, options.auth);
  const baseUrl = apiBaseUrlFromEnv(io.env, options.baseUrl);
  const { octokit, identity } = await createRepoOctokit({
    credentials,
    repo: options.repo,
    baseUrl,
    log,
    ...(io.octokitOptions ? { octokitOptions: io.octokitOptions } : {}),
  });
  const store = await io.openStore();
  // Progress only where a person watches; --json output stays clean either way (progress is on stderr).
  const reporter = progressReporter(io.stderr);
  let summary: BackfillSummary;
  try {
    summary = await backfillRepository({
      octokit,
      store,
      repo: options.repo,
      since,
      checkSuites: options.checkSuites,
      onProgress: reporter.onProgress,
      log,
      ...(io.now ? { now: io.now } : {}),
    });
  } finally {
    reporter.stop();
    store.close();
  }
  const report = { identity, summary };
  io.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatSummary(report).join("\n")}\n`);
  return report;
}

export function registerBackfillCommand(program: Command): void {
  program
    .command("backfill")
    .description("Read a repository's recent PRs, workflow runs and check suites from the GitHub REST API (or a GitLab project's merge requests and pipelines) into the store")
    .requiredOption("--repo <owner/repo>", "the repository to read (GitLab: group/project)")
    .option("--provider <github|gitlab>", "the forge to read: github, or gitlab (GITLAB_TOKEN, GITLAB_URL for self-managed)", "github")
    .option("--since <age|date>", "how far back: an age (30d, 12h, 2w) or a date", "30d")
    .option("--auth <app|token>", "credentials to use when both APP_ID/PRIVATE_KEY and GITHUB_TOKEN are set (default: app)")
    .option("--base-url <url>", "REST API root for GitHub Enterprise Server (default: GITHUB_API_URL or api.github.com)")
    .option("--no-check-suites", "skip the check suites of other CI apps (one request per commit)")
    .option("--json", "print the summary as JSON")
    .option("-v, --verbose", "log each window split and debug details to stderr")
    .action(async (options: BackfillCommandOptions & { provider: string }) => {
      if (options.provider !== "github" && options.provider !== "gitlab") throw new Error(`--provider must be github or gitlab, not "${options.provider}"`);
      if (options.provider === "gitlab") {
        if (existsSync(".env")) process.loadEnvFile(".env");
        const { runGitlabBackfillCommand } = await import("./backfill-gitlab.js");
        await runGitlabBackfillCommand(options, { env: process.env, stdout: process.stdout, stderr: process.stderr, openStore: () => openStore() });
        return;
      }
      if (options.auth !== undefined && options.auth !== "app" && options.auth !== "token") {
        throw new Error(`--auth must be app or token, not "${String(options.auth)}"`);
      }
      if (existsSync(".env")) process.loadEnvFile(".env");
      await runBackfillCommand(options, {
        env: process.env,
        stdout: process.stdout,
        stderr: process.stderr,
        openStore: () => openStore(),
      });
    });
}
