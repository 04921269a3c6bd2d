/**
 * The overview (`/fixloop`): health banners, today's tiles (each says what an
 * empty value means), the variants' outcome rates, the daily chart (one
 * drawing for wide screens, one for phones, each whole on its screen), what
 * needs a person (failed jobs, failed deliveries) and the newest attempts.
 */
import { OUTCOME_METRICS, rateOf, type DailyPoint, type OutcomeTotals, type Rate, type VariantStats } from "../../outcomes/stats.js";
import type { AttemptSummary } from "../../store/operator-queries.js";
import type { FixStatus, Job } from "../../store/schema.js";
import { METRICS } from "../../tensorzero/metrics.js";
import { NARROW_CHART, renderChart, renderChartTable, WIDE_CHART } from "./chart.js";
import { html, type Markup } from "./html.js";
import { attemptRows, frame, jobRows, type Frame } from "./pages.js";
import { formatRate, METRIC_LABELS, STATUS_TONES } from "./views.js";

export interface OverviewView {
  totals: OutcomeTotals;
  variants: VariantStats[];
  daily: DailyPoint[];
  attempts: AttemptSummary[];
  failedJobs: Job[];
  counts: { jobs: Record<string, number>; deliveries: Record<string, number> };
  waitingJobs: number;
}

function tile(label: string, value: string | number, sub: string | null, why: string | null = null, href: string | null = null): Markup {
  const inner = html`<div class="label">${label}</div><div class="value">${value}</div>${sub ? html`<div class="sub">${sub}</div>` : null}${why ? html`<div class="why">${why}</div>` : null}`;
  return href ? html`<a class="tile" href="${href}">${inner}</a>` : html`<div class="tile">${inner}</div>`;
}

function shareText(rate: Rate): string {
  const share = rateOf(rate);
  return share === null ? "–" : `${Math.round(share * 100)}%`;
}

/** A rate tile; with no verdict yet it says what would produce one. */
function rateTile(label: string, rate: Rate, emptyWhy: string): Markup {
  return rate.total === 0 ? tile(label, "–", "no verdicts yet", emptyWhy) : tile(label, shareText(rate), formatRate(rate));
}

function renderTiles(view: OverviewView): Markup {
  const { totals } = view;
  const o = totals.outcomes;
  const failedJobs = (view.counts.jobs.failed ?? 0) + (view.counts.jobs.dead ?? 0);
  const failedDeliveries = view.counts.deliveries.failed ?? 0;
  return html`<section class="totals" aria-label="Totals">
    ${totals.attempts === 0
      ? tile("Fix attempts", 0, null, "None yet: one starts when CI goes red on a branch that .github/fixloop.yml watches.", "/fixloop/attempts")
      : tile("Fix attempts", totals.attempts, `${totals.withPr} opened a PR`, null, "/fixloop/attempts")}
    ${rateTile("Patch applied", o[METRICS.patchApplied], "Measured once the model answers with a diff.")}
    ${rateTile("CI passed", o[METRICS.ciPassed], "Measured when the repository's CI finishes on a fix branch.")}
    ${rateTile("Merged", o[METRICS.prMerged], "Measured when a fix PR is merged or closed.")}
    ${rateTile("Reverted", o[METRICS.prReverted], "Share of merged fixes reverted later; needs a merged fix first.")}
    ${tile("Waiting jobs", view.waitingJobs, view.waitingJobs === 0 ? "none" : "queued with a reason", view.waitingJobs === 0 ? "Jobs wait here when GitHub or the gateway cannot be reached." : null, "/fixloop/jobs?status=waiting")}
    ${tile("Failed jobs", failedJobs, failedJobs === 0 ? "none waiting" : "failed or dead", failedJobs === 0 ? "Nothing needs a retry." : null, "/fixloop/jobs?status=failed")}
    ${tile("Failed deliveries", failedDeliveries, failedDeliveries === 0 ? "none" : "can be replayed", failedDeliveries === 0 ? "Every webhook stored was processed or is in line." : null, "/fixloop/deliveries?status=failed")}
  </section>`;
}

