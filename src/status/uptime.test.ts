import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compactSamples, uptimeBars, uptimeOf, uptimeOverall, worstOf, type Sample } from './uptime.js';

const day = 86_400_000;
const t0 = Date.parse('2026-12-01T00:00:00Z');

describe('uptime', () => {
  it('folds samples into per-day buckets, adding to what is stored', () => {
    const samples: Sample[] = [
      { component: 'api', at: t0 + 60_000, state: 'operational' },
      { component: 'api', at: t0 + 120_000, state: 'major_outage' },
      { component: 'api', at: t0 + day, state: 'operational' },
      { component: 'backups', at: t0, state: 'degraded_performance' },
    ];
    const once = compactSamples([], samples);
    assert.deepEqual(once.map((b) => [b.component, b.day]), [['api', '2026-12-01'], ['backups', '2026-12-01'], ['api', '2026-12-02']]);
    const twice = compactSamples(once, [{ component: 'api', at: t0 + 5, state: 'operational' }]);
    assert.equal(twice.find((b) => b.day === '2026-12-01' && b.component === 'api')?.counts.operational, 2);
  });

  it('weighs states as Statuspage does and names the worst of a day', () => {
    const [bucket] = compactSamples([], [
      { component: 'api', at: t0, state: 'operational' },
      { component: 'api', at: t0, state: 'partial_outage' },
      { component: 'api', at: t0, state: 'major_outage' },
      { component: 'api', at: t0, state: 'under_maintenance' },
    ]);
    assert.ok(bucket !== undefined);
    assert.equal(uptimeOf(bucket.counts), 2.5 / 4);
    assert.equal(worstOf(bucket.counts), 'major_outage');
  });

  it('gives 90 bars ending today, days without samples having no data', () => {
    const buckets = compactSamples([], [{ component: 'api', at: t0, state: 'operational' }, { component: 'api', at: t0, state: 'major_outage' }]);
    const bars = uptimeBars(buckets, 'api', t0 + 10 * day);
    assert.equal(bars.length, 90);
    assert.equal(bars.at(-1)?.day, '2026-12-11');
    assert.deepEqual(bars.at(-11), { day: '2026-12-01', uptime: 0.5, worst: 'major_outage' });
    assert.equal(bars.at(-2)?.uptime, undefined);
    assert.equal(uptimeOverall(buckets, 'api', t0 + 10 * day), 0.5);
    assert.equal(uptimeOverall(buckets, 'api', t0 + 100 * day), undefined);
  });
});
