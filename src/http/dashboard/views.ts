/**
 * The dashboard's frame and shared pieces as server-rendered HTML: the page
 * shell and its CSS, badges, times, links, the login and message pages.
 * Every value from the database goes through `html`, which escapes it. The
 * overview is in overview.ts, the other pages in pages.ts.
 */
import { rateOf, type Rate } from "../../outcomes/stats.js";
import type { Job } from "../../store/schema.js";
import { METRICS, type MetricName } from "../../tensorzero/metrics.js";
import { html, raw, type Markup } from "./html.js";

export const METRIC_LABELS: Record<MetricName, { label: string; note: string; lowerIsBetter?: boolean }> = {
  [METRICS.patchApplied]: { label: "Patch applied", note: "the model's diff applied cleanly" },
  [METRICS.ciPassed]: { label: "CI passed", note: "the repo's CI went green on the fix branch" },
  [METRICS.prMerged]: { label: "Merged", note: "the fix PR was merged" },
  [METRICS.prReverted]: { label: "Reverted", note: "share of merged fixes later reverted (lower is better)", lowerIsBetter: true },
  [METRICS.heldUp]: { label: "Held up", note: "a merged fix stood through the watch window" },
};

export const STATUS_TONES: Record<string, string> = {
  queued: "info",
  collecting: "info",
  prompting: "info",
  patching: "info",
  publishing: "info",
  running: "info",
  awaiting_ci: "warn",
  ci_passed: "ok",
  done: "ok",
  ci_failed: "bad",
  failed: "bad",
  waiting: "warn",
  dead: "dead",
  skipped: "muted",
};

export function statusBadge(status: string): Markup {
  return html`<span class="badge badge-${STATUS_TONES[status] ?? "muted"}">${status.replace(/_/g, " ")}</span>`;
}

/** "7/9 · 78%", or "–" when nothing was measured. */
export function formatRate(rate: Rate): string {
  const share = rateOf(rate);
  return share === null ? "–" : `${rate.hits}/${rate.total} · ${Math.round(share * 100)}%`;
}