function statusBadges(byStatus: Partial<Record<FixStatus, number>>): Markup {
  const entries = (Object.entries(byStatus) as [FixStatus, number][]).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  return html`<div class="statuses" aria-label="Attempts by status">${entries.map(
    ([status, n]) => html`<span class="badge badge-${STATUS_TONES[status] ?? "muted"}">${status.replace(/_/g, " ")}<b>${n}</b></span>`,
  )}</div>`;
}

function renderVariantCard(stats: VariantStats): Markup {
  const name = stats.variant ?? "no variant";
  const rates = OUTCOME_METRICS.map((metric) => {
    const rate = stats.outcomes[metric];
    const share = rateOf(rate);
    const meta = METRIC_LABELS[metric];
    return html`<dt title="${meta.note}">${meta.label}</dt>
      <div class="meter${meta.lowerIsBetter ? " lower" : ""}" aria-hidden="true"><i style="width:${share === null ? 0 : Math.round(share * 100)}%"></i></div>
      <dd data-metric="${metric}">${formatRate(rate)}</dd>`;
  });
  const filter = stats.variant ? `/fixloop/attempts?variant=${encodeURIComponent(stats.variant)}` : null;
  return html`<article class="card" data-variant="${name}">
    <div class="card-head"><span class="name mono">${filter ? html`<a href="${filter}">${name}</a>` : name}</span><span class="count">${stats.attempts} attempt${stats.attempts === 1 ? "" : "s"} · ${stats.withPr} PR${stats.withPr === 1 ? "" : "s"}</span></div>
    <dl class="rates">${rates}</dl>
    ${statusBadges(stats.byStatus)}
  </article>`;
}

function renderVariants(view: OverviewView): Markup {
  const body =
    view.variants.length === 0
      ? html`<div class="panel"><p class="empty-note">No fix attempts yet, so no variant has a record. Variants are TensorZero's: each attempt names the one that answered.</p></div>`
      : html`<div class="cards">${view.variants.map(renderVariantCard)}</div>`;
  return html`<section aria-labelledby="variants-heading"><h2 id="variants-heading">Variants <small>outcome rates from recorded feedback, all time</small></h2>${body}</section>`;
}

function renderChartPanel(view: OverviewView): Markup {
  const phoneDays = view.daily.slice(-14);
  return html`<section class="panel" aria-labelledby="chart-heading">
    <h2 id="chart-heading">Attempts and outcomes per day <small>last ${view.daily.length} days, UTC<span class="narrow-only"> (last ${phoneDays.length} on a phone)</span></small></h2>
    ${renderChart(view.daily, WIDE_CHART)}${renderChart(phoneDays, NARROW_CHART)}
    <details class="numbers"><summary>Show the numbers</summary><div class="scroll">${renderChartTable(view.daily)}</div></details>
  </section>`;
}

export function renderOverview(frameView: Omit<Frame, "title" | "section">, view: OverviewView): string {
  return frame(
    { ...frameView, title: "overview", section: "Overview" },
    html`${renderTiles(view)}
${renderVariants(view)}
${renderChartPanel(view)}
<section class="panel" aria-labelledby="jobs-heading">
  <h2 id="jobs-heading">Failed jobs <small>failed or dead; retry puts a job back in line with fresh attempts · <a href="/fixloop/jobs">all jobs</a></small></h2>
  <div class="scroll"><table class="data stack" id="failed-jobs">
    <thead><tr><th scope="col" class="num">Job</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Updated</th><th scope="col">Last error</th><th scope="col"></th></tr></thead>
    <tbody>${jobRows(view.failedJobs, frameView.csrfToken, "overview", "No failed jobs.")}</tbody>
  </table></div>
</section>
<section class="panel" aria-labelledby="attempts-heading">
  <h2 id="attempts-heading">Recent fix attempts <small>newest first, ${view.attempts.length} shown · <a href="/fixloop/attempts">all attempts, with filters</a></small></h2>
  <div class="scroll"><table class="data stack" id="attempts">
    <thead><tr><th scope="col">Created</th><th scope="col">Status</th><th scope="col">Repo</th><th scope="col">Run</th><th scope="col">PR</th><th scope="col">Variant</th><th scope="col">Reason</th></tr></thead>
    <tbody>${attemptRows(view.attempts, "No fix attempts yet: one starts when CI goes red on a watched branch.")}</tbody>
  </table></div>
</section>`,
  );
}
