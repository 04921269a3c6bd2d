/**
 * The daily chart as inline SVG, rendered on the server: grouped bars per day
 * (attempts opened, CI passed, merged), a y axis with round ticks, date labels
 * and a legend. No script, no library; it scales with its container.
 */
import type { DailyPoint } from "../../outcomes/stats.js";
import { html, type Markup } from "./html.js";

export const SERIES = [
  { key: "opened", label: "Attempts opened", colour: "#3b82f6" },
  { key: "ciPassed", label: "CI passed", colour: "#10b981" },
  { key: "merged", label: "Merged", colour: "#8b5cf6" },
] as const;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "2024-05-02" → "May 2". */
export function shortDay(day: string): string {
  const [, month, date] = day.split("-").map(Number);
  return `${MONTHS[month - 1]} ${date}`;
}

/** Round tick step (1, 2, 5 × 10^k) giving at most `maxTicks` steps up to `max`, and the axis top. */
export function niceScale(max: number, maxTicks = 5): { step: number; top: number } {
  if (max <= 0) return { step: 1, top: 1 };
  const rough = max / maxTicks;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough && Number.isInteger(s)) ?? Math.max(1, Math.ceil(rough));
  return { step, top: Math.ceil(max / step) * step };
}

const WIDTH = 960;
const HEIGHT = 300;
const MARGIN = { left: 56, right: 12, top: 44, bottom: 34 };

const fmt = (n: number) => String(Math.round(n * 10) / 10);

export function renderChart(points: readonly DailyPoint[]): Markup {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const max = Math.max(0, ...points.flatMap((p) => SERIES.map((s) => p[s.key])));
  const { step, top } = niceScale(max);
  const y = (value: number) => MARGIN.top + plotHeight - (value / top) * plotHeight;
  const slot = plotWidth / Math.max(1, points.length);
  const barWidth = Math.max(1, Math.min(10, (slot - 4) / SERIES.length));
  const groupOffset = (slot - barWidth * SERIES.length) / 2;

  const ticks = [];
  for (let value = 0; value <= top; value += step) {
    ticks.push(html`<g class="tick">
      <line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${fmt(y(value))}" y2="${fmt(y(value))}" stroke="${value === 0 ? "#94a3b8" : "#e2e8f0"}" stroke-width="1"/>
      <text x="${MARGIN.left - 8}" y="${fmt(y(value) + 4)}" text-anchor="end">${value}</text>
    </g>`);
  }

  const labelEvery = Math.max(1, Math.ceil(points.length / 8));
  const bars = points.map((point, i) => {
    const x0 = MARGIN.left + i * slot + groupOffset;
    const rects = SERIES.map((series, k) => {
      const value = point[series.key];
      if (value === 0) return null;
      return html`<rect class="bar bar-${series.key}" x="${fmt(x0 + k * barWidth)}" y="${fmt(y(value))}" width="${fmt(barWidth - 1)}" height="${fmt(y(0) - y(value))}" fill="${series.colour}" rx="1.5"><title>${shortDay(point.day)}: ${value} ${series.label.toLowerCase()}</title></rect>`;
    });
    // Counted back from today, so the newest day always has its date.
    const labelled = (points.length - 1 - i) % labelEvery === 0;
    const label = labelled ? html`<text class="day" x="${fmt(MARGIN.left + i * slot + slot / 2)}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle">${shortDay(point.day)}</text>` : null;
    return html`<g class="day-group" data-day="${point.day}">${rects}${label}</g>`;
  });

  // Labels are short constants: about 8 px per character at 13 px is room enough.
  let legendX = MARGIN.left;
  const legend = SERIES.map((series) => {
    const item = html`<g class="legend-item" transform="translate(${legendX}, 14)">
      <rect width="12" height="12" rx="2" fill="${series.colour}"/><text x="18" y="10">${series.label}</text>
    </g>`;
    legendX += 18 + series.label.length * 8 + 24;
    return item;
  });

  const totals = SERIES.map((series) => `${points.reduce((sum, p) => sum + p[series.key], 0)} ${series.label.toLowerCase()}`).join(", ");
  const range = points.length > 0 ? `${shortDay(points[0].day)} to ${shortDay(points[points.length - 1].day)}` : "no days";
  return html`<svg class="chart" role="img" aria-labelledby="chart-title chart-desc" viewBox="0 0 ${WIDTH} ${HEIGHT}" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">
    <title id="chart-title">Fix attempts and outcomes per day, last ${points.length} days (UTC)</title>
    <desc id="chart-desc">${range}: ${totals}.</desc>
    <g class="legend">${legend}</g>
    <g class="axis">${ticks}<text class="axis-label" transform="translate(14, ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">count per day</text></g>
    <g class="bars">${bars}</g>
  </svg>`;
}

/** The same numbers as a table, for screen readers and copying. */
export function renderChartTable(points: readonly DailyPoint[]): Markup {
  const rows = [...points].reverse().filter((p) => SERIES.some((s) => p[s.key] > 0));
  return html`<table class="data compact">
    <thead><tr><th scope="col">Day (UTC)</th>${SERIES.map((s) => html`<th scope="col" class="num">${s.label}</th>`)}</tr></thead>
    <tbody>${rows.length === 0 ? html`<tr><td colspan="4" class="empty">No activity in this window.</td></tr>` : rows.map((p) => html`<tr><td>${p.day}</td>${SERIES.map((s) => html`<td class="num">${p[s.key]}</td>`)}</tr>`)}</tbody>
  </table>`;
}
