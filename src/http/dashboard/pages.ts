/**
 * The operator's pages beside the overview: attempts (filtered, paged) and
 * one attempt in full, CI runs, PRs, jobs and deliveries. Data in, markup
 * out; everything a row mentions links to its own page here and to GitHub.
 */
import { ACTIONS_PROVIDER } from "../../ingest/map.js";
import { jobReason } from "../../queue/index.js";
import type { ReadinessReport } from "../../ops/readiness.js";
import type { AttemptSummary, PageOf, PrSummary, RunSummary } from "../../store/operator-queries.js";
import type { DeliverySummary } from "../../store/delivery-queries.js";
import type { CommitLink, FeedbackRow, FixAttempt, Job } from "../../store/schema.js";
import { html, type Markup } from "./html.js";
import { csrfField, errorCell, formatTime, githubUrl, jobSubject, link, page, statusBadge, truncate } from "./views.js";

// ---- frame -----------------------------------------------------------------------------

export const SECTIONS = [
  { path: "/fixloop", label: "Overview" },
  { path: "/fixloop/attempts", label: "Attempts" },
  { path: "/fixloop/runs", label: "Runs" },
  { path: "/fixloop/prs", label: "PRs" },
  { path: "/fixloop/jobs", label: "Jobs" },
  { path: "/fixloop/deliveries", label: "Deliveries" },
] as const;

export type Section = (typeof SECTIONS)[number]["label"];

export interface Frame {
  title: string;
  section: Section;
  csrfToken: string;
  generatedAt: Date;
  flash?: { tone: "ok" | "bad"; text: string } | null;
  banners?: Banner[];
}

export interface Banner {
  tone: "bad" | "warn" | "info";
  title: string;
  detail?: string | null;
  href?: string;
}

/** Banners from /readyz's checks: a service that cannot be reached, a gateway that is not configured. */
export function readinessBanners(report: ReadinessReport | null): Banner[] {
  if (!report) return [];
  const banners: Banner[] = [];
  const { database, tensorzero, github } = report.checks;
  if (database.state === "failing") banners.push({ tone: "bad", title: "The database does not answer", detail: database.detail });
  if (github.state === "failing") banners.push({ tone: "bad", title: "GitHub cannot be reached: fix jobs wait until it can", detail: github.detail, href: "/fixloop/jobs?status=waiting" });
  if (tensorzero.state === "failing") banners.push({ tone: "bad", title: "The TensorZero gateway cannot be reached: fix jobs wait until it can", detail: tensorzero.detail, href: "/fixloop/jobs?status=waiting" });
  if (tensorzero.state === "not configured") banners.push({ tone: "warn", title: "No TensorZero gateway configured (TENSORZERO_URL): fix jobs wait", detail: null });
  return banners;
}

function renderBanner(banner: Banner): Markup {
  return html`<div class="banner banner-${banner.tone}" role="${banner.tone === "bad" ? "alert" : "status"}" data-banner="${banner.tone}">
    <strong>${banner.title}</strong>${banner.detail ? html`<div class="detail">${banner.detail}</div>` : null}${banner.href ? html`<a href="${banner.href}">See the waiting jobs</a>` : null}
  </div>`;
}

export function frame(view: Frame, body: Markup): string {
  const flash = view.flash
    ? html`<div class="flash flash-${view.flash.tone}" role="${view.flash.tone === "ok" ? "status" : "alert"}">${view.flash.text}</div>`
    : null;
  const tabs = SECTIONS.map(
    (s) => html`<a href="${s.path}"${s.label === view.section ? html` aria-current="page"` : null}>${s.label}</a>`,
  );
  return page(
    `fixloop · ${view.title}`,
    html`<header class="top"><div class="top-inner">
  <div class="brand">fixloop<span>operator</span></div>
  <nav class="tabs" aria-label="Sections">${tabs}</nav>
  <div class="meta">${formatTime(view.generatedAt.toISOString())}</div>
  <form method="post" action="/fixloop/logout">${csrfField(view.csrfToken)}<button type="submit">Log out</button></form>
</div></header>
<main>
${(view.banners ?? []).map(renderBanner)}
${flash}
${body}
</main>`,
  );
}

// ---- shared pieces -------------------------------------------------------------------

export const PAGE_SIZE = 25;

/** "?repo=a%2Fb&page=2": the filters kept, the page changed. */
function withPage(base: string, filters: Record<string, string | undefined>, pageNumber: number): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value !== undefined && value !== "") query.set(key, value);
  if (pageNumber > 1) query.set("page", String(pageNumber));
  const text = query.toString();
  return text ? `${base}?${text}` : base;
}

