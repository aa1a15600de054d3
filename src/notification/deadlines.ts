/** When a deadline's alerts fire: two thirds of the time gone (48 h of 72 h), nine tenths, and past it. */
export const deadlineStages = ['two-thirds', 'ninety', 'overdue'] as const;
export type DeadlineStage = (typeof deadlineStages)[number];

const fractions: Readonly<Record<Exclude<DeadlineStage, 'overdue'>, number>> = { 'two-thirds': 2 / 3, ninety: 0.9 };

/** The alert's severity per stage: louder as time runs out. */
export const stageSeverity: Readonly<Record<DeadlineStage, 'medium' | 'high' | 'critical'>> = { 'two-thirds': 'medium', ninety: 'high', overdue: 'critical' };

/** The stage reached at `now` for a deadline running from `awareAt` to `dueAt`; undefined before two thirds. */
export function stageAt(awareAt: number, dueAt: number, now: number): DeadlineStage | undefined {
  if (now > dueAt) return 'overdue';
  const span = Math.max(0, dueAt - awareAt);
  if (now >= awareAt + span * fractions.ninety) return 'ninety';
  if (now >= awareAt + span * fractions['two-thirds']) return 'two-thirds';
  return undefined;
}

/**
 * `41 h 40 min`, `5 d 4 h`, `12 min`: the largest two units, rounded down. Hours up to four
 * days: the 72 hours of GDPR Art. 33 are counted in hours.
 */
export function spanText(ms: number): string {
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  const d = Math.floor(minutes / 1440);
  const m = minutes % 60;
  if (minutes >= 96 * 60) {
    const h = Math.floor((minutes % 1440) / 60);
    return h > 0 ? `${d} d ${h} h` : `${d} d`;
  }
  const h = Math.floor(minutes / 60);
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  return `${m} min`;
}

/** A countdown as words: `due in 23 h 40 min` or `overdue by 2 h`. */
export function countdown(dueAt: number, now: number, language: 'en' | 'de' = 'en'): string {
  const left = dueAt - now;
  if (language === 'de') return left >= 0 ? `fällig in ${spanText(left)}` : `überfällig seit ${spanText(left)}`;
  return left >= 0 ? `due in ${spanText(left)}` : `overdue by ${spanText(left)}`;
}
