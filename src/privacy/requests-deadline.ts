/**
 * The clock of a data subject's request (GDPR Art. 12(3)): an answer "without undue delay and in
 * any event within one month of receipt", extendable "by two further months where necessary,
 * taking into account the complexity and number of the requests", the subject told of the
 * extension and its reasons within the first month. A month is a calendar month, counted as the
 * CJEU and EU Regulation 1182/71 Art. 3(2)(c) count periods: the same day of the next month, or
 * that month's last day when it has no such day (31 January → 28/29 February).
 */

/** `at` plus `months` calendar months (UTC), clamped to the target month's last day. */
export function addCalendarMonths(at: number, months: number): number {
  if (!Number.isInteger(months)) throw new TypeError('months: a whole number');
  const date = new Date(at);
  const day = date.getUTCDate();
  const target = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1, date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return target.getTime();
}

/** The first due date: one calendar month after receipt. */
export const firstDueAt = (receivedAt: number): number => addCalendarMonths(receivedAt, 1);

/** At most two further months (Art. 12(3)), counted from the first due date. */
export const maxExtensionMonths = 2;

/** When the deadline job raises an alert: two thirds of the time gone, and past the due date. */
export const requestStages = ['two-thirds', 'overdue'] as const;
export type RequestStage = (typeof requestStages)[number];

/** The stage reached at `now` for a request received at `receivedAt`, due at `dueAt`; undefined before two thirds. */
export function requestStageAt(receivedAt: number, dueAt: number, now: number): RequestStage | undefined {
  if (now > dueAt) return 'overdue';
  if (now >= receivedAt + (Math.max(0, dueAt - receivedAt) * 2) / 3) return 'two-thirds';
  return undefined;
}

/** Whole days left until `dueAt` (rounded up; negative once overdue, counting whole days late). */
export function daysLeft(dueAt: number, now: number): number {
  const day = 86_400_000;
  const left = dueAt - now;
  return left >= 0 ? Math.ceil(left / day) : -Math.floor(-left / day) || -1;
}
