/**
 * app.yml against what fixloop does: each subscribed event may be subscribed
 * to and needs a permission the manifest grants, each GitHub call in src/ is in
 * the table below with the permission GitHub's docs name for it, and each
 * permission granted is used by something. A new event or a new API call
 * fails here until it gets a row, so the manifest cannot drift again.
 *
 * Permissions per event and route: GitHub's "Permissions required for GitHub
 * Apps" and "Webhook events and payloads" pages.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { INGEST_HANDLERS } from "../src/handlers/index.js";

type Level = "read" | "write";
type Need = { permission: string; level: Level } | "none";

const manifest = parse(readFileSync(new URL("../app.yml", import.meta.url), "utf8")) as {
  default_events: string[];
  default_permissions: Record<string, Level>;
};

/** GitHub sends these to every app and refuses a manifest that lists them ("Default events unsupported"). */
const ALWAYS_SENT = ["installation", "installation_repositories", "github_app_authorization", "meta"];

/** Event → the permission an app needs to subscribe to it. Add a row with each new event. */
const EVENT_PERMISSIONS: Record<string, { permission: string; level: Level }> = {
  check_suite: { permission: "checks", level: "read" },
  check_run: { permission: "checks", level: "read" },
  pull_request: { permission: "pull_requests", level: "read" },
  pull_request_review: { permission: "pull_requests", level: "read" },
  pull_request_review_comment: { permission: "pull_requests", level: "read" },
  push: { permission: "contents", level: "read" },
  workflow_run: { permission: "actions", level: "read" },
  status: { permission: "statuses", level: "read" },
  // On PRs GitHub accepts the Pull requests permission for comment events.
  issue_comment: { permission: "pull_requests", level: "read" },
};

/**
 * Each way src/ calls GitHub (octokit.rest.<ns>.<method>, a "VERB /route"
 * string, a GraphQL mutation, the config plugin) → the permission it needs.
 * Issue-endpoints are only ever called on pull requests, where the Pull
 * requests permission covers comments and labels.
 */
const CALL_PERMISSIONS: Record<string, Need> = {
  "rest.actions.listJobsForWorkflowRun": { permission: "actions", level: "read" },
  "rest.actions.listJobsForWorkflowRunAttempt": { permission: "actions", level: "read" },
  "rest.actions.listWorkflowRuns": { permission: "actions", level: "read" },
  "rest.actions.reRunWorkflowFailedJobs": { permission: "actions", level: "write" },
  "GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs": { permission: "actions", level: "read" },
  "GET /repos/{owner}/{repo}/actions/runs": { permission: "actions", level: "read" },
  "rest.checks.listForSuite": { permission: "checks", level: "read" },
  "rest.checks.listAnnotations": { permission: "checks", level: "read" },
  "GET /repos/{owner}/{repo}/commits/{ref}/check-suites": { permission: "checks", level: "read" },
  "rest.repos.getCommit": { permission: "contents", level: "read" },
  "rest.repos.listCommits": { permission: "contents", level: "read" },
  "rest.repos.compareCommitsWithBasehead": { permission: "contents", level: "read" },
  "GET /repos/{owner}/{repo}/commits": { permission: "contents", level: "read" },
  "GET /repos/{owner}/{repo}/commits/{ref}": { permission: "contents", level: "read" },
  "GET /repos/{owner}/{repo}": { permission: "metadata", level: "read" },
  "GET /repos/{owner}/{repo}/git/trees/{+treeish}": { permission: "contents", level: "read" },
  // Localisation: per-directory reads when the recursive tree is truncated.
  "GET /repos/{owner}/{repo}/git/trees/{tree_sha}": { permission: "contents", level: "read" },
  "rest.git.getBlob": { permission: "contents", level: "read" },
  "rest.git.getCommit": { permission: "contents", level: "read" },
  "rest.git.getRef": { permission: "contents", level: "read" },
  "rest.git.createBlob": { permission: "contents", level: "write" },
  "rest.git.createTree": { permission: "contents", level: "write" },
  "rest.git.createCommit": { permission: "contents", level: "write" },
  "rest.git.createRef": { permission: "contents", level: "write" },
  // .github/fixloop.yml through Probot's config plugin (GET /repos/{owner}/{repo}/contents/{path}).
  "config.get": { permission: "contents", level: "read" },
  "rest.pulls.get": { permission: "pull_requests", level: "read" },
  "rest.pulls.list": { permission: "pull_requests", level: "read" },
  // Localisation: the PR's files, weighed against the log's evidence.
  "rest.pulls.listFiles": { permission: "pull_requests", level: "read" },
  "GET /repos/{owner}/{repo}/pulls": { permission: "pull_requests", level: "read" },
  "rest.repos.listPullRequestsAssociatedWithCommit": { permission: "pull_requests", level: "read" },
  "rest.pulls.create": { permission: "pull_requests", level: "write" },
  "rest.pulls.update": { permission: "pull_requests", level: "write" },
  "mutation markPullRequestReadyForReview": { permission: "pull_requests", level: "write" },
  "rest.issues.listComments": { permission: "pull_requests", level: "read" },
  "rest.issues.createComment": { permission: "pull_requests", level: "write" },
  "rest.issues.updateComment": { permission: "pull_requests", level: "write" },
  "rest.issues.addLabels": { permission: "pull_requests", level: "write" },
  // /fixloop comment commands (src/commands): who may command, the 👀 reaction, the run to act on.
  "rest.repos.getCollaboratorPermissionLevel": { permission: "metadata", level: "read" },
  "rest.reactions.createForIssueComment": { permission: "pull_requests", level: "write" },
  "rest.actions.listWorkflowRunsForRepo": { permission: "actions", level: "read" },
  // Authenticated as the app (JWT), not as an installation.
  "GET /repos/{owner}/{repo}/installation": "none",
};

