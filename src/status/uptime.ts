import { componentStates, type ComponentId, type ComponentState, type DayBucket } from './types.js';

/** One probe result: a component's state at a moment. */
export interface Sample {
  readonly component: ComponentId;
  readonly at: number;
  readonly state: ComponentState;
}

const dayMs = 86_400_000;
export const dayOf = (at: number): string => new Date(at).toISOString().slice(0, 10);

export const emptyCounts = (): Record<ComponentState, number> => Object.fromEntries(componentStates.map((s) => [s, 0])) as Record<ComponentState, number>;

/**
 * Samples folded into per-day buckets (UTC), added to what is there: the compaction that keeps
 * 90 days as 90 rows per component instead of 130,000 minutes.
 */
export function compactSamples(buckets: readonly DayBucket[], samples: readonly Sample[]): DayBucket[] {
  const byKey = new Map<string, { component: ComponentId; day: string; counts: Record<ComponentState, number> }>();
  for (const b of buckets) byKey.set(`${b.component}|${b.day}`, { component: b.component, day: b.day, counts: { ...b.counts } });
  for (const s of samples) {
    const day = dayOf(s.at);
    const key = `${s.component}|${day}`;
    let bucket = byKey.get(key);
    if (bucket === undefined) byKey.set(key, (bucket = { component: s.component, day, counts: emptyCounts() }));
    bucket.counts[s.state] += 1;
  }
  return [...byKey.values()].sort((a, b) => (a.day === b.day ? a.component.localeCompare(b.component) : a.day.localeCompare(b.day)));
}

/**
 * The share of a day a component served: maintenance announced beforehand counts as up (it was
 * promised, not suffered), degraded performance counts as up, a partial outage as half, a major
 * outage as down — Statuspage's weighting. Undefined when nothing was measured that day.
 */
export function uptimeOf(counts: Readonly<Record<ComponentState, number>>): number | undefined {
  const total = componentStates.reduce((n, s) => n + counts[s], 0);
  if (total === 0) return undefined;
  return (counts.operational + counts.degraded_performance + counts.under_maintenance + counts.partial_outage * 0.5) / total;
}

const severity: readonly ComponentState[] = ['operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage'];

/** The worst state seen in a day (the bar's colour). */
export function worstOf(counts: Readonly<Record<ComponentState, number>>): ComponentState | undefined {
  let worst: ComponentState | undefined;
  for (const s of severity) if (counts[s] > 0) worst = s;
  return worst;
}

export interface UptimeBar {
  readonly day: string;
  readonly uptime: number | undefined;
  readonly worst: ComponentState | undefined;
}

/** The last `days` days of one component, oldest first, ending with today; a day without samples has no data. */
export function uptimeBars(buckets: readonly DayBucket[], component: ComponentId, now: number, days = 90): UptimeBar[] {
  const mine = new Map(buckets.filter((b) => b.component === component).map((b) => [b.day, b.counts]));
  const bars: UptimeBar[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const day = dayOf(now - i * dayMs);
    const counts = mine.get(day);
    bars.push({ day, uptime: counts === undefined ? undefined : uptimeOf(counts), worst: counts === undefined ? undefined : worstOf(counts) });
  }
  return bars;
}

/** Uptime over the bars that have data (the figure beside the bars). */
export function uptimeOverall(buckets: readonly DayBucket[], component: ComponentId, now: number, days = 90): number | undefined {
  const since = dayOf(now - (days - 1) * dayMs);
  const total = emptyCounts();
  for (const b of buckets) if (b.component === component && b.day >= since) for (const s of componentStates) total[s] += b.counts[s];
  return uptimeOf(total);
}