function pager(base: string, filters: Record<string, string | undefined>, pageNumber: number, total: number): Markup {
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const first = total === 0 ? 0 : (pageNumber - 1) * PAGE_SIZE + 1;
  const last = Math.min(total, pageNumber * PAGE_SIZE);
  return html`<nav class="pager" aria-label="Pages">
    ${pageNumber > 1 ? html`<a rel="prev" href="${withPage(base, filters, pageNumber - 1)}">← Newer</a>` : null}
    <span>${first}–${last} of ${total} · page ${pageNumber} of ${pages}</span>
    ${pageNumber < pages ? html`<a rel="next" href="${withPage(base, filters, pageNumber + 1)}">Older →</a>` : null}
  </nav>`;
}

function select(name: string, label: string, options: readonly string[], selected: string | undefined, anyLabel = "any"): Markup {
  return html`<label>${label}<select name="${name}">
    <option value=""${!selected ? html` selected` : null}>${anyLabel}</option>
    ${options.map((o) => html`<option value="${o}"${o === selected ? html` selected` : null}>${o.replace(/_/g, " ")}</option>`)}
  </select></label>`;
}

function filterForm(action: string, fields: Markup[]): Markup {
  return html`<form class="filters" method="get" action="${action}" role="search">${fields}<button type="submit">Filter</button>${html`<a href="${action}">Clear</a>`}</form>`;
}

function kv(rows: [string, Markup | string | number | null | undefined][]): Markup {
  return html`<dl class="kv">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v === null || v === undefined || v === "" ? html`<span class="sub-line">–</span>` : v}</dd>`)}</dl>`;
}

function emptyRow(columns: number, text: string): Markup {
  return html`<tr><td colspan="${columns}" class="empty">${text}</td></tr>`;
}

function table(id: string, headings: string[], rows: Markup[] | Markup): Markup {
  return html`<div class="scroll"><table class="data stack" id="${id}">
    <thead><tr>${headings.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
    <tbody>${rows}</tbody>
  </table></div>`;
}

function panel(id: string, title: string, note: string | null, body: Markup): Markup {
  return html`<section class="panel" aria-labelledby="${id}-heading"><h2 id="${id}-heading">${title}${note ? html` <small>${note}</small>` : null}</h2>${body}</section>`;
}

const shortSha = (sha: string | null | undefined) => (sha ? sha.slice(0, 7) : null);

export function repoLink(repo: string): Markup {
  return link(githubUrl(repo, ""), repo);
}

function commitLink(repo: string, sha: string | null | undefined): Markup | null {
  return sha ? html`<a class="mono" href="${githubUrl(repo, `commit/${sha}`) ?? "#"}" rel="noopener noreferrer">${shortSha(sha)}</a>` : null;
}

function branchLink(repo: string, branch: string | null | undefined): Markup | null {
  return branch ? link(githubUrl(repo, `tree/${branch.split("/").map(encodeURIComponent).join("/")}`), branch) : null;
}