/** Every GitHub call written in src/: the keys CALL_PERMISSIONS is indexed by, with the files they occur in. */
function callSitesInSource(): Map<string, string[]> {
  const root = new URL("../src/", import.meta.url).pathname;
  const sites = new Map<string, string[]>();
  const add = (key: string, file: string) => sites.set(key, [...new Set([...(sites.get(key) ?? []), file])]);
  const files = readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
  for (const file of files) {
    const text = readFileSync(join(root, file), "utf8");
    for (const m of text.matchAll(/\brest\.([a-zA-Z]+)\.([a-zA-Z]+)\b/g)) add(`rest.${m[1]}.${m[2]}`, file);
    for (const m of text.matchAll(/["'`]((?:GET|POST|PATCH|PUT|DELETE) \/(?:repos\/\{owner\}|app\b|installation\b|orgs\/|users?\/)[^"'`\s]*)["'`]/g)) add(m[1], file);
    for (const m of text.matchAll(/\bmutation\s*(?:\w+\s*)?(?:\([^)]*\))?\s*\{\s*(\w+)/g)) add(`mutation ${m[1]}`, file);
    if (/\boctokit\.config\.get\(/.test(text)) add("config.get", file);
  }
  return sites;
}

const LEVELS: Record<Level, number> = { read: 1, write: 2 };

function granted(need: Need): boolean {
  if (need === "none") return true;
  const level = manifest.default_permissions[need.permission];
  return level !== undefined && LEVELS[level] >= LEVELS[need.level];
}

describe("app.yml", () => {
  it("subscribes only to events an app may subscribe to, each handled by fixloop", () => {
    for (const event of manifest.default_events) {
      expect(ALWAYS_SENT, `${event} is sent by default and may not be listed`).not.toContain(event);
      expect(Object.keys(INGEST_HANDLERS), `${event} is subscribed but has no handler`).toContain(event);
    }
  });

  it("grants the permission every subscribed event needs", () => {
    const missing = manifest.default_events.filter((event) => {
      const need = EVENT_PERMISSIONS[event];
      return need === undefined || !granted(need);
    });
    expect(missing, "events without a row in EVENT_PERMISSIONS or without the permission in app.yml").toEqual([]);
  });

  it("grants the permission every GitHub call in src/ needs", () => {
    const sites = callSitesInSource();
    expect(sites.size).toBeGreaterThan(20);
    const unknown = [...sites].filter(([key]) => !(key in CALL_PERMISSIONS)).map(([key, files]) => `${key} (${files.join(", ")})`);
    expect(unknown, "GitHub calls without a row in CALL_PERMISSIONS: add the permission GitHub's docs name").toEqual([]);
    const refused = [...sites.keys()].filter((key) => !granted(CALL_PERMISSIONS[key])).map((key) => `${key} needs ${JSON.stringify(CALL_PERMISSIONS[key])}`);
    expect(refused).toEqual([]);
  });

  it("grants nothing no event or call uses, and nothing beyond the level used", () => {
    const needs = [...manifest.default_events.map((e) => EVENT_PERMISSIONS[e]), ...[...callSitesInSource().keys()].map((k) => CALL_PERMISSIONS[k])].filter(
      (n): n is { permission: string; level: Level } => n !== undefined && n !== "none",
    );
    for (const [permission, level] of Object.entries(manifest.default_permissions)) {
      if (permission === "metadata") continue; // every app has it
      const used = needs.filter((n) => n.permission === permission);
      expect(used.length, `${permission} is granted but nothing uses it`).toBeGreaterThan(0);
      expect(Math.max(...used.map((n) => LEVELS[n.level])), `${permission}: ${level} is more than needed`).toBe(LEVELS[level]);
    }
  });

  it("the README's permission list matches app.yml", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const section = /<!-- permissions -->([\s\S]*?)<!-- \/permissions -->/.exec(readme)?.[1] ?? "";
    const listed = Object.fromEntries([...section.matchAll(/^\| `(\w+)` \| (read|write) \|/gm)].map((m) => [m[1], m[2]]));
    expect(listed).toEqual(manifest.default_permissions);
    const events = [...section.matchAll(/^\| `(\w+)` event \|/gm)].map((m) => m[1]).sort();
    expect(events).toEqual([...manifest.default_events].sort());
  });
});
