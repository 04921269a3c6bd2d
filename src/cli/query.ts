import { Option, type Command } from "commander";
import { listCiRuns, listPrOutcomes, withoutRaw } from "../store/records.js";
import { CI_STATUSES, PR_STATES, type CiStatus, type PrState } from "../store/schema.js";
import { parseSince } from "../time.js";
import { positiveInt } from "./parsers.js";
import { printJson, printTable, withStore } from "./shared.js";

export function registerQueryCommands(program: Command): void {
  program
    .command("prs")
    .description("List recorded pull requests and their outcomes")
    .option("--repo <owner/repo>", "only this repository")
    .option("--provider <provider>", "only this forge: github, gitlab or gitea")
    .addOption(new Option("--state <state>", "only PRs in this state").choices(PR_STATES))
    .option("--since <age|date>", "updated since, e.g. 7d or 2024-05-01")
    .option("--limit <n>", "at most this many rows", positiveInt, 100)
    .option("--json", "print JSON")
    .action(async (o: { repo?: string; provider?: string; state?: PrState; since?: string; limit: number; json?: boolean }) => {
      const rows = await withStore((store) =>
        listPrOutcomes(store.db, {
          repo: o.repo,
          provider: o.provider,
          state: o.state,
          since: o.since ? parseSince(o.since) : undefined,
          limit: o.limit,
        }),
      );
      if (o.json) return printJson(rows.map(withoutRaw));
      printTable(
        rows.map((r) => ({
          repo: r.repoSlug,
          provider: r.provider,
          pr: `#${r.prNumber}`,
          state: r.state,
          author: r.author,
          head: r.headRef,
          merged: r.mergedAt,
          reverted: r.revertedAt,
          touches: r.downstreamTouchCount,
          title: r.title.length > 50 ? `${r.title.slice(0, 49)}…` : r.title,
        })),
        ["repo", "provider", "pr", "state", "author", "head", "merged", "reverted", "touches", "title"],
      );
    });

  program
    .command("runs")
    .description("List recorded CI runs (GitHub Actions runs, other apps' check suites, GitLab pipelines, Gitea statuses and Actions runs)")
    .option("--repo <owner/repo>", "only this repository")
    .option("--provider <provider>", "github-actions, github-checks, gitlab-ci, gitea-status, gitea-actions, or a forge (github, gitlab, gitea)")
    .option("--commit <sha>", "runs for this commit (a prefix is enough)")
    .addOption(new Option("--status <status>", "only runs with this status").choices(CI_STATUSES))
    .option("--since <age|date>", "updated since, e.g. 7d")
    .option("--limit <n>", "at most this many rows", positiveInt, 100)
    .option("--json", "print JSON")
    .action(async (o: { repo?: string; provider?: string; commit?: string; status?: CiStatus; since?: string; limit: number; json?: boolean }) => {
      const rows = await withStore((store) =>
        listCiRuns(store.db, {
          repo: o.repo,
          provider: o.provider,
          commitSha: o.commit,
          status: o.status,
          since: o.since ? parseSince(o.since) : undefined,
          limit: o.limit,
        }),
      );
      if (o.json) return printJson(rows.map(withoutRaw));
      printTable(
        rows.map((r) => ({
          repo: r.repoSlug,
          provider: r.provider,
          run: r.runId,
          workflow: r.workflowName,
          branch: r.headBranch,
          commit: r.commitSha.slice(0, 10),
          status: r.status,
          conclusion: r.conclusion,
          attempt: r.runAttempt,
          prs: r.prNumbers.map((n) => `#${n}`).join(","),
          completed: r.completedTs,
        })),
        ["repo", "provider", "run", "workflow", "branch", "commit", "status", "conclusion", "attempt", "prs", "completed"],
      );
    });
}
