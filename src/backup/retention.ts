/**
 * Which snapshots to keep (SPEC B1/B2). Snapshots are taken every 15 minutes; retention keeps
 * every one of the last `allForHours`, one per UTC day for `dailyForDays` calendar days, one per
 * UTC month for `monthlyForMonths` calendar months, and always the newest verified snapshot;
 * everything else is deleted. Pure, clock injected: the scheduler passes the complete snapshots
 * (unfinished ones never reach this module) and `now`, deletes what comes back in `drop`, and
 * `tresor backup list` prints the reasons in `keep`.
 *
 * The choices, and why:
 * - **A day or month is represented by its newest snapshot.** It holds everything written up to
 *   the end of that period, which is what "the backup of 3 March" means to whoever restores it
 *   (the oldest of a day, taken just after midnight, is practically the previous day's state). It
 *   is also what restic and borg do, so operators meet no surprise. The tiers nest: the newest of
 *   a month is the newest of its last day, which is a recent snapshot first; so a snapshot moves
 *   recent → daily → monthly and no run ever deletes one a later tier will want. Hence running
 *   retention every day, as the scheduler does, or once at the end yields the same set (tested).
 * - **The windows count back from `now` in UTC calendar units, including the current one**:
 *   `dailyForDays` is today and the days before it, `monthlyForMonths` this month and the months
 *   before it (13 = this month and the same month last year, for year-over-year restores). Not
 *   counted from the newest snapshot: for health data the retention is a ceiling as much as a
 *   floor (storage limitation), so when backups stop, old archives still age out on schedule.
 *   UTC, so that daylight-saving changes never make a day 23 or 25 hours long or move a boundary.
 * - **"The last 48 hours" is closed**: a snapshot exactly `allForHours` old is still recent. A
 *   snapshot stamped after `now` (the host clock stepped back) counts as recent too: its age is
 *   unknown, and deleting the newest data because of a clock is the worst possible mistake.
 * - **The newest verified snapshot is never deleted, whatever its age**: a deployment must always
 *   keep one snapshot proven restorable, even if the restore drill has failed for months.
 * - Ties (equal `takenAt`) are broken by id, so the answer never depends on the input order.
 */

export interface RetentionPolicy {
  readonly allForHours: number;
  readonly dailyForDays: number;
  readonly monthlyForMonths: number;
}

/** SPEC B1's promise; every field can be changed in the configuration. */
export const defaultRetention: RetentionPolicy = Object.freeze({ allForHours: 48, dailyForDays: 30, monthlyForMonths: 13 });

export interface SnapshotRef {
  readonly id: string;
  /** When the snapshot was taken, ms since the epoch. */
  readonly takenAt: number;
  /** Whether a full verify (decrypt, hashes, restore, integrity check) has passed. */
  readonly verified: boolean;
}

/** Why a snapshot is kept; a snapshot gets every reason that applies, in this order. */
export const retentionReasons = ['recent', 'daily', 'monthly', 'newest-verified'] as const;
export type RetentionReason = (typeof retentionReasons)[number];

export interface RetentionResult {
  /** Oldest first. */
  keep: Array<{ id: string; reasons: RetentionReason[] }>;
  /** Oldest first. */
  drop: string[];
}

/**
 * Upper bounds: far beyond any sensible policy, low enough to catch a value in the wrong unit
 * (minutes for hours, days for months) before it silently keeps data for decades.
 */
/** The largest value of each setting (the configuration's schema uses these too). */
export const retentionLimits: Readonly<Record<keyof RetentionPolicy, number>> = { allForHours: 24 * 365, dailyForDays: 3650, monthlyForMonths: 1200 };
const limits = retentionLimits;
const fields = Object.keys(limits) as Array<keyof RetentionPolicy>;

const shown = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value) : String(value));

/**
 * A policy from configuration. A missing field (or a missing section, `undefined`) takes the
 * default; an unknown field is refused, because a misspelt `dailyForDay` would otherwise keep
 * the default without a word. Zero is refused too: "keep nothing" is not a backup policy.
 * Throws a TypeError naming the field.
 */
