import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, type ConfigInput } from '../config/index.js';
import { fixedClock } from '../platform/clock.js';
import { createRopa, type RopaDeps } from './ropa.js';
import { ropaMarkdown } from './ropa-markdown.js';
import { implicitRegions } from './ropa-regions.js';

// A data set that holds nothing: the counts are the services' below.
const emptyDataSet = { table: (name: string) => name, query: async () => [] as never[] };

function ropaWith(overrides: ConfigInput, deps: Partial<RopaDeps> = {}) {
  const config = loadConfig({ env: {}, overrides: { dataDir: '/nonexistent/tresor', ...overrides } });
  return createRopa({
    config,
    storage: { engine: 'sqlite', tenant: async () => emptyDataSet as never },
    clock: fixedClock(new Date('2026-03-01T10:00:00Z')),
    version: '9.9.9',
    operatorRealm: 'operators',
    tenants: { get: async (id) => ({ id, name: 'Praxis | Nord', mfaPolicy: 'optional' }), list: async () => [{ id: 'nord', name: 'Praxis | Nord' }] },
    accountCounts: async () => ({ staff: 2, patient: 5 }),
    clients: { list: async () => [] },
    securityContact: async () => 'dpo@praxis.example',
    webhooks: async () => [],
    backups: { configured: false, sharedStatus: async () => ({ lastSnapshotAt: undefined, lastDrill: undefined }) },
    rotation: { recent: async () => [] },
    detectionRules: 7,
    passwordHashing: { memoryKiB: 19_456, iterations: 2, parallelism: 1 },
    regions: () => implicitRegions(config),
    ...deps,
  });
}

describe('records of processing over the live services', () => {
  it('reads each measure from what it is given: a finished rotation, the MFA policy, detection', async () => {
    const before = await ropaWith({ detection: { enabled: true } }).tenant('nord');
    const state = (doc: typeof before, id: string) => doc.measures.find((m) => m.id === id);
    assert.equal(state(before, 'key-rotation')?.state, 'off');
    assert.equal(state(before, 'mfa')?.state, 'off', 'policy optional');
    assert.match(state(before, 'detection')?.detail ?? '', /^7 rules/);
    const after = await ropaWith({ detection: { enabled: false } }, { rotation: { recent: async () => [{ scope: 'tenant', tenantId: 'nord', generation: 2, finishedAt: Date.parse('2026-02-01T00:00:00Z'), phase: 'done' }] } }).tenant('nord');
    assert.equal(state(after, 'key-rotation')?.state, 'on');
    assert.match(state(after, 'key-rotation')?.detail ?? '', /2026-02-01T00:00:00.000Z/);
    assert.equal(state(after, 'detection')?.state, 'off');
    assert.deepEqual(after.dataSubjects.filter((s) => s.category === 'staff' || s.category === 'patients with a portal account').map((s) => s.count), [5, 2]);
  });

  it('shows the retention rules it is given, and says so when there are none', async () => {
    const none = await ropaWith({}).tenant('nord');
    assert.deepEqual(none.retention.classes.map((c) => `${c.class}: ${c.period}; ${c.basis}`), ['personal: kept until erased; no retention rule set', 'health: kept until erased; no retention rule set', 'payment: kept until erased; no retention rule set']);
    const ruled = await ropaWith({}, { retention: async () => ({ health: { period: '10 years after last treatment', basis: 'BGB § 630f' } }) }).tenant('nord');
    assert.deepEqual(ruled.retention.classes.find((c) => c.class === 'health'), { class: 'health', period: '10 years after last treatment', basis: 'BGB § 630f' });
  });

  it('writes Markdown whose tables a name with a pipe cannot break', async () => {
    const md = ropaMarkdown(await ropaWith({}).tenant('nord'));
    assert.match(md, /^# Records of processing activities: Praxis \| Nord$/m);
    assert.match(md, /^\| Praxis \\\| Nord \| nord \| dpo@praxis\.example \|$/m);
    assert.match(md, /Generated 2026-03-01T10:00:00.000Z by Tresor 9.9.9 from data register version \d+/);
  });
});
