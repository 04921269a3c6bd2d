/**
 * `fixloop backfill --provider gitlab --repo group/project [--since 30d]`:
 * GITLAB_TOKEN and GITLAB_URL (self-managed) from the environment. Progress
 * on stderr like the GitHub backfill (bars on a terminal, a line per phase
 * otherwise); the summary on stdout, JSON with --json.
 */
import { MultiBar, Presets, type SingleBar } from "cli-progress";
import { backfillGitlabProject, type GitlabBackfillPhase, type GitlabBackfillProgress, type GitlabBackfillSummary } from "../forges/gitlab-backfill.js";
import { apiRoot, createGitlabClient, type GitlabClientOptions } from "../forges/gitlab-api.js";
import type { Store } from "../store/db.js";
import { parseSince } from "../time.js";

interface Writable {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface GitlabBackfillIo {
  env: NodeJS.ProcessEnv;
  stdout: Writable;
  stderr: Writable;
  openStore: () => Promise<Store>;
  /** Tests shorten waits and count them. */
  clientOptions?: Partial<GitlabClientOptions>;
  now?: Date;
}

const LABEL: Record<GitlabBackfillPhase, string> = { "merge-requests": "merge requests", pipelines: "pipelines     " };

/** `group/project`, `group/subgroup/project`: GitLab's full paths. */
export function parseGitlabProject(value: string): string {
  const path = value.trim().replace(/^\/+|\/+$/g, "");
  if (!/^[\w.-]+(\/[\w.-]+)+$/.test(path)) throw new Error(`Expected a GitLab project as group/project (subgroups allowed), got "${value}"`);
  return path;
}

function progressReporter(stderr: Writable): { onProgress: (p: GitlabBackfillProgress) => void; stop: () => void } {
  if (!stderr.isTTY) {
    return { onProgress: (p) => void (p.finished && stderr.write(`${LABEL[p.phase].trim()}: ${p.done} read\n`)), stop: () => {} };
  }
  const multibar = new MultiBar(
    { stream: stderr as NodeJS.WritableStream, hideCursor: true, clearOnComplete: false, format: "{label} [{bar}] {value}/{total}" },
    Presets.shades_classic,
  );
  const bars = new Map<GitlabBackfillPhase, SingleBar>();
  return {
    onProgress: (p) => {
      let bar = bars.get(p.phase);
      if (!bar) {
        // Without X-Total (GitLab omits it on large lists) a counter, not a bar.
        bar = multibar.create(p.total ?? 0, 0, { label: LABEL[p.phase] }, p.total === null ? { format: "{label} {value} read" } : {});
        bars.set(p.phase, bar);
      }
      if (p.total !== null && p.total !== bar.getTotal()) bar.setTotal(p.total);
      bar.update(p.done);
    },
    stop: () => multibar.stop(),
  };
}

export function formatGitlabSummary(s: GitlabBackfillSummary, instance: string): string[] {
  const counts = (c: GitlabBackfillSummary["pipelines"]) =>
    `${c.seen} read, ${c.written} written` + (c.stale ? `, ${c.stale} older than stored` : "") + (c.malformed ? `, ${c.malformed} malformed` : "");
  const lines = [
    `backfill ${s.project} on ${instance} since ${s.since}`,
    `  merge requests: ${counts(s.mergeRequests)}`,
    `  pipelines:      ${counts(s.pipelines)}`,
    `  requests: ${s.requests}${s.waitedMs > 0 ? `, waited ${Math.round(s.waitedMs / 1000)} s for GitLab's rate limit` : ""}`,
  ];
  for (const problem of s.problems) lines.push(`  warning: ${problem}`);
  return lines;
}

export async function runGitlabBackfillCommand(options: { repo: string; since: string; baseUrl?: string; json?: boolean }, io: GitlabBackfillIo): Promise<GitlabBackfillSummary> {
  const project = parseGitlabProject(options.repo);
  const since = parseSince(options.since, io.now);
  const baseUrl = options.baseUrl ?? io.env.GITLAB_URL;
  const client = createGitlabClient({ baseUrl, token: io.env.GITLAB_TOKEN ?? "", ...io.clientOptions });
  const store = await io.openStore();
  const reporter = progressReporter(io.stderr);
  let summary: GitlabBackfillSummary;
  try {
    summary = await backfillGitlabProject({ client, store, project, since, onProgress: reporter.onProgress, ...(io.now ? { now: io.now } : {}) });
  } finally {
    reporter.stop();
    store.close();
  }
  io.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatGitlabSummary(summary, apiRoot(baseUrl)).join("\n")}\n`);
  return summary;
}