function githubRunUrl(run: { provider: string; repoSlug: string; runId: string; htmlUrl?: string | null }): string | null {
  if (run.htmlUrl && /^https:\/\/[^/]+\//.test(run.htmlUrl)) return run.htmlUrl;
  return run.provider === ACTIONS_PROVIDER ? githubUrl(run.repoSlug, `actions/runs/${encodeURIComponent(run.runId)}`) : null;
}

function onGitHub(href: string | null): Markup | null {
  return href ? html` <a class="gh" href="${href}" rel="noopener noreferrer" title="Open on GitHub">↗ GitHub</a>` : null;
}

/** A small "↗" to the same thing on GitHub, beside a link to its page here. */
function ghIcon(href: string | null): Markup | null {
  return href ? html` <a class="gh" href="${href}" rel="noopener noreferrer" title="Open on GitHub" aria-label="on GitHub">↗</a>` : null;
}

/** The run page by provider and id (it redirects to the stored row, or to GitHub when fixloop never saw the run). */
export function runHref(provider: string, runId: string, repo: string): string {
  return `/fixloop/run?${new URLSearchParams({ provider, run: runId, repo })}`;
}

export function prHref(repo: string, prNumber: number): string {
  return `/fixloop/pr?${new URLSearchParams({ repo, number: String(prNumber) })}`;
}

function attemptHref(id: string): string {
  return `/fixloop/attempts/${encodeURIComponent(id)}`;
}

function toneBadge(text: string, tone: "ok" | "bad" | "info" | "warn" | "muted"): Markup {
  return html`<span class="badge badge-${tone}">${text}</span>`;
}

function prBadge(state: string): Markup {
  return toneBadge(state, state === "merged" ? "ok" : state === "open" ? "info" : "muted");
}

function deliveryBadge(status: string): Markup {
  return toneBadge(status, status === "processed" ? "ok" : status === "failed" ? "bad" : status === "received" ? "info" : "muted");
}

function runBadge(run: Pick<RunSummary, "status" | "conclusion">): Markup {
  const tone = run.status === "success" ? "ok" : run.status === "failure" ? "bad" : run.status === "in_progress" ? "info" : "muted";
  const text = run.conclusion && run.conclusion !== run.status ? `${run.status} (${run.conclusion})` : run.status;
  return toneBadge(text.replace(/_/g, " "), tone);
}

// ---- attempts ------------------------------------------------------------------------

export interface AttemptsView {
  filters: { repo?: string; status?: string; variant?: string };
  facets: { repos: string[]; statuses: readonly string[]; variants: string[] };
  page: number;
  result: PageOf<AttemptSummary>;
}

export function attemptRows(attempts: readonly AttemptSummary[], emptyText: string): Markup[] | Markup {
  if (attempts.length === 0) return emptyRow(7, emptyText);
  return attempts.map(
    (a) => html`<tr data-attempt="${a.id}">
      <td class="when" data-label="Created"><a href="${attemptHref(a.id)}">${formatTime(a.createdAt)}</a></td>
      <td data-label="Status">${statusBadge(a.status)}${a.attemptNumber > 1 ? html`<div class="sub-line">attempt ${a.attemptNumber}</div>` : null}</td>
      <td class="repo" data-label="Repo">${repoLink(a.repoSlug)}</td>
      <td data-label="Run"><a href="${runHref(a.triggerProvider, a.triggerRunId, a.repoSlug)}">#${a.triggerRunId}</a>${ghIcon(githubRunUrl({ provider: a.triggerProvider, repoSlug: a.repoSlug, runId: a.triggerRunId }))}${a.workflowName ? html`<div class="sub-line">${a.workflowName}</div>` : null}</td>
      <td data-label="PR">${a.prNumber === null ? html`<span class="sub-line">–</span>` : html`<a href="${prHref(a.repoSlug, a.prNumber)}">#${a.prNumber}</a>${ghIcon(githubUrl(a.repoSlug, `pull/${a.prNumber}`))}`}</td>
      <td class="mono" data-label="Variant">${a.variant ?? "–"}</td>
      <td class="reason${a.reason ? "" : " blank"}" data-label="Reason">${a.reason ? truncate(a.reason, 240) : ""}</td>
    </tr>`,
  );
}

const ATTEMPT_HEADINGS = ["Created", "Status", "Repo", "Run", "PR", "Variant", "Reason"];

export function renderAttemptsPage(frameView: Frame, view: AttemptsView): string {
  const filtered = Object.values(view.filters).some((v) => v !== undefined && v !== "");
  const empty = filtered ? "No attempts match these filters." : "No fix attempts yet: one starts when CI goes red on a watched branch.";
  return frame(
    frameView,
    panel(
      "attempts",
      "Fix attempts",
      "newest first; click a date for the whole story",
      html`${filterForm("/fixloop/attempts", [
        select("repo", "Repository", view.facets.repos, view.filters.repo),
        select("status", "Status", view.facets.statuses, view.filters.status),
        select("variant", "Variant", view.facets.variants, view.filters.variant),
      ])}
      ${table("attempts", ATTEMPT_HEADINGS, attemptRows(view.result.rows, empty))}
      ${pager("/fixloop/attempts", view.filters, view.page, view.result.total)}`,
    ),
  );
}

export interface AttemptDetailView {
  attempt: FixAttempt;
  triggerRun: RunSummary | null;
  pr: PrSummary | null;
  chain: AttemptSummary[];
  verdicts: RunSummary[];
  feedback: FeedbackRow[];
  links: CommitLink[];
}

/** A unified diff as text, its lines tinted by kind (still text: nothing in it is markup). */
export function renderDiff(diff: string): Markup {
  const lines = diff.split("\n").map((line) => {
    const kind = line.startsWith("+++") || line.startsWith("---") ? "" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : "";
    return kind ? html`<span class="${kind}">${line}</span>\n` : html`${line}\n`;
  });
  return html`<pre class="block diff">${lines}</pre>`;
}

function feedbackRows(rows: readonly FeedbackRow[]): Markup[] | Markup {
  if (rows.length === 0) return emptyRow(6, "No feedback recorded yet: rows appear as the fix's CI, PR and later commits tell what became of it.");
  return rows.map(
    (f) => html`<tr data-feedback="${f.id}">
      <td class="mono" data-label="Metric">${f.metricName}${f.dedupKey ? html`<div class="sub-line">${f.dedupKey}</div>` : null}</td>
      <td class="mono" data-label="Value">${JSON.stringify(f.value)}</td>
      <td data-label="Target">${f.targetType}<div class="sub-line mono">${f.targetId}</div></td>
      <td data-label="Status">${statusBadge(f.status === "sent" ? "done" : f.status === "dead" ? "dead" : "queued")} <span class="sub-line">${f.status}, ${f.tries} tries</span></td>
      <td class="when" data-label="Recorded">${formatTime(f.createdAt)}${f.sentAt ? html`<div class="sub-line">sent ${formatTime(f.sentAt)}</div>` : null}</td>
      <td class="reason${f.lastError ? "" : " blank"}" data-label="Error">${f.lastError ? truncate(f.lastError, 200) : ""}</td>
    </tr>`,
  );
}

function linkRows(repo: string, rows: readonly CommitLink[]): Markup[] | Markup {
  if (rows.length === 0) return emptyRow(4, "No commits attributed to this attempt yet: the fix commit is linked when the PR opens, later ones when they touch its files.");
  return rows.map(
    (l) => html`<tr>
      <td data-label="Commit">${commitLink(repo, l.commitSha)}</td>
      <td data-label="Link">${l.linkType}</td>
      <td class="num" data-label="Confidence">${l.confidence.toFixed(2)}</td>
      <td class="reason" data-label="Evidence"><code>${truncate(JSON.stringify(l.evidenceJson), 200)}</code></td>
    </tr>`,
  );
}

export function runRows(runs: readonly RunSummary[], emptyText: string): Markup[] | Markup {
  if (runs.length === 0) return emptyRow(7, emptyText);
  return runs.map(
    (r) => html`<tr data-run="${r.id}">
      <td data-label="Run"><a href="/fixloop/runs/${r.id}">#${r.runId}</a>${r.runAttempt > 1 ? html`<div class="sub-line">attempt ${r.runAttempt}</div>` : null}</td>
      <td data-label="Status">${runBadge(r)}</td>
      <td class="repo" data-label="Repo">${repoLink(r.repoSlug)}</td>
      <td data-label="Workflow">${r.workflowName ?? r.appSlug ?? "–"}<div class="sub-line">${r.provider}</div></td>
      <td data-label="Branch">${branchLink(r.repoSlug, r.headBranch)} ${commitLink(r.repoSlug, r.commitSha)}</td>
      <td data-label="PRs">${r.prNumbers.length === 0 ? html`<span class="sub-line">–</span>` : r.prNumbers.map((n, i) => html`${i > 0 ? ", " : ""}<a href="${prHref(r.repoSlug, n)}">#${n}</a>`)}</td>
      <td class="when" data-label="Updated">${formatTime(r.completedTs ?? r.updatedAt ?? r.recordedAt)}${onGitHub(githubRunUrl(r))}</td>
    </tr>`,
  );
}

const RUN_HEADINGS = ["Run", "Status", "Repo", "Workflow", "Branch, commit", "PRs", "Updated"];

export function renderAttemptPage(frameView: Frame, view: AttemptDetailView): string {
  const a = view.attempt;
  const runGitHub = githubRunUrl({ provider: a.triggerProvider, repoSlug: a.repoSlug, runId: a.triggerRunId, htmlUrl: view.triggerRun?.htmlUrl });
  const summary = a.failureSummary;
  const facts = kv([
    ["Status", html`${statusBadge(a.status)}${a.reason ? html`<div class="reason">${a.reason}</div>` : null}`],
    ["Repository", repoLink(a.repoSlug)],
    ["Trigger run", html`<a href="${runHref(a.triggerProvider, a.triggerRunId, a.repoSlug)}">#${a.triggerRunId}</a>${a.workflowName ? ` (${a.workflowName})` : ""}${onGitHub(runGitHub)}`],
    ["Failing commit", html`${commitLink(a.repoSlug, a.headSha)} on ${branchLink(a.repoSlug, a.headBranch) ?? "–"}`],
    ["Attempt", html`${a.attemptNumber} of its chain${view.chain.length > 1 ? html`: ${view.chain.map((c, i) => html`${i > 0 ? ", " : ""}${c.id === a.id ? html`<b>#${c.attemptNumber}</b>` : html`<a href="${attemptHref(c.id)}">#${c.attemptNumber}</a>`}`)}` : null}`],
    ["Requested by", a.requestedBy ? html`@${a.requestedBy} (comment command)` : "CI (red run on a watched branch)"],
    ["Variant / model", a.variant ? html`<span class="mono">${a.variant}</span>${a.model ? html` · <span class="mono">${a.model}</span>` : null}` : null],
    ["Prompt version", a.promptVersion],
    ["Tokens", a.inputTokens !== null || a.outputTokens !== null ? `${a.inputTokens ?? "?"} in, ${a.outputTokens ?? "?"} out` : null],
    ["TensorZero", a.inferenceId || a.episodeId ? html`inference <code>${a.inferenceId ?? "–"}</code>, episode <code>${a.episodeId ?? "–"}</code>` : null],
    ["Created / updated", `${formatTime(a.createdAt)} / ${formatTime(a.updatedAt)}`],
  ]);
  const context = kv([
    ["Failed job", summary?.job ?? null],
    ["Failing step", summary?.failingStep ?? null],
    ["First error line", summary?.firstErrorLine ? html`<code>${summary.firstErrorLine}</code>` : null],
    ["Same failure in", summary && summary.sameFailureJobs.length > 0 ? summary.sameFailureJobs.join(", ") : null],
    ["Failure class", a.failureClass],
    ["Baseline (last green run)", a.baselineRunId ? html`<a href="${runHref(a.triggerProvider, a.baselineRunId, a.repoSlug)}">#${a.baselineRunId}</a> (lines it also printed were dropped)` : "none used"],
    ["Repository instructions", a.instructionFiles.length > 0 ? a.instructionFiles.join(", ") : null],
    ["Person's hint", a.hint ? html`<code>${a.hint}</code>` : null],
    ["Files changed", a.changedFiles.length > 0 ? html`${a.changedFiles.map((f, i) => html`${i > 0 ? ", " : ""}<code>${f}</code>`)}` : null],
  ]);
  const pr =
    a.prNumber === null
      ? html`<p class="empty-note">No PR opened${a.status === "failed" || a.status === "skipped" ? "" : " yet"}.</p>`
      : kv([
          ["PR", html`<a href="${prHref(a.repoSlug, a.prNumber)}">#${a.prNumber}</a>${view.pr ? html` ${view.pr.title} · ${prBadge(view.pr.state)}` : null}${onGitHub(githubUrl(a.repoSlug, `pull/${a.prNumber}`))}`],
          ["Fix branch", branchLink(a.repoSlug, a.fixBranch)],
          ["Fix commit", commitLink(a.repoSlug, a.fixCommitSha)],
          ["Merged / reverted", view.pr ? `${formatTime(view.pr.mergedAt)} / ${formatTime(view.pr.revertedAt)}` : null],
          ["Touched since", view.pr ? `${view.pr.downstreamTouchCount} later commit(s) touched its files` : null],
        ]);
  return frame(
    frameView,
    html`<p class="crumbs"><a href="/fixloop/attempts">← Attempts</a></p>
    ${panel("attempt", `Fix attempt on ${a.repoSlug}`, a.id, facts)}
    ${panel("context", "Context sent to the model", "redacted before it left the process; the full prompt is stored by TensorZero under the inference id", context)}
    ${panel("explanation", "Model's explanation", null, a.explanation ? html`<pre class="block">${a.explanation}</pre>` : html`<p class="empty-note">No explanation (the model was not asked, or said nothing).</p>`)}
    ${panel("diff", "Diff", a.diff ? `${a.diff.split("\n").length} lines` : null, a.diff ? renderDiff(a.diff) : html`<p class="empty-note">No diff: ${a.reason ?? "the attempt did not get that far."}</p>`)}
    ${panel("pr", "Pull request", null, pr)}
    ${panel("verdicts", "CI verdicts on the fix", "runs of the repository's own CI on the fix commit", table("verdicts", RUN_HEADINGS, runRows(view.verdicts, a.fixCommitSha ? "No CI run on the fix commit recorded yet." : "No fix commit: nothing for CI to judge.")))}
    ${panel("feedback", "Feedback to TensorZero", "the outbox rows of this attempt", table("feedback", ["Metric", "Value", "Target", "Status", "Recorded", "Error"], feedbackRows(view.feedback)))}
    ${panel("attribution", "Attribution", "commits linked to this attempt", table("links", ["Commit", "Link", "Confidence", "Evidence"], linkRows(a.repoSlug, view.links)))}`,
  );
}

// ---- runs ---------------------------------------------------------------------------

export interface RunsView {
  filters: { repo?: string; status?: string };
  facets: { repos: string[]; statuses: readonly string[] };
  page: number;
  result: PageOf<RunSummary>;
}

export function renderRunsPage(frameView: Frame, view: RunsView): string {
  const filtered = Object.values(view.filters).some(Boolean);
  return frame(
    frameView,
    panel(
      "runs",
      "CI runs",
      "workflow runs and other CI apps' check suites, newest first",
      html`${filterForm("/fixloop/runs", [select("repo", "Repository", view.facets.repos, view.filters.repo), select("status", "Status", view.facets.statuses, view.filters.status)])}
      ${table("runs", RUN_HEADINGS, runRows(view.result.rows, filtered ? "No runs match these filters." : "No CI runs recorded yet: they arrive with workflow_run and check_suite webhooks (or `fixloop backfill`)."))}
      ${pager("/fixloop/runs", view.filters, view.page, view.result.total)}`,
    ),
  );
}

export function renderRunPage(frameView: Frame, run: RunSummary, attempts: AttemptSummary[]): string {
  const facts = kv([
    ["Status", runBadge(run)],
    ["Repository", repoLink(run.repoSlug)],
    ["Workflow", html`${run.workflowName ?? run.appSlug ?? "–"} <span class="sub-line">${run.provider}, run attempt ${run.runAttempt}, event ${run.event ?? "–"}</span>`],
    ["Branch", branchLink(run.repoSlug, run.headBranch)],
    ["Commit", commitLink(run.repoSlug, run.commitSha)],
    ["PRs", run.prNumbers.length === 0 ? null : html`${run.prNumbers.map((n, i) => html`${i > 0 ? ", " : ""}<a href="${prHref(run.repoSlug, n)}">#${n}</a>`)}`],
    ["Started / completed", `${formatTime(run.startedTs)} / ${formatTime(run.completedTs)}`],
    ["On GitHub", link(githubRunUrl(run), githubRunUrl(run) ?? "–")],
  ]);
  return frame(
    frameView,
    html`<p class="crumbs"><a href="/fixloop/runs">← Runs</a></p>
    ${panel("run", `Run #${run.runId}`, run.repoSlug, facts)}
    ${panel("run-attempts", "Fix attempts", "started by this run, or judged by it", table("attempts", ATTEMPT_HEADINGS, attemptRows(attempts, "No fix attempt started by or judged by this run.")))}`,
  );
}

// ---- PRs --------------------------------------------------------------------------

export interface PrsView {
  filters: { repo?: string; state?: string };
  facets: { repos: string[]; states: readonly string[] };
  page: number;
  result: PageOf<PrSummary>;
}

function prRows(prs: readonly PrSummary[], emptyText: string): Markup[] | Markup {
  if (prs.length === 0) return emptyRow(6, emptyText);
  return prs.map(
    (p) => html`<tr data-pr="${p.id}">
      <td data-label="PR"><a href="/fixloop/prs/${p.id}">#${p.prNumber}</a>${p.draft ? html` <span class="sub-line">draft</span>` : null}</td>
      <td data-label="Title">${truncate(p.title || "(no title)", 120)}${p.linkedSessionIds.length > 0 ? html` <span class="badge badge-info">fixloop</span>` : null}</td>
      <td class="repo" data-label="Repo">${repoLink(p.repoSlug)}</td>
      <td data-label="State">${prBadge(p.state)}${p.revertedAt ? html` <span class="badge badge-bad">reverted</span>` : null}</td>
      <td data-label="Author">${p.author ?? "–"}</td>
      <td class="when" data-label="Updated">${formatTime(p.updatedAt ?? p.recordedAt)}${onGitHub(githubUrl(p.repoSlug, `pull/${p.prNumber}`))}</td>
    </tr>`,
  );
}

export function renderPrsPage(frameView: Frame, view: PrsView): string {
  const filtered = Object.values(view.filters).some(Boolean);
  return frame(
    frameView,
    panel(
      "prs",
      "Pull requests",
      "every PR fixloop heard of; fixloop's own are marked",
      html`${filterForm("/fixloop/prs", [select("repo", "Repository", view.facets.repos, view.filters.repo), select("state", "State", view.facets.states, view.filters.state)])}
      ${table("prs", ["PR", "Title", "Repo", "State", "Author", "Updated"], prRows(view.result.rows, filtered ? "No PRs match these filters." : "No pull requests recorded yet: they arrive with pull_request webhooks."))}
      ${pager("/fixloop/prs", view.filters, view.page, view.result.total)}`,
    ),
  );
}

export function renderPrPage(frameView: Frame, pr: PrSummary, attempts: AttemptSummary[], runs: RunSummary[]): string {
  const facts = kv([
    ["State", html`${prBadge(pr.state)}${pr.draft ? " (draft)" : ""}`],
    ["Repository", repoLink(pr.repoSlug)],
    ["Author", pr.author],
    ["Head", html`${pr.isFork ? pr.headRef : branchLink(pr.repoSlug, pr.headRef)} ${commitLink(pr.repoSlug, pr.headSha)}${pr.isFork ? " (from a fork)" : ""}`],
    ["Base", branchLink(pr.repoSlug, pr.baseRef)],
    ["Merged", pr.mergedAt ? html`${formatTime(pr.mergedAt)} as ${commitLink(pr.repoSlug, pr.mergeCommitSha)}` : null],
    ["Closed", pr.closedAt ? formatTime(pr.closedAt) : null],
    ["Reverted", pr.revertedAt ? html`${formatTime(pr.revertedAt)}${pr.revertedBy ? html` by ${commitLink(pr.repoSlug, pr.revertedBy)}` : null}` : null],
    ["Touched since merge", `${pr.downstreamTouchCount} commit(s)${pr.lastDownstreamTouchTs ? `, last ${formatTime(pr.lastDownstreamTouchTs)}` : ""}`],
    ["On GitHub", link(githubUrl(pr.repoSlug, `pull/${pr.prNumber}`), `${pr.repoSlug}#${pr.prNumber}`)],
  ]);
  return frame(
    frameView,
    html`<p class="crumbs"><a href="/fixloop/prs">← PRs</a></p>
    ${panel("pr", `PR #${pr.prNumber}: ${truncate(pr.title || "(no title)", 100)}`, pr.repoSlug, facts)}
    ${panel("pr-attempts", "Fix attempts", "that opened this PR or pushed to its branch", table("attempts", ATTEMPT_HEADINGS, attemptRows(attempts, "No fix attempt is linked to this PR.")))}
    ${panel("pr-runs", "CI runs on its head commit", null, table("runs", RUN_HEADINGS, runRows(runs, "No CI run on the head commit recorded.")))}`,
  );
}

// ---- jobs ---------------------------------------------------------------------------

export interface JobsView {
  filters: { status?: string; kind?: string };
  facets: { statuses: readonly string[] };
  page: number;
  result: PageOf<Job>;
}

/** A job a person may put back in line: finished badly, or waiting with a reason. */
export function jobRetryable(job: Job): boolean {
  return job.status === "failed" || job.status === "dead" || (job.status === "queued" && job.lastError !== null);
}

export function jobRows(jobsShown: readonly Job[], csrfToken: string, back: string, emptyText: string): Markup[] | Markup {
  if (jobsShown.length === 0) return emptyRow(6, emptyText);
  return jobsShown.map((job) => {
    const subject = jobSubject(job);
    const waiting = job.status === "queued" && job.lastError !== null;
    return html`<tr data-job="${job.id}">
      <td class="num mono" data-label="Job">${job.id}</td>
      <td data-label="Kind"><span class="mono">${job.kind}</span>${subject ? html`<div class="sub-line">${subject}</div>` : null}</td>
      <td data-label="Status">${statusBadge(waiting ? "waiting" : job.status)}<div class="sub-line">${job.attempts}/${job.maxAttempts} tries${waiting ? html`, next ${formatTime(job.runAfter)}` : null}</div></td>
      <td class="when" data-label="Updated">${formatTime(job.updatedAt)}</td>
      <td data-label="${waiting ? "Waiting because" : "Last error"}">${errorCell(jobReason(job))}</td>
      <td class="action">${jobRetryable(job) ? html`<form method="post" action="/fixloop/jobs/${job.id}/retry">${csrfField(csrfToken)}<input type="hidden" name="back" value="${back}"><button class="retry" type="submit" aria-label="${waiting ? "Run" : "Retry"} job ${job.id}">${waiting ? "Run now" : "Retry"}</button></form>` : null}</td>
    </tr>`;
  });
}

export function renderJobsPage(frameView: Frame, view: JobsView): string {
  const filtered = Object.values(view.filters).some(Boolean);
  return frame(
    frameView,
    panel(
      "jobs",
      "Jobs",
      "the work queue, newest first; retry puts a failed, dead or waiting job back in line now with fresh attempts",
      html`${filterForm("/fixloop/jobs", [select("status", "Status", view.facets.statuses, view.filters.status)])}
      ${table("jobs", ["Job", "Kind", "Status", "Updated", "Error / reason", ""], jobRows(view.result.rows, frameView.csrfToken, "jobs", filtered ? "No jobs match this filter." : "No jobs yet: a red run on a watched branch enqueues a fix job."))}
      ${pager("/fixloop/jobs", view.filters, view.page, view.result.total)}`,
    ),
  );
}

// ---- deliveries -----------------------------------------------------------------------

export interface DeliveriesView {
  filters: { status?: string; event?: string };
  facets: { statuses: readonly string[]; events: string[] };
  page: number;
  result: PageOf<DeliverySummary>;
}

function deliveryEventText(d: Pick<DeliverySummary, "event" | "action">): string {
  return d.action ? `${d.event}.${d.action}` : d.event;
}

function replayForm(id: string, csrfToken: string): Markup {
  return html`<form method="post" action="/fixloop/deliveries/${encodeURIComponent(id)}/replay">${csrfField(csrfToken)}<button class="retry" type="submit" aria-label="Replay delivery ${id}">Replay</button></form>`;
}

function deliveryRows(rows: readonly DeliverySummary[], csrfToken: string, emptyText: string): Markup[] | Markup {
  if (rows.length === 0) return emptyRow(7, emptyText);
  return rows.map(
    (d) => html`<tr data-delivery="${d.id}">
      <td class="mono" data-label="Delivery"><a href="/fixloop/deliveries/${encodeURIComponent(d.id)}">${truncate(d.id, 18)}</a></td>
      <td class="mono" data-label="Event">${deliveryEventText(d)}</td>
      <td class="repo" data-label="Repo">${d.repoSlug ? repoLink(d.repoSlug) : html`<span class="sub-line">–</span>`}</td>
      <td data-label="Status">${deliveryBadge(d.status)}<div class="sub-line">${d.attempts} ${d.attempts === 1 ? "try" : "tries"}</div></td>
      <td class="when" data-label="Received">${formatTime(d.receivedAt)}</td>
      <td data-label="Error / note">${d.error ? errorCell(d.error) : d.note ? html`<span class="sub-line">${truncate(d.note, 160)}</span>` : html`<span class="sub-line">–</span>`}</td>
      <td class="action">${d.status === "failed" ? replayForm(d.id, csrfToken) : null}</td>
    </tr>`,
  );
}

export function renderDeliveriesPage(frameView: Frame, view: DeliveriesView): string {
  const filtered = Object.values(view.filters).some(Boolean);
  return frame(
    frameView,
    panel(
      "deliveries",
      "Webhook deliveries",
      "the inbox, newest first; a failed one can be replayed here (or with fixloop deliveries replay)",
      html`${filterForm("/fixloop/deliveries", [select("status", "Status", view.facets.statuses, view.filters.status), select("event", "Event", view.facets.events, view.filters.event)])}
      ${table("deliveries", ["Delivery", "Event", "Repo", "Status", "Received", "Error / note", ""], deliveryRows(view.result.rows, frameView.csrfToken, filtered ? "No deliveries match these filters." : "No deliveries yet: point the GitHub App's webhook at /api/github/webhooks."))}
      ${pager("/fixloop/deliveries", view.filters, view.page, view.result.total)}`,
    ),
  );
}

export function renderDeliveryPage(frameView: Frame, d: DeliverySummary & { payload: unknown }): string {
  const payloadText = JSON.stringify(d.payload, null, 2) ?? "";
  const facts = kv([
    ["Event", html`<span class="mono">${deliveryEventText(d)}</span>`],
    ["Status", html`${deliveryBadge(d.status)} <span class="sub-line">${d.attempts} ${d.attempts === 1 ? "try" : "tries"}</span>`],
    ["Error", d.error ? html`<pre class="error-text">${d.error}</pre>` : null],
    ["Note", d.note],
    ["Repository", d.repoSlug ? repoLink(d.repoSlug) : null],
    ["Installation", d.installationId],
    ["Received", formatTime(d.receivedAt)],
    ["Processed", formatTime(d.processedAt)],
    ["Next try", d.nextAttemptAt ? formatTime(d.nextAttemptAt) : null],
    ["Replay", d.status === "failed" ? replayForm(d.id, frameView.csrfToken) : d.status === "received" ? "waiting for the processor" : "already processed: a replay would change nothing"],
  ]);
  return frame(
    frameView,
    html`<p class="crumbs"><a href="/fixloop/deliveries">← Deliveries</a></p>
    ${panel("delivery", "Delivery", d.id, facts)}
    ${panel("payload", "Payload", payloadText.length > 200_000 ? "first 200 000 characters" : null, html`<pre class="block">${truncate(payloadText, 200_000)}</pre>`)}`,
  );
}