export function parseRetention(input: unknown): RetentionPolicy {
  if (input === undefined) return defaultRetention;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TypeError(`retention: expected an object with ${fields.join(', ')} (got ${Array.isArray(input) ? 'an array' : shown(input)})`);
  }
  const record = input as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(limits, key)) throw new TypeError(`retention.${key}: unknown setting; the settings are ${fields.join(', ')}`);
  }
  const policy = { ...defaultRetention };
  for (const field of fields) {
    const value = record[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > limits[field]) {
      throw new TypeError(`retention.${field}: must be a whole number from 1 to ${limits[field]} (got ${shown(value)})`);
    }
    policy[field] = value;
  }
  return Object.freeze(policy);
}

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;

/** Days since the epoch, UTC: JavaScript time has no leap seconds, so every UTC day is 86 400 000 ms. */
const utcDay = (ms: number): number => Math.floor(ms / dayMs);
/** Months since year 0, UTC. */
const utcMonth = (ms: number): number => {
  const date = new Date(ms);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
};

/** Oldest first; equal times ordered by id so that the result never depends on the input order. */
const chronological = (a: SnapshotRef, b: SnapshotRef): number => a.takenAt - b.takenAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Which snapshots to keep and which to delete, with the reason each is kept (for `tresor backup
 * list`). `policy` is validated like configuration, so a policy built in code cannot slip a zero
 * past `parseRetention`. Throws a TypeError on a duplicate id or a time that is not a finite
 * number: deciding deletions on garbage is worse than not deciding.
 */
export function applyRetention(snapshots: readonly SnapshotRef[], now: number, policy: RetentionPolicy = defaultRetention): RetentionResult {
  const { allForHours, dailyForDays, monthlyForMonths } = parseRetention(policy);
  if (!Number.isFinite(now)) throw new TypeError(`retention: now must be a finite time in ms (got ${shown(now)})`);
  const seen = new Set<string>();
  for (const s of snapshots) {
    if (seen.has(s.id)) throw new TypeError(`retention: snapshot ${JSON.stringify(s.id)} is listed twice`);
    seen.add(s.id);
    if (!Number.isFinite(s.takenAt)) throw new TypeError(`retention: snapshot ${JSON.stringify(s.id)} has no valid takenAt (got ${shown(s.takenAt)})`);
  }

  const sorted = [...snapshots].sort(chronological);
  const recentFrom = now - allForHours * hourMs;
  const firstDay = utcDay(now) - (dailyForDays - 1);
  const firstMonth = utcMonth(now) - (monthlyForMonths - 1);

  // Walking oldest to newest, the last snapshot seen of each day or month is its newest.
  const newestOfDay = new Map<number, SnapshotRef>();
  const newestOfMonth = new Map<number, SnapshotRef>();
  let newestVerified: SnapshotRef | undefined;
  for (const s of sorted) {
    newestOfDay.set(utcDay(s.takenAt), s);
    newestOfMonth.set(utcMonth(s.takenAt), s);
    if (s.verified) newestVerified = s;
  }

  const keep: RetentionResult['keep'] = [];
  const drop: string[] = [];
  for (const s of sorted) {
    const reasons: RetentionReason[] = [];
    if (s.takenAt >= recentFrom) reasons.push('recent');
    const day = utcDay(s.takenAt);
    if (day >= firstDay && newestOfDay.get(day) === s) reasons.push('daily');
    const month = utcMonth(s.takenAt);
    if (month >= firstMonth && newestOfMonth.get(month) === s) reasons.push('monthly');
    if (s === newestVerified) reasons.push('newest-verified');
    if (reasons.length > 0) keep.push({ id: s.id, reasons });
    else drop.push(s.id);
  }
  return { keep, drop };
}

/**
 * Until when retention keeps a snapshot it keeps now for `reasons`, if no newer snapshot comes
 * (newer ones can only bring it forward): the end of its recent window, of its day's or month's
 * window. Null for the newest verified snapshot, which stays until a newer one is verified.
 */
export function keptUntil(takenAt: number, reasons: readonly RetentionReason[], policy: RetentionPolicy = defaultRetention): number | null {
  if (reasons.includes('newest-verified')) return null;
  const { allForHours, dailyForDays, monthlyForMonths } = parseRetention(policy);
  let until = takenAt;
  if (reasons.includes('recent')) until = Math.max(until, takenAt + allForHours * hourMs);
  if (reasons.includes('daily')) until = Math.max(until, (utcDay(takenAt) + dailyForDays) * dayMs);
  if (reasons.includes('monthly')) {
    const month = utcMonth(takenAt) + monthlyForMonths;
    until = Math.max(until, Date.UTC(Math.floor(month / 12), month % 12, 1));
  }
  return until;
}
