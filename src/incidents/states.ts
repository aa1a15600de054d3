import { IncidentError } from './errors.js';

/**
 * The life of an incident, after NIST SP 800-61r2 §3 (detection & analysis → containment →
 * eradication → recovery → post-incident activity): `triage` while it is analysed, then the
 * three steps of §3.3, then `closed`. Work may skip steps (an incident contained and eradicated
 * by the same act), so a change moves forward one or several steps; never back, except that a
 * closed incident may be reopened — to `triage`, with a reason — when it turns out not to be
 * over (§3.4: lessons learned often show more affected systems).
 */
export const incidentStates = ['triage', 'contained', 'eradicated', 'recovered', 'closed'] as const;
export type IncidentState = (typeof incidentStates)[number];

const rank = (state: IncidentState): number => incidentStates.indexOf(state);

export const isIncidentState = (value: unknown): value is IncidentState => typeof value === 'string' && (incidentStates as readonly string[]).includes(value);

const conflict = (message: string) => new IncidentError('incident-state-conflict', message, { status: 409, expose: true });

/**
 * Checks a change of state and returns the reason as it will be recorded. Closing needs a
 * resolution note and reopening a reason (the timeline keeps both); other steps may carry one.
 */
export function checkTransition(from: IncidentState, to: IncidentState, reason: string): string {
  const why = reason.trim();
  if (from === to) throw conflict(`The incident is already ${to}.`);
  if (from === 'closed') {
    if (to !== 'triage') throw conflict('A closed incident is reopened to triage, nothing else.');
    if (why === '') throw conflict('Reopening needs a reason: what showed the incident is not over.');
    return why;
  }
  if (rank(to) < rank(from)) throw conflict(`An incident moves forward (${incidentStates.join(' → ')}); from ${from} it cannot go back to ${to}. Close it and reopen it if it must start over.`);
  if (to === 'closed' && why === '') throw conflict('Closing needs a resolution note: what happened and what was done.');
  return why;
}
