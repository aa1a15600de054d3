/**
 * A counting window for rules: starts at the first event, holds `windowMinutes`, counts events
 * and, when asked, distinct values (accounts, patients, addresses) — bounded, so a flood cannot
 * grow the state: past `cap` distinct values only the count grows. Plain JSON (stored as the
 * rule's state by the engine).
 */
export interface Window {
  readonly start: number;
  readonly count: number;
  /** Distinct values seen in the window, at most `cap`. */
  readonly distinct: readonly string[];
  /** Sequence numbers of the window's first events (the evidence an alert links to), at most 20. */
  readonly evidence: readonly number[];
  /** Set once the window crossed its threshold: later events in it add to the alert one by one. */
  readonly raised?: boolean;
}

const evidenceKept = 20;

/** The window after `event`: a fresh one when the old one ended. */
export function advance(window: Window | undefined, event: { readonly at: number; readonly seq: number }, windowMinutes: number, value?: string, cap = 1000): Window {
  const current = window === undefined || event.at - window.start >= windowMinutes * 60_000 || event.at < window.start ? { start: event.at, count: 0, distinct: [], evidence: [] } : window;
  const distinct = value === undefined || current.distinct.includes(value) || current.distinct.length >= cap ? current.distinct : [...current.distinct, value];
  const evidence = current.evidence.length >= evidenceKept ? current.evidence : [...current.evidence, event.seq];
  return { ...current, count: current.count + 1, distinct, evidence };
}

/**
 * Whether `measure` crossed `threshold` with this event: the first time a finding with the
 * window's evidence; afterwards in the same window, one finding per event (the alert counts).
 */
export function crossed(window: Window, measure: number, threshold: number, seq: number): { window: Window; evidence?: readonly number[] } {
  if (measure < threshold) return { window };
  if (window.raised === true) return { window, evidence: [seq] };
  return { window: { ...window, raised: true }, evidence: window.evidence };
}
