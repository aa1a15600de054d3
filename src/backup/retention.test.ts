import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyRetention, defaultRetention, keptUntil, parseRetention, type RetentionPolicy, type RetentionReason, type SnapshotRef } from './retention.js';

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;
const step = 15 * minute;

/** Snapshot ids are their ISO time, so every expectation below reads as a date. */
const snap = (iso: string, verified = false): SnapshotRef => ({ id: iso, takenAt: Date.parse(iso), verified });
const snapAt = (ms: number, verified = false): SnapshotRef => snap(new Date(ms).toISOString(), verified);
const t = (iso: string): number => Date.parse(iso);
const kept = (id: string, ...reasons: RetentionReason[]) => ({ id, reasons });

/** A small deterministic PRNG (mulberry32), so the shuffled inputs are the same on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = prng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('backup retention (SPEC B1/B2)', () => {
  it('a simulated 14 months (a snapshot every 15 min, retention after each day’s last one) ends with exactly the last 48 h, one per UTC day for 30 days, one per UTC month for 13 months and the newest verified', () => {
    // 20 Nov 2023 → 20 Jan 2025: crosses a year change twice and 29 Feb 2024.
    const start = Date.UTC(2023, 10, 20);
    const end = Date.UTC(2025, 0, 20);
    // The daily restore drill verifies the 03:00 snapshot; it fails on the last four days, so
    // the newest verified snapshot ends up older than 48 h and is kept for that reason alone.
    const drillFailsFrom = Date.UTC(2025, 0, 16);
    const verifiedAt = (ms: number) => ms % day === 3 * hour && ms < drillFailsFrom;

    let store: SnapshotRef[] = [];
    const everything: SnapshotRef[] = [];
    let now = start;
    let runs = 0;
    let dropped = 0;
    for (let dayStart = start; dayStart < end; dayStart += day) {
      for (let ms = dayStart; ms < dayStart + day; ms += step) {
        const s = snapAt(ms, verifiedAt(ms));
        store.push(s);
        everything.push(s);
      }
      // The scheduler runs retention a minute after the day's last snapshot (23:45) completes.
      now = dayStart + day - step + minute;
      const { keep, drop } = applyRetention(store, now);
      runs++;
      const keepIds = new Set(keep.map((k) => k.id));
      assert.equal(keepIds.size + drop.length, store.length, 'every snapshot is either kept or dropped');
      assert.ok(!drop.some((id) => keepIds.has(id)), 'never both');
      const newestVerified = store.filter((s) => s.verified).at(-1);
      if (newestVerified !== undefined) assert.ok(keepIds.has(newestVerified.id), `newest verified kept on ${new Date(dayStart).toISOString()}`);
      const gone = new Set(drop);
      for (const s of store) if (now - s.takenAt <= 48 * hour) assert.ok(!gone.has(s.id), `${s.id} is within 48 h`);
      // What the scheduler does with the answer: the dropped snapshots are deleted for good.
      store = store.filter((s) => !gone.has(s.id));
      dropped += drop.length;
      assert.ok(store.length <= 192 + 96 + 30 + 13 + 1, `the repository stays small (${store.length} on ${new Date(dayStart).toISOString()})`);
    }
    assert.equal(runs, 427);
    assert.equal(everything.length, 427 * 96, 'about 41 000 snapshots taken');

    // The expected set from first principles, by calendar arithmetic on the clock (Date.UTC
    // normalises day 0, negative days and month -1 across month and year changes).
    const last = end - step; // 2025-01-19T23:45Z, the newest snapshot
    assert.equal(now, last + minute);
    const expected = new Map<number, RetentionReason[]>();
    const add = (ms: number, reason: RetentionReason) => expected.set(ms, [...(expected.get(ms) ?? []), reason]);
    // Every 15-minute slot of the last 48 h: now is 23:46, so 18 Jan 00:00 … 19 Jan 23:45.
    for (let ms = Date.UTC(2025, 0, 18); ms <= last; ms += step) add(ms, 'recent');
    // The newest snapshot of each of the 30 UTC days ending today: 23:45 of 21 Dec … 19 Jan.
    for (let k = 0; k < 30; k++) add(Date.UTC(2025, 0, 19 - k, 23, 45), 'daily');
    // The newest snapshot of each of the 13 UTC months ending this one: the last 15-minute slot
    // before the next month begins (this month: the newest snapshot), Jan 2024 … Jan 2025.
    for (let k = 0; k < 13; k++) add(Math.min(Date.UTC(2025, 1 - k, 1) - step, last), 'monthly');
    add(Date.UTC(2025, 0, 15, 3), 'newest-verified');
    const expectedKeep = [...expected.keys()].sort((a, b) => a - b).map((ms) => ({ id: new Date(ms).toISOString(), reasons: expected.get(ms) as RetentionReason[] }));

    assert.deepEqual(
      store.map((s) => s.id),
      expectedKeep.map((k) => k.id),
      'exactly the expected snapshots survive',
    );
    assert.equal(store.length, 192 + 28 + 11 + 1, '48 h of slots, 28 more days, 11 more months, the newest verified');
    assert.equal(dropped, everything.length - store.length);
    // The final answer, reasons included, and spot checks that read as a calendar.
    const final = applyRetention(store, now);
    assert.deepEqual(final, { keep: expectedKeep, drop: [] }, 'applying it again changes nothing');
    const reasonsOf = new Map(final.keep.map((k) => [k.id, k.reasons]));
    assert.deepEqual(reasonsOf.get('2024-02-29T23:45:00.000Z'), ['monthly'], 'February 2024 is represented by the leap day');
    assert.deepEqual(reasonsOf.get('2024-01-31T23:45:00.000Z'), ['monthly'], 'the 13th month back is kept');
    assert.ok(!store.some((s) => s.id.startsWith('2023-')), 'Nov and Dec 2023 (14 and 15 months back) are gone');
    assert.deepEqual(reasonsOf.get('2024-12-31T23:45:00.000Z'), ['daily', 'monthly'], 'across the year change');
    assert.deepEqual(reasonsOf.get('2024-12-21T23:45:00.000Z'), ['daily'], 'the 30th day back');
    assert.equal(reasonsOf.get('2024-12-20T23:45:00.000Z'), undefined, 'the 31st day back is gone');
    assert.deepEqual(reasonsOf.get('2025-01-15T03:00:00.000Z'), ['newest-verified']);
    assert.deepEqual(reasonsOf.get('2025-01-19T23:45:00.000Z'), ['recent', 'daily', 'monthly']);
    assert.deepEqual(reasonsOf.get('2025-01-18T00:00:00.000Z'), ['recent'], 'exactly 47 h 46 min old');
    // Deleting day by day ends where deciding once over the whole history would.
    const once = applyRetention(shuffled(everything, 7), now);
    assert.deepEqual(once.keep, expectedKeep, 'one run over all ~41 000 snapshots agrees with the progressive runs');
  });

  it('never deletes the newest verified snapshot, even 2 years old with nothing newer verified; an older verified one goes', () => {
    const now = t('2026-06-15T12:00:00Z');
    const snapshots = [
      snap('2023-06-15T12:00:00.000Z', true),
      snap('2024-06-15T12:00:00.000Z', true),
      snap('2024-06-15T12:15:00.000Z', false),
      snap('2026-06-15T11:45:00.000Z', false),
      snap('2026-06-15T12:00:00.000Z', false),
    ];
    assert.deepEqual(applyRetention(snapshots, now), {
      keep: [kept('2024-06-15T12:00:00.000Z', 'newest-verified'), kept('2026-06-15T11:45:00.000Z', 'recent'), kept('2026-06-15T12:00:00.000Z', 'recent', 'daily', 'monthly')],
      drop: ['2023-06-15T12:00:00.000Z', '2024-06-15T12:15:00.000Z'],
    });
    // Only the newest verified one counts: once a drill verifies a recent snapshot, the old one goes.
    const afterDrill = snapshots.map((s) => (s.id === '2026-06-15T11:45:00.000Z' ? { ...s, verified: true } : s));
    assert.deepEqual(applyRetention(afterDrill, now), {
      keep: [kept('2026-06-15T11:45:00.000Z', 'recent', 'newest-verified'), kept('2026-06-15T12:00:00.000Z', 'recent', 'daily', 'monthly')],
      drop: ['2023-06-15T12:00:00.000Z', '2024-06-15T12:00:00.000Z', '2024-06-15T12:15:00.000Z'],
    });
    // With nothing verified at all, no snapshot gets the reason.
    const none = applyRetention(
      snapshots.map((s) => ({ ...s, verified: false })),
      now,
    );
    assert.ok(!none.keep.some((k) => k.reasons.includes('newest-verified')));
  });

  it('parseRetention rejects a policy of 0 in any field with a TypeError naming the field', () => {
    for (const field of ['allForHours', 'dailyForDays', 'monthlyForMonths'] as const) {
      assert.throws(() => parseRetention({ ...defaultRetention, [field]: 0 }), { name: 'TypeError', message: new RegExp(`^retention\\.${field}: .*got 0`) });
      assert.throws(() => applyRetention([], 0, { ...defaultRetention, [field]: 0 }), { name: 'TypeError', message: new RegExp(field) }, 'a policy built in code is checked too');
    }
  });

  it('parseRetention accepts whole numbers from 1 to the bounds, fills missing fields with the defaults, and rejects everything else naming the field', () => {
    assert.deepEqual(parseRetention(undefined), { allForHours: 48, dailyForDays: 30, monthlyForMonths: 13 }, 'no section: the defaults');
    assert.deepEqual(parseRetention({}), defaultRetention);
    assert.deepEqual(parseRetention({ dailyForDays: 60 }), { allForHours: 48, dailyForDays: 60, monthlyForMonths: 13 });
    assert.deepEqual(parseRetention({ allForHours: 1, dailyForDays: 1, monthlyForMonths: 1 }), { allForHours: 1, dailyForDays: 1, monthlyForMonths: 1 });
    assert.deepEqual(parseRetention({ allForHours: 8760, dailyForDays: 3650, monthlyForMonths: 1200 }), { allForHours: 8760, dailyForDays: 3650, monthlyForMonths: 1200 });
    assert.ok(Object.isFrozen(parseRetention({ allForHours: 24 })));
    const bad: Array<[field: keyof RetentionPolicy, value: unknown]> = [
      ['allForHours', -1],
      ['allForHours', 1.5],
      ['allForHours', Number.NaN],
      ['allForHours', Number.POSITIVE_INFINITY],
      ['allForHours', '48'],
      ['allForHours', null],
      ['allForHours', 8761],
      ['dailyForDays', 3651],
      ['dailyForDays', true],
      ['monthlyForMonths', 1201],
      ['monthlyForMonths', 12.5],
    ];
    for (const [field, value] of bad) {
      assert.throws(() => parseRetention({ [field]: value }), { name: 'TypeError', message: new RegExp(`^retention\\.${field}: must be a whole number`) }, `${field} = ${String(value)}`);
    }
    // A misspelt field would otherwise leave the default in place without a word.
    assert.throws(() => parseRetention({ dailyForDay: 60 }), { name: 'TypeError', message: /^retention\.dailyForDay: unknown setting/ });
    assert.throws(() => parseRetention({ constructor: 1 }), { name: 'TypeError', message: /^retention\.constructor: unknown/ }, 'inherited names are not settings');
    assert.throws(() => parseRetention(JSON.parse('{"__proto__": {"allForHours": 0}}')), { name: 'TypeError', message: /__proto__: unknown/ });
    for (const input of [null, 48, 'daily', []]) assert.throws(() => parseRetention(input), { name: 'TypeError', message: /^retention: expected an object/ }, String(input));
  });

  it('keeps a snapshot exactly 48 h old as recent and drops one 1 ms older (unless it represents its day)', () => {
    const now = t('2026-03-10T12:00:00Z');
    const result = applyRetention([snap('2026-03-08T11:59:59.999Z'), snap('2026-03-08T12:00:00.000Z'), snap('2026-03-08T23:45:00.000Z'), snap('2026-03-10T11:45:00.000Z')], now);
    assert.deepEqual(result, {
      keep: [kept('2026-03-08T12:00:00.000Z', 'recent'), kept('2026-03-08T23:45:00.000Z', 'recent', 'daily'), kept('2026-03-10T11:45:00.000Z', 'recent', 'daily', 'monthly')],
      drop: ['2026-03-08T11:59:59.999Z'],
    });
    // The same edge with another window length.
    const policy = { ...defaultRetention, allForHours: 1 };
    assert.deepEqual(applyRetention([snap('2026-03-10T10:59:59.999Z'), snap('2026-03-10T11:00:00.000Z'), snap('2026-03-10T11:45:00.000Z')], now, policy).drop, ['2026-03-10T10:59:59.999Z']);
  });

  it('the daily window is today and the 29 UTC days before it, cut at UTC midnight', () => {
    // 31 March: the 30th day back is 2 March; 1 March is out. Neither represents March.
    const now = t('2026-03-31T12:00:00Z');
    assert.deepEqual(applyRetention([snap('2026-03-01T23:59:59.999Z'), snap('2026-03-02T00:00:00.000Z'), snap('2026-03-31T11:45:00.000Z')], now), {
      keep: [kept('2026-03-02T00:00:00.000Z', 'daily'), kept('2026-03-31T11:45:00.000Z', 'recent', 'daily', 'monthly')],
      drop: ['2026-03-01T23:59:59.999Z'],
    });
    // The newest of a day represents it, the others of that day go.
    assert.deepEqual(applyRetention([snap('2026-03-20T00:00:00.000Z'), snap('2026-03-20T12:00:00.000Z'), snap('2026-03-20T23:45:00.000Z'), snap('2026-03-31T11:45:00.000Z')], now).drop, [
      '2026-03-20T00:00:00.000Z',
      '2026-03-20T12:00:00.000Z',
    ]);
    // A shorter window: 7 days = 25 … 31 March.
    const week = { ...defaultRetention, dailyForDays: 7 };
    assert.deepEqual(applyRetention([snap('2026-03-24T23:45:00.000Z'), snap('2026-03-25T23:45:00.000Z'), snap('2026-03-31T11:45:00.000Z')], now, week).drop, ['2026-03-24T23:45:00.000Z']);
  });

  it('month boundaries across a year change: on 15 Jan 2026 the 13 months are Jan 2025 … Jan 2026, and the 30 days 17 Dec … 15 Jan', () => {
    const now = t('2026-01-15T12:00:00Z');
    assert.deepEqual(
      applyRetention(
        [
          snap('2024-12-31T23:59:59.999Z'),
          snap('2025-01-01T00:00:00.000Z'),
          snap('2025-12-16T12:00:00.000Z'),
          snap('2025-12-17T12:00:00.000Z'),
          snap('2025-12-31T23:45:00.000Z'),
          snap('2026-01-01T00:00:00.000Z'),
          snap('2026-01-15T11:45:00.000Z'),
        ],
        now,
      ),
      {
        keep: [
          kept('2025-01-01T00:00:00.000Z', 'monthly'),
          kept('2025-12-17T12:00:00.000Z', 'daily'),
          kept('2025-12-31T23:45:00.000Z', 'daily', 'monthly'),
          kept('2026-01-01T00:00:00.000Z', 'daily'),
          kept('2026-01-15T11:45:00.000Z', 'recent', 'daily', 'monthly'),
        ],
        drop: ['2024-12-31T23:59:59.999Z', '2025-12-16T12:00:00.000Z'],
      },
    );
    // Other month counts, expected by calendar arithmetic: one snapshot on the 15th of every
    // month from Jan 2022; with n months, those of the n months ending Jan 2026 stay.
    const monthly = Array.from({ length: 49 }, (_, i) => snapAt(Date.UTC(2022, i, 15, 11, 45)));
    for (const n of [1, 2, 12, 13, 24, 48, 49, 1200]) {
      const policy = { allForHours: 1, dailyForDays: 1, monthlyForMonths: n };
      const expected = Array.from({ length: Math.min(n, 49) }, (_, k) => new Date(Date.UTC(2026, -k, 15, 11, 45)).toISOString()).reverse();
      assert.deepEqual(
        applyRetention(monthly, now, policy).keep.map((k) => k.id),
        expected,
        `${n} months`,
      );
    }
  });

  it('Feb 29 in a leap year (UTC): it is its own day, it represents February, and it shifts the 30-day window by one', () => {
    // 29 March 2024: 30 days back is 29 Feb (leap year) …
    assert.deepEqual(applyRetention([snap('2024-02-28T12:00:00.000Z'), snap('2024-02-29T12:00:00.000Z'), snap('2024-03-29T11:45:00.000Z')], t('2024-03-29T12:00:00Z')), {
      keep: [kept('2024-02-29T12:00:00.000Z', 'daily', 'monthly'), kept('2024-03-29T11:45:00.000Z', 'recent', 'daily', 'monthly')],
      drop: ['2024-02-28T12:00:00.000Z'],
    });
    // … and 28 Feb in 2025.
    assert.deepEqual(applyRetention([snap('2025-02-27T12:00:00.000Z'), snap('2025-02-28T12:00:00.000Z'), snap('2025-03-29T11:45:00.000Z')], t('2025-03-29T12:00:00Z')), {
      keep: [kept('2025-02-28T12:00:00.000Z', 'daily', 'monthly'), kept('2025-03-29T11:45:00.000Z', 'recent', 'daily', 'monthly')],
      drop: ['2025-02-27T12:00:00.000Z'],
    });
    // Months later: 29 Feb 23:45 is February's snapshot, 1 March 00:00 is March's.
    assert.deepEqual(applyRetention([snap('2024-02-28T23:45:00.000Z'), snap('2024-02-29T23:45:00.000Z'), snap('2024-03-01T00:00:00.000Z'), snap('2024-06-01T00:00:00.000Z')], t('2024-06-01T00:10:00Z')), {
      keep: [kept('2024-02-29T23:45:00.000Z', 'monthly'), kept('2024-03-01T00:00:00.000Z', 'monthly'), kept('2024-06-01T00:00:00.000Z', 'recent', 'daily', 'monthly')],
      drop: ['2024-02-28T23:45:00.000Z'],
    });
  });

  it('days and months are UTC whatever the host’s time zone', () => {
    // Node applies a change of TZ at once; a local-time slip would move every boundary by hours.
    const input = [snap('2024-02-29T23:45:00.000Z'), snap('2024-03-01T00:00:00.000Z'), snap('2024-03-01T09:00:00.000Z'), snap('2024-03-02T00:00:00.000Z'), snap('2024-06-01T00:00:00.000Z')];
    const now = t('2024-06-01T00:10:00Z');
    const saved = process.env.TZ;
    try {
      for (const zone of ['UTC', 'Pacific/Kiritimati', 'America/Los_Angeles', 'Europe/Berlin']) {
        process.env.TZ = zone;
        assert.deepEqual(
          applyRetention(input, now),
          {
            keep: [kept('2024-02-29T23:45:00.000Z', 'monthly'), kept('2024-03-02T00:00:00.000Z', 'monthly'), kept('2024-06-01T00:00:00.000Z', 'recent', 'daily', 'monthly')],
            drop: ['2024-03-01T00:00:00.000Z', '2024-03-01T09:00:00.000Z'],
          },
          zone,
        );
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('unsorted input gives the same answer as sorted input, including ties on takenAt (broken by id)', () => {
    const now = t('2026-05-20T12:00:00Z');
    const random = prng(42);
    const sorted: SnapshotRef[] = [];
    // 40 days of 15-minute snapshots, then a year of daily ones before them, some verified.
    for (let ms = now - 40 * day; ms <= now; ms += step) sorted.push(snapAt(ms, random() < 0.01));
    for (let ms = now - 400 * day; ms < now - 40 * day; ms += day) sorted.unshift(snapAt(ms, random() < 0.05));
    sorted.sort((a, b) => a.takenAt - b.takenAt);
    // Two snapshots taken in the same millisecond, the last of 30 April: one must represent the day.
    const tie = t('2026-04-30T23:59:59.999Z');
    sorted.push({ id: 'tie-a', takenAt: tie, verified: false }, { id: 'tie-b', takenAt: tie, verified: false });
    const expected = applyRetention(sorted, now);
    assert.ok(expected.keep.some((k) => k.id === 'tie-b' && k.reasons.includes('daily')) && expected.drop.includes('tie-a'), 'the larger id wins a tie');
    for (const input of [[...sorted].reverse(), shuffled(sorted, 1), shuffled(sorted, 2)]) {
      const copy = [...input];
      assert.deepEqual(applyRetention(input, now), expected);
      assert.deepEqual(input, copy, 'the input is not reordered');
    }
  });

  it('empty input keeps nothing and drops nothing', () => {
    assert.deepEqual(applyRetention([], t('2026-01-01T00:00:00Z')), { keep: [], drop: [] });
    assert.deepEqual(applyRetention([], t('2026-01-01T00:00:00Z'), { allForHours: 1, dailyForDays: 1, monthlyForMonths: 1 }), { keep: [], drop: [] });
  });

  it('a snapshot stamped after now (clock stepped back) is kept as recent', () => {
    const now = t('2026-03-10T12:00:00Z');
    assert.deepEqual(applyRetention([snap('2026-03-10T11:45:00.000Z'), snap('2026-03-10T12:15:00.000Z')], now), {
      keep: [kept('2026-03-10T11:45:00.000Z', 'recent'), kept('2026-03-10T12:15:00.000Z', 'recent', 'daily', 'monthly')],
      drop: [],
    });
  });

  it('refuses to decide on garbage: a duplicate id, a takenAt or now that is not a finite number', () => {
    const now = t('2026-03-10T12:00:00Z');
    assert.throws(() => applyRetention([snap('2026-03-10T11:45:00.000Z'), snap('2026-03-10T11:45:00.000Z')], now), { name: 'TypeError', message: /listed twice/ });
    assert.throws(() => applyRetention([{ id: 'x', takenAt: Number.NaN, verified: true }], now), { name: 'TypeError', message: /"x" has no valid takenAt/ });
    assert.throws(() => applyRetention([], Number.NaN), { name: 'TypeError', message: /now must be/ });
  });
});

describe('keptUntil: when retention is expected to drop a snapshot it keeps now', () => {
  const at = Date.parse('2026-03-10T15:00:00Z');
  const policy = { allForHours: 48, dailyForDays: 30, monthlyForMonths: 13 };
  it('is the end of the longest window among its reasons, in UTC calendar units', () => {
    assert.equal(keptUntil(at, ['recent'], policy), Date.parse('2026-03-12T15:00:00Z'));
    assert.equal(keptUntil(at, ['recent', 'daily'], policy), Date.parse('2026-04-09T00:00:00Z'), '30 days counting 10 March: up to the end of 8 April');
    assert.equal(keptUntil(at, ['recent', 'daily', 'monthly'], policy), Date.parse('2027-04-01T00:00:00Z'), '13 months counting March 2026: up to the end of March 2027');
  });
  it('agrees with applyRetention: kept 1 ms before, dropped at that moment', () => {
    const lone = [{ id: 'a', takenAt: at, verified: false }];
    const reasons = applyRetention(lone, at, policy).keep[0]?.reasons ?? [];
    assert.deepEqual(reasons, ['recent', 'daily', 'monthly']);
    const until = keptUntil(at, reasons, policy) as number;
    assert.deepEqual(applyRetention(lone, until - 1, policy).drop, []);
    assert.deepEqual(applyRetention(lone, until, policy).drop, ['a']);
  });
  it('is open-ended for the newest verified snapshot', () => {
    assert.equal(keptUntil(at, ['recent', 'newest-verified'], policy), null);
  });
});
