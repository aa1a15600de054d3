/**
 * FHIR date, dateTime and instant values as closed millisecond ranges, the unit of FHIR date
 * search (R4 §3.1.1.4.3: "the search value and the target are both ranges"). A value without
 * a time zone is read as UTC, the server's documented zone.
 */
export interface DateRange {
  readonly low: number;
  readonly high: number;
}

const pattern = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

export function parseDateRange(value: string): DateRange | undefined {
  const m = pattern.exec(value);
  if (m === null) return undefined;
  const [, y, mo, da, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = mo === undefined ? undefined : Number(mo);
  const day = da === undefined ? undefined : Number(da);
  if (month !== undefined && (month < 1 || month > 12)) return undefined;
  if (day !== undefined && (day < 1 || day > daysIn(year, month ?? 1))) return undefined;
  if (h !== undefined && (Number(h) > 23 || Number(mi) > 59 || (s !== undefined && Number(s) > 60))) return undefined;
  const offsetMs = zone === undefined || zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;

  if (month === undefined) return { low: Date.UTC(year, 0, 1), high: Date.UTC(year + 1, 0, 1) - 1 };
  if (day === undefined) return { low: Date.UTC(year, month - 1, 1), high: Date.UTC(year, month, 1) - 1 };
  if (h === undefined) return { low: Date.UTC(year, month - 1, day), high: Date.UTC(year, month - 1, day + 1) - 1 };
  const base = Date.UTC(year, month - 1, day, Number(h), Number(mi), s === undefined ? 0 : Math.min(Number(s), 59)) - offsetMs;
  if (s === undefined) return { low: base, high: base + 60_000 - 1 };
  if (frac === undefined) return { low: base, high: base + 999 };
  const ms = Number(frac.slice(0, 3).padEnd(3, '0'));
  return { low: base + ms, high: base + ms };
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** A Period: a missing end is open-ended (R4 §2.24.0.11, "ongoing"). */
export function periodRange(start: string | undefined, end: string | undefined): DateRange | undefined {
  const from = start === undefined ? undefined : parseDateRange(start);
  const to = end === undefined ? undefined : parseDateRange(end);
  if (from === undefined && to === undefined) return undefined;
  return { low: from?.low ?? Number.MIN_SAFE_INTEGER, high: to?.high ?? Number.MAX_SAFE_INTEGER };
}
