import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rules, ruleConfigs } from '../detection/index.js';
import { deriveComponents, overallIndicator, type HealthReading } from './components.js';
import { componentChecks } from './health.js';
import type { StatusEntry } from './types.js';

const now = Date.parse('2026-12-07T10:00:00Z');
const checks = componentChecks(rules, ruleConfigs(rules, {}));
const healthy: HealthReading = {
  at: now,
  apiReady: true,
  signInAnswers: true,
  oauthAnswers: true,
  replicationShown: false,
  platform: { at: now, disks: [], backups: { scheduled: true, everyMinutes: 15, drillEveryHours: 24, since: now - 86_400_000, lastSnapshotAt: now - 60_000, lastDrillAt: now - 3_600_000, lastDrillOk: true } },
};
const stateOf = (list: ReturnType<typeof deriveComponents>, id: string) => list.find((c) => c.id === id)?.state;

describe('component states', () => {
  it('are operational when every check passes, and backups are shown only when scheduled', () => {
    const list = deriveComponents(healthy, checks, [], []);
    assert.deepEqual(list.map((c) => [c.id, c.state]), [['api', 'operational'], ['sign-in', 'operational'], ['oauth', 'operational'], ['backups', 'operational']]);
    assert.equal(overallIndicator(list, []), 'none');
    const unscheduled = deriveComponents({ ...healthy, platform: { at: now, disks: [] } }, checks, [], []);
    assert.equal(stateOf(unscheduled, 'backups'), undefined);
  });

  it('judge backups with the detection rule: an old snapshot is degraded, with the rule’s reason', () => {
    const b = healthy.platform?.backups;
    assert.ok(b !== undefined);
    const list = deriveComponents({ ...healthy, platform: { at: now, disks: [], backups: { ...b, lastSnapshotAt: now - 3 * 3_600_000 } } }, checks, [], []);
    const backups = list.find((c) => c.id === 'backups');
    assert.equal(backups?.state, 'degraded_performance');
    assert.match(backups?.reason ?? '', /newest snapshot is 180 minutes old/);
    assert.equal(overallIndicator(list, []), 'minor');
  });

  it('make a failed readiness check a major outage, and show replication on PostgreSQL only', () => {
    const list = deriveComponents({ ...healthy, apiReady: false, oauthAnswers: undefined, replicationShown: true }, checks, [], []);
    assert.equal(stateOf(list, 'api'), 'major_outage');
    assert.equal(stateOf(list, 'replication'), undefined, 'nothing reported: not shown');
    const b = healthy.platform?.backups;
    const lagging = deriveComponents({ ...healthy, replicationShown: true, platform: { at: now, disks: [], ...(b === undefined ? {} : { backups: b }), replication: { standbys: [{ name: 'standby-1', streaming: false, lagSeconds: undefined }], synchronous: 0 } } }, checks, [], []);
    assert.equal(stateOf(lagging, 'replication'), 'degraded_performance');
    assert.equal(overallIndicator(list, []), 'critical');
    // OAuth not asked directly follows the storage and the identity service it needs.
    assert.equal(stateOf(list, 'oauth'), 'major_outage');
    assert.equal(stateOf(deriveComponents({ ...healthy, oauthAnswers: undefined }, checks, [], []), 'oauth'), 'operational');
    assert.equal(stateOf(deriveComponents({ ...healthy, oauthAnswers: false }, checks, [], []), 'oauth'), 'major_outage');
  });

  it('let a running maintenance and then an unexpired override decide', () => {
    const maintenance: StatusEntry = { id: 'm', kind: 'maintenance', title: 'Database upgrade', text: '', components: ['api'], status: 'scheduled', impact: 'none', startsAt: now - 1000, endsAt: now + 1000, createdAt: 0, updatedAt: 0, updates: [] };
    let list = deriveComponents({ ...healthy, apiReady: false }, checks, [], [maintenance]);
    assert.equal(stateOf(list, 'api'), 'under_maintenance');
    assert.equal(overallIndicator(list, []), 'maintenance');
    list = deriveComponents(healthy, checks, [{ component: 'api', state: 'partial_outage', note: 'EU region slow', until: now + 1 }], [maintenance]);
    assert.equal(stateOf(list, 'api'), 'partial_outage');
    assert.equal(list.find((c) => c.id === 'api')?.reason, 'EU region slow');
    list = deriveComponents(healthy, checks, [{ component: 'api', state: 'partial_outage', note: 'over', until: now }], []);
    assert.equal(stateOf(list, 'api'), 'operational');
  });

  it('raise the indicator for an unresolved incident’s impact', () => {
    const incident: StatusEntry = { id: 'i', kind: 'incident', title: 't', text: '', components: [], status: 'investigating', impact: 'major', startsAt: now, createdAt: now, updatedAt: now, updates: [] };
    assert.equal(overallIndicator(deriveComponents(healthy, checks, [], []), [incident]), 'major');
    assert.equal(overallIndicator(deriveComponents(healthy, checks, [], []), [{ ...incident, status: 'resolved' }]), 'none');
  });
});
