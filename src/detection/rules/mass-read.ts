import { createHash } from 'node:crypto';
import type { EventRule } from '../types.js';
import { principalKey, principalOf, recordAccesses } from './principal.js';
import { advance, crossed, type Window } from './window.js';

/**
 * A small clinic's day: a nurse or doctor opens the records of 30–80 patients, a front desk
 * perhaps 100; 200 distinct patients in a day by one person is a list being walked. Service keys
 * and apps' service tokens (lab interfaces, sync jobs, the practice system) read the whole
 * register by design: they get their own, much higher ceiling by role (`serviceRoles`), and the
 * baseline below catches one that suddenly reads far beyond its own habit.
 */
const defaults = {
  /** The counting window: a working day. */
  windowMinutes: 24 * 60,
  /** Fires at this many distinct patients in a window (people and every role not listed below). */
  patients: 200,
  /** Roles (`actor.role`) of machines: they are held to `servicePatients` instead. */
  serviceRoles: ['service', 'service-reader'] as readonly string[],
  servicePatients: 5000,
  /** After this many past windows with reads, the principal's own habit counts too … */
  baselineWindows: 5,
  /** … it fires at `baselineFactor` × its usual distinct patients per window (an EWMA) … */
  baselineFactor: 3,
  /** … but never below this many (a part-timer's 5 a day tripled is still an ordinary day). */
  baselineFloor: 40,
  /** The EWMA's weight of the newest window (0–1): 0.3 forgets a habit over about a week of windows. */
  smoothing: 0.3,
};

export interface MassReadState {
  /** The current window; `distinct` holds its patients' marks (at most the limit in effect). */
  readonly window?: Window;
  /** The principal's usual distinct patients per window (EWMA over past windows with reads). */
  readonly baseline?: number;
  /** Past windows folded into the baseline. */
  readonly windows: number;
}

type Config = typeof defaults;

// The marks of patients seen lately: a clinic's reads return to the same few hundred patients
// all day, and hashing each read's patient again was a tenth of this rule's time.
const recentMarks = new Map<string, string>();

/**
 * A patient as the window remembers it: 72 bits of its id's SHA-256, enough to tell thousands of
 * patients apart (a collision among 5000 is about 1 in 10^14) and a third of the id's size, which
 * matters for a service key's window of thousands, rewritten with every batch.
 */
const patientMark = (subject: string): string => {
  let mark = recentMarks.get(subject);
  if (mark === undefined) {
    mark = createHash('sha256').update(subject).digest('base64url').slice(0, 12);
    // Bounded: a register larger than this is hashed again as it is walked.
    if (recentMarks.size >= 20_000) recentMarks.clear();
    recentMarks.set(subject, mark);
  }
  return mark;
};

// The set of a window's marks, remembered per list (lists are never changed, only replaced): a
// membership test per event instead of a new set built from thousands of marks each time.
const marks = new WeakMap<readonly string[], Set<string>>();
function marksOf(list: readonly string[]): Set<string> {
  let set = marks.get(list);
  if (set === undefined) {
    set = new Set(list);
    marks.set(list, set);
  }
  return set;
}

/** The distinct patients at which this principal's window fires, now. */
export function massReadLimit(role: string, state: MassReadState | undefined, config: Config): number {
  const ceiling = config.serviceRoles.includes(role) ? config.servicePatients : config.patients;
  if (state?.baseline === undefined || state.windows < config.baselineWindows) return ceiling;
  return Math.min(ceiling, Math.max(config.baselineFloor, Math.ceil(config.baselineFactor * state.baseline)));
}

/**
 * Mass reading: one principal (a person, an API key, an app) opening the records of far more
 * distinct patients than its ceiling or its own baseline — the pattern of a stolen account or
 * key walking the register, or of curiosity (OWASP ASVS 5 V16.3.2 logs, NIST SP 800-92 §4.3
 * baselines; an insider's "snooping" is the commonest health-data breach).
 */
export const massRead: EventRule<MassReadState, Config> = {
  kind: 'event',
  id: 'access.mass-read',
  severity: 'high',
  title: 'Records of unusually many patients read',
  describe: 'One person, API key or app read the records of far more different patients than usual within a day: an account or key may be misused to copy the register, or someone is looking at patients who are not theirs.',
  defaults,
  realms: 'tenants',
  actions: [...recordAccesses],
  key: (event) => (event.outcome === 'success' && event.subjects.length > 0 ? principalKey(event) : undefined),
  evaluate(event, state, config) {
    if (event.outcome !== 'success' || event.subjects.length === 0) return {};
    let previous = state ?? { windows: 0 };
    const open = previous.window;
    if (open !== undefined && (event.at - open.start >= config.windowMinutes * 60_000 || event.at < open.start)) {
      // The window ended: its distinct patients join the principal's habit.
      const seen = open.distinct.length;
      const baseline = previous.baseline === undefined ? seen : config.smoothing * seen + (1 - config.smoothing) * previous.baseline;
      previous = { baseline, windows: previous.windows + 1 };
    }
    const limit = massReadLimit(event.actor.role, previous, config);
    const advanced = advance(previous.window, event, config.windowMinutes);
    // Bounded: past the limit more patients change nothing (the window has fired by then). The
    // list is copied only when a patient is new to the window: most reads are of patients seen.
    let distinct = advanced.distinct;
    let seen = marksOf(distinct);
    for (const subject of event.subjects) {
      if (distinct.length >= limit) break;
      const mark = patientMark(subject);
      if (seen.has(mark)) continue;
      // New list, new set: the old state's list and set stay as they were.
      distinct = [...distinct, mark];
      seen = new Set(seen).add(mark);
      marks.set(distinct, seen);
    }
    const { window, evidence } = crossed(distinct === advanced.distinct ? advanced : { ...advanced, distinct }, distinct.length, limit, event.seq);
    const next: MassReadState = previous.baseline === undefined ? { windows: previous.windows, window } : { baseline: previous.baseline, windows: previous.windows, window };
    if (evidence === undefined) return { state: next };
    const { name } = principalOf(event);
    const usual = previous.baseline === undefined || previous.windows < config.baselineWindows ? '' : `, usually about ${Math.round(previous.baseline)}`;
    return { state: next, findings: [{ subject: name, summary: `${name} (${event.actor.role}) read records of ${distinct.length} or more different patients within ${config.windowMinutes / 60} hours (limit ${limit}${usual})`, evidence }] };
  },
};
