import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Audit } from '../audit/index.js';
import type { HealthReading } from './components.js';
import { createStatus, incidentStatusOf } from './status.js';
import type { StatusStore } from './store.js';
import type { StatusEntry } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'tresor-status-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A store in memory that can be made to fail like a database that stopped answering. */
function memoryStore() {
  const entries = new Map<string, StatusEntry>();
  let down = false;
  const guard = async () => {
    if (down) throw new Error('connection refused');
  };
  const store: StatusStore = {
    addSamples: async () => guard(),
    compact: async () => guard(),
    days: async () => (await guard(), []),
    entries: async () => (await guard(), [...entries.values()]),
    entry: async (id) => (await guard(), entries.get(id)),
    putEntry: async (e) => void (await guard(), entries.set(e.id, e)),
    overrides: async () => (await guard(), []),
    setOverride: async () => guard(),
    clearOverride: async () => (await guard(), false),
    ping: guard,
  };
  return { store, stop: () => (down = true) };
}

const audit = { record: async () => undefined } as unknown as Audit;

describe('the status service', () => {
  it('keeps the last snapshot in a file, and a new service started with the database down serves it, saying so', async () => {
    const file = join(dir, 'status-snapshot.json');
    let ready = true;
    const health = async (): Promise<HealthReading> => ({ at: 1_000, apiReady: ready, signInAnswers: ready, oauthAnswers: undefined, platform: undefined, replicationShown: false });
    const first = memoryStore();
    const deps = { now: () => 1_000, readHealth: health, checks: [], tenants: async () => [], audit, operatorRealm: 'operators', snapshotFile: file };
    const status = createStatus({ ...deps, store: first.store });
    await status.publishIncidentUpdate({ incidentId: 'inc-1', title: 'Slow sign-in', severity: 'medium', state: 'triage', text: 'Looking into it.', at: 900 });
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).entries[0].title, 'Slow sign-in');

    // A restart while the database does not answer: the file is what there is.
    ready = false;
    const second = memoryStore();
    second.stop();
    const restarted = createStatus({ ...deps, store: second.store });
    assert.equal(restarted.snapshot().databaseDown, true, 'as of the file until the database answers');
    assert.deepEqual(restarted.snapshot().entries.map((e) => e.title), ['Slow sign-in']);
    const refreshed = await restarted.refresh();
    assert.equal(refreshed.databaseDown, true);
    assert.equal(refreshed.components.find((c) => c.id === 'api')?.state, 'major_outage');
    assert.deepEqual(refreshed.entries.map((e) => e.title), ['Slow sign-in'], 'the lists are kept from the last answer');
  });

  it('maps the incident phases to what the public reads, and refuses an unknown one', () => {
    assert.deepEqual(['triage', 'contained', 'eradicated', 'recovered', 'closed', 'monitoring'].map(incidentStatusOf), ['investigating', 'identified', 'monitoring', 'monitoring', 'resolved', 'monitoring']);
    assert.throws(() => incidentStatusOf('panic'), { code: 'status-invalid' });
  });
});
