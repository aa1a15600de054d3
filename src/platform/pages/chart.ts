import { html, raw, type Html } from './html.js';
import { formatDate, formatDateTime, formatNumber, type Locale } from './i18n.js';

/**
 * A measurement over time as an SVG line chart, rendered on the server: no script, no library,
 * nothing the CSP has to allow (presentation attributes and classes only — no `style`). The
 * chart is an image with a text alternative (its title, unit, range and count); every point
 * carries its value and date as a tooltip `<title>`. Pages show the same values in a table, which
 * is what a screen reader or a print-out uses (WCAG 2.2, 1.1.1).
 */
export interface ChartPoint {
  readonly at: Date;
  readonly value: number;
}

export interface ChartInput {
  readonly locale: Locale;
  /** What is measured, e.g. "Body weight". */
  readonly title: string;
  /** UCUM or display unit, e.g. "kg". */
  readonly unit: string;
  readonly points: readonly ChartPoint[];
  /** A unique id on the page (ties the SVG to its title and description). */
  readonly id: string;
  readonly timeZone?: string;
}

const size = { width: 720, height: 300, left: 64, right: 16, top: 16, bottom: 48 } as const;

/** About `count` round steps covering [min, max] (1, 2 or 5 × 10^n). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const rough = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step / 1e9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const round = (n: number) => Math.round(n * 10) / 10;

export function timeSeriesChart(input: ChartInput): Html {
  const points = [...input.points].filter((p) => Number.isFinite(p.value) && !Number.isNaN(p.at.getTime())).sort((a, b) => a.at.getTime() - b.at.getTime());
  const { width, height, left, right, top, bottom } = size;
  const first = points[0];
  const last = points[points.length - 1];
  if (first === undefined || last === undefined) return html``;
  const values = points.map((p) => p.value);
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (low === high) {
    low -= Math.abs(low) * 0.05 || 1;
    high += Math.abs(high) * 0.05 || 1;
  }
  // The axis runs from a round tick at or below the lowest value to one at or above the highest,
  // so no point sits above the top label or below the bottom one.
  const yTicks = niceTicks(low, high);
  const step = yTicks.length > 1 ? (yTicks[1] as number) - (yTicks[0] as number) : 0;
  if (step > 0 && (yTicks[0] as number) > low) yTicks.unshift(Number(((yTicks[0] as number) - step).toPrecision(12)));
  if (step > 0 && (yTicks[yTicks.length - 1] as number) < high) yTicks.push(Number(((yTicks[yTicks.length - 1] as number) + step).toPrecision(12)));
  low = Math.min(low, yTicks[0] ?? low);
  high = Math.max(high, yTicks[yTicks.length - 1] ?? high);
  const t0 = first.at.getTime();
  const t1 = last.at.getTime() === t0 ? t0 + 86_400_000 : last.at.getTime();
  const x = (at: Date) => round(left + ((at.getTime() - t0) / (t1 - t0)) * (width - left - right));
  const y = (value: number) => round(top + (1 - (value - low) / (high - low)) * (height - top - bottom));
  const xTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => new Date(t0 + f * (t1 - t0)));
  const timeZone = input.timeZone ?? 'UTC';
  const describe = `${input.title} (${input.unit}): ${formatNumber(input.locale, Math.min(...values))}–${formatNumber(input.locale, Math.max(...values))} ${input.unit}, ${points.length} × ${formatDate(input.locale, first.at, timeZone)} – ${formatDate(input.locale, last.at, timeZone)}`;
  const line = points.map((p) => `${x(p.at)},${y(p.value)}`).join(' ');
  return html`<figure class="chart">
<svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${input.id}-title ${input.id}-desc" xmlns="http://www.w3.org/2000/svg">
<title id="${input.id}-title">${input.title}</title>
<desc id="${input.id}-desc">${describe}</desc>
${yTicks.map((v) => html`<line class="grid" x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}"/><text x="${left - 8}" y="${y(v) + 4}" text-anchor="end">${formatNumber(input.locale, v)}</text>`)}
<line class="axis" x1="${left}" x2="${left}" y1="${top}" y2="${height - bottom}"/>
<line class="axis" x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}"/>
${xTicks.map((at, i) => html`<text x="${x(at)}" y="${height - bottom + 20}" text-anchor="${i === 0 ? 'start' : i === xTicks.length - 1 ? 'end' : 'middle'}">${formatDate(input.locale, at, timeZone)}</text>`)}
<text x="${left}" y="${height - 6}">${input.unit}</text>
${points.length > 1 ? html`<polyline class="line" points="${line}"/>` : undefined}
${points.length <= 400 ? points.map((p) => html`<circle class="point" cx="${x(p.at)}" cy="${y(p.value)}" r="3"><title>${formatNumber(input.locale, p.value)} ${input.unit}, ${formatDateTime(input.locale, p.at, timeZone)}</title></circle>`) : raw('')}
</svg>
<figcaption class="hint">${describe}</figcaption>
</figure>`;
}
