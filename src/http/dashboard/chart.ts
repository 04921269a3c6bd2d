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

export interface ChartLayout {
  /** A class beside `chart` (the page shows one drawing per screen size). */
  name: string;
  width: number;
  height: number;
  /** Day labels at most this many. */
  maxLabels: number;
}

/** For a desktop: 30 days across. A phone gets its own drawing of the last 14 days, in its own proportions. */
export const WIDE_CHART: ChartLayout = { name: "chart-wide", width: 960, height: 300, maxLabels: 8 };
export const NARROW_CHART: ChartLayout = { name: "chart-narrow", width: 360, height: 300, maxLabels: 4 };

const LEGEND_ROW = 20;

const fmt = (n: number) => String(Math.round(n * 10) / 10);

/** Legend items left to right, wrapping onto a new row rather than running off the drawing. */
function legendPositions(width: number, left: number): { x: number; y: number }[] {
  let x = left;
  let y = 14;
  return SERIES.map((series) => {
    // Labels are short constants: about 8 px per character at 13 px is room enough.
    const itemWidth = 18 + series.label.length * 8;
    if (x > left && x + itemWidth > width - 8) {
      x = left;
      y += LEGEND_ROW;
    }
    const at = { x, y };
    x += itemWidth + 24;
    return at;
  });
}

export function renderChart(points: readonly DailyPoint[], layout: ChartLayout = WIDE_CHART): Markup {
  const WIDTH = layout.width;
  const HEIGHT = layout.height;
  const legendAt = legendPositions(WIDTH, 12);
  const MARGIN = { left: 44, right: 12, top: legendAt[legendAt.length - 1].y + 30, bottom: 34 };
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

  const labelEvery = Math.max(1, Math.ceil(points.length / layout.maxLabels));
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

  const legend = SERIES.map(
    (series, i) => html`<g class="legend-item" transform="translate(${legendAt[i].x}, ${legendAt[i].y})">
      <rect width="12" height="12" rx="2" fill="${series.colour}"/><text x="18" y="10">${series.label}</text>
    </g>`,
  );

  const totals = SERIES.map((series) => `${points.reduce((sum, p) => sum + p[series.key], 0)} ${series.label.toLowerCase()}`).join(", ");
  const range = points.length > 0 ? `${shortDay(points[0].day)} to ${shortDay(points[points.length - 1].day)}` : "no days";
  const id = layout.name;
  return html`<svg class="chart ${layout.name}" role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${WIDTH} ${HEIGHT}" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">
    <title id="${id}-title">Fix attempts and outcomes per day, last ${points.length} days (UTC)</title>
    <desc id="${id}-desc">${range}: ${totals}.</desc>
    <g class="legend">${legend}</g>
    <g class="axis">${ticks}<text class="axis-label" transform="translate(12, ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">count per day</text></g>
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