/** "2024-05-02 13:15 UTC" from an ISO timestamp; the input as is when it is not one. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "–";
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return match ? `${match[1]} ${match[2]} UTC` : iso;
}

const REPO_SLUG = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

export function githubUrl(repo: string, path: string): string | null {
  return REPO_SLUG.test(repo) ? `https://github.com/${repo}/${path}` : null;
}

export function link(href: string | null, text: string | number): Markup {
  return href ? html`<a href="${href}" rel="noopener noreferrer">${text}</a>` : html`${text}`;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

// ---- page frame ------------------------------------------------------------------

const CSS = raw(`
:root { --bg:#f6f7f9; --panel:#fff; --ink:#0f172a; --muted:#64748b; --line:#e2e8f0; --zebra:#f8fafc; --accent:#3b82f6;
  --ok:#047857; --ok-bg:#d1fae5; --bad:#b91c1c; --bad-bg:#fee2e2; --warn:#b45309; --warn-bg:#fef3c7; --info:#1d4ed8; --info-bg:#dbeafe; --muted-bg:#f1f5f9; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin:0; background:var(--bg); color:var(--ink); font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
a { color:var(--info); text-decoration:none; } a:hover { text-decoration:underline; }
code, .mono { font-family: ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12.5px; }
.top { background:#0f172a; color:#e2e8f0; }
.top-inner { max-width:1240px; margin:0 auto; padding:12px 20px; display:flex; align-items:center; gap:16px; flex-wrap:wrap; }
.brand { font-weight:700; font-size:17px; letter-spacing:.2px; color:#fff; }
.brand span { font-weight:400; color:#94a3b8; margin-left:6px; }
.top .meta { color:#94a3b8; font-size:12.5px; margin-left:auto; }
.top form { margin:0; }
.top button { background:transparent; color:#e2e8f0; border:1px solid #334155; border-radius:6px; padding:5px 11px; font:inherit; cursor:pointer; }
.top button:hover { background:#1e293b; }
main { max-width:1240px; margin:0 auto; padding:20px; }
h2 { font-size:15px; margin:0 0 12px; }
h2 small { font-weight:400; color:var(--muted); margin-left:6px; }
.flash { border-radius:8px; padding:10px 14px; margin-bottom:16px; border:1px solid; }
.flash-ok { background:var(--ok-bg); color:var(--ok); border-color:#a7f3d0; }
.flash-bad { background:var(--bad-bg); color:var(--bad); border-color:#fecaca; }
.totals { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:12px; margin-bottom:20px; }
.tile { background:var(--panel); border:1px solid var(--line); border-radius:10px; padding:12px 14px; }
.tile .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.4px; }
.tile .value { font-size:24px; font-weight:650; margin-top:2px; font-variant-numeric:tabular-nums; }
.tile .sub { color:var(--muted); font-size:12.5px; font-variant-numeric:tabular-nums; }
.panel { background:var(--panel); border:1px solid var(--line); border-radius:10px; padding:16px; margin-bottom:20px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(300px,1fr)); gap:12px; margin-bottom:20px; }
.card { background:var(--panel); border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
.card-head { display:flex; align-items:baseline; justify-content:space-between; gap:8px; margin-bottom:10px; }
.card-head .name { font-weight:650; word-break:break-all; }
.card-head .count { color:var(--muted); white-space:nowrap; font-variant-numeric:tabular-nums; }
.rates { display:grid; grid-template-columns:auto 1fr auto; gap:6px 10px; align-items:center; margin:0 0 10px; }
.rates dt { color:#334155; }
.rates dd { margin:0; text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.meter { height:6px; background:var(--muted-bg); border-radius:3px; overflow:hidden; }
.meter i { display:block; height:100%; background:var(--accent); border-radius:3px; }
.meter.lower i { background:#f59e0b; }
.statuses { display:flex; flex-wrap:wrap; gap:6px; }
.badge { display:inline-block; border-radius:999px; padding:1px 8px; font-size:12px; font-weight:550; white-space:nowrap; }
.badge b { font-weight:700; margin-left:3px; }
.badge-ok { background:var(--ok-bg); color:var(--ok); }
.badge-bad { background:var(--bad-bg); color:var(--bad); }
.badge-warn { background:var(--warn-bg); color:var(--warn); }
.badge-info { background:var(--info-bg); color:var(--info); }
.badge-dead { background:#1f2937; color:#f9fafb; }
.badge-muted { background:var(--muted-bg); color:#475569; }
/* Two drawings of the chart: 30 days for wide screens, the last 14 drawn for a phone; each fits its screen whole. */
.chart { width:100%; height:auto; display:block; }
.chart-narrow { display:none; }
.chart text { font-size:12px; fill:#475569; font-family:inherit; }
.chart .legend text { font-size:13px; fill:#0f172a; }
.chart rect.bar:hover { opacity:.8; }
details.numbers { margin-top:8px; } details.numbers summary { cursor:pointer; color:var(--muted); font-size:12.5px; }
.scroll { overflow-x:auto; -webkit-overflow-scrolling:touch; }
table.data { width:100%; border-collapse:collapse; }
table.data th { text-align:left; font-size:12px; text-transform:uppercase; letter-spacing:.4px; color:var(--muted); font-weight:600; padding:8px 10px; border-bottom:1px solid var(--line); white-space:nowrap; }
table.data td { padding:8px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
table.data tbody tr:nth-child(even) { background:var(--zebra); }
table.data tbody tr:hover { background:#eef2ff; }
table.data .num { text-align:right; font-variant-numeric:tabular-nums; }
table.data .when { white-space:nowrap; color:#334155; font-variant-numeric:tabular-nums; }
table.data .reason { color:#475569; max-width:360px; overflow-wrap:anywhere; }
table.data td.empty { text-align:center; color:var(--muted); padding:18px; }
table.compact td, table.compact th { padding:4px 10px; }
.sub-line { color:var(--muted); font-size:12px; }
.error-text { margin:0; white-space:pre-wrap; overflow-wrap:anywhere; font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px; color:#7f1d1d; max-width:560px; }
details.error summary { cursor:pointer; list-style:none; } details.error summary::-webkit-details-marker { display:none; }
details.error[open] summary .more { display:none; }
.more { color:var(--info); font-size:12px; }
button.retry { background:var(--ink); color:#fff; border:0; border-radius:6px; padding:6px 12px; font:inherit; font-weight:550; cursor:pointer; white-space:nowrap; }
button.retry:hover { background:#1e293b; }
.login { max-width:380px; margin:12vh auto; background:var(--panel); border:1px solid var(--line); border-radius:12px; padding:28px; }
.login h1 { font-size:20px; margin:0 0 4px; } .login p { color:var(--muted); margin:0 0 18px; }
.login label { display:block; font-weight:600; margin-bottom:6px; }
.login input[type=password] { width:100%; padding:9px 11px; border:1px solid #cbd5e1; border-radius:7px; font:inherit; }
.login input[type=password]:focus { outline:2px solid #93c5fd; border-color:var(--accent); }
.login button { margin-top:14px; width:100%; padding:10px; border:0; border-radius:7px; background:var(--ink); color:#fff; font:inherit; font-weight:600; cursor:pointer; }
.login .flash { margin-bottom:14px; }
nav.tabs { display:flex; gap:4px; flex-wrap:wrap; }
nav.tabs a { color:#cbd5e1; padding:5px 10px; border-radius:6px; font-weight:550; }
nav.tabs a:hover { background:#1e293b; text-decoration:none; }
nav.tabs a[aria-current=page] { background:#334155; color:#fff; }
.banner { border-radius:8px; padding:10px 14px; margin-bottom:12px; border:1px solid; }
.banner strong { display:block; }
.banner-bad { background:var(--bad-bg); color:#7f1d1d; border-color:#fecaca; }
.banner-warn { background:var(--warn-bg); color:#78350f; border-color:#fde68a; }
.banner-info { background:var(--info-bg); color:#1e3a8a; border-color:#bfdbfe; }
.banner .detail { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px; overflow-wrap:anywhere; }
form.filters { display:flex; flex-wrap:wrap; gap:10px; align-items:flex-end; margin-bottom:14px; }
form.filters label { display:flex; flex-direction:column; font-size:12px; color:var(--muted); gap:3px; }
form.filters select, form.filters input { font:inherit; padding:5px 8px; border:1px solid #cbd5e1; border-radius:6px; background:#fff; min-width:150px; }
form.filters button { font:inherit; padding:6px 14px; border:0; border-radius:6px; background:var(--ink); color:#fff; cursor:pointer; }
.pager { display:flex; gap:12px; align-items:center; margin-top:12px; color:var(--muted); }
dl.kv { display:grid; grid-template-columns:max-content 1fr; gap:6px 16px; margin:0; }
dl.kv dt { color:var(--muted); } dl.kv dd { margin:0; overflow-wrap:anywhere; }
pre.block { margin:0; padding:12px; background:#0f172a; color:#e2e8f0; border-radius:8px; overflow:auto; max-height:480px; font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px; white-space:pre; }
pre.block .add { color:#86efac; } pre.block .del { color:#fca5a5; } pre.block .hunk { color:#93c5fd; }
.empty-note { color:var(--muted); margin:0; }
.tile .why { color:var(--muted); font-size:12px; margin-top:4px; }
a.tile { display:block; color:inherit; } a.tile:hover { border-color:var(--accent); text-decoration:none; }
.crumbs { margin:0 0 12px; }
a.gh { font-size:12px; color:var(--muted); }
.narrow-only { display:none; }
.top nav.tabs { flex:1 1 auto; }
.reason { color:#475569; overflow-wrap:anywhere; }
@media (max-width:640px) {
  .chart-wide { display:none; }
  .chart-narrow { display:block; }
  .narrow-only { display:inline; }
  dl.kv { grid-template-columns:1fr; gap:2px; } dl.kv dd { margin-bottom:8px; }
  form.filters select, form.filters input { min-width:0; width:100%; }
  form.filters label { flex:1 1 140px; }
  main { padding:12px; }
  .top-inner { padding:10px 12px; }
  .top .meta { margin-left:0; width:100%; order:3; }
  .cards { grid-template-columns:1fr; }
  .totals { grid-template-columns:repeat(2,1fr); }
  table.stack thead { display:none; }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display:block; width:100%; }
  table.stack tr { padding:8px 4px; border-bottom:1px solid var(--line); }
  table.data.stack td { border:0; padding:3px 0; text-align:left; max-width:none; }
  table.data.stack td[data-label] { position:relative; padding-left:84px; min-height:22px; }
  table.stack td[data-label]::before { content:attr(data-label); position:absolute; left:0; top:5px; color:var(--muted); font-size:11px; text-transform:uppercase; letter-spacing:.4px; }
  table.stack td.blank { display:none; }
  table.stack td.action { padding-top:6px; }
  .error-text { max-width:none; }
}
`);

export function page(title: string, body: Markup): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="data:,">
<title>${title}</title>
<style>${CSS}</style>
</head>
<body>
${body}
</body>
</html>
`.text;
}

// ---- login and errors ----------------------------------------------------------------

export function renderLoginPage(options: { error?: string; loggedOut?: boolean } = {}): string {
  const flash = options.error
    ? html`<div class="flash flash-bad" role="alert">${options.error}</div>`
    : options.loggedOut
      ? html`<div class="flash flash-ok" role="status">You are logged out.</div>`
      : null;
  return page(
    "fixloop · log in",
    html`<main><form class="login" method="post" action="/fixloop/login">
  <h1>fixloop</h1>
  <p>Outcomes dashboard. Log in with the admin token (FIXLOOP_ADMIN_TOKEN).</p>
  ${flash}
  <label for="token">Admin token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  <button type="submit">Log in</button>
</form></main>`,
  );
}

export function renderMessagePage(title: string, message: string, options: { loginLink?: boolean } = {}): string {
  return page(
    `fixloop · ${title}`,
    html`<main><div class="login"><h1>${title}</h1><p>${message}</p>${options.loginLink ? html`<p><a href="/fixloop/login">Log in</a></p>` : null}</div></main>`,
  );
}

// ---- shared by the pages --------------------------------------------------------------

export function csrfField(token: string): Markup {
  return html`<input type="hidden" name="csrf" value="${token}">`;
}

export function jobSubject(job: Job): string | null {
  const payload = job.payload as Record<string, unknown> | null;
  if (!payload || typeof payload !== "object") return null;
  const parts = [typeof payload.repo === "string" ? payload.repo : null, typeof payload.runId === "string" ? `run ${payload.runId}` : null];
  const text = parts.filter(Boolean).join(" · ");
  return text === "" ? null : text;
}

export function errorCell(reason: string | null): Markup {
  if (!reason) return html`<span class="sub-line">no error recorded</span>`;
  const firstLine = reason.split("\n")[0];
  if (reason.length <= 200 && firstLine === reason) return html`<pre class="error-text">${reason}</pre>`;
  return html`<details class="error"><summary><pre class="error-text">${truncate(firstLine, 200)}</pre><span class="more">show all</span></summary><pre class="error-text">${truncate(reason, 4000)}</pre></details>`;
}
