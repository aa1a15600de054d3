import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { appendDrillReport, drillFormat, readLastDrills } from '../../../src/notification/index.js';

// The schedule is the server's, the same on both engines: SQLite only.
describe('the notification drill on a schedule', () => {
  it('runs when the last drill is older than incidents.drillEveryDays, not before; off by default', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tresor-drill-schedule-'));
    const file = join(dataDir, 'incident-drills.jsonl');
    const start = (drillEveryDays?: number) =>
      buildApp(loadConfig({ env: {}, overrides: { dataDir, server: { tls: { enabled: false } }, log: { level: 'silent' }, fim: { enabled: false }, ...(drillEveryDays === undefined ? {} : { incidents: { drillEveryDays } }) } }), { incidentDrillSchedule: { firstAfterMs: 10, checkEveryMs: 50 } });
    const waitFor = async (done: () => boolean) => {
      for (let i = 0; i < 600 && !done(); i++) await delay(50);
    };
    try {
      let app = await start();
      await delay(300);
      await app.close();
      assert.deepEqual(readLastDrills(file), {}, 'off by default');

      // A drill 10 days ago, every 30 days: not due.
      appendDrillReport(file, { format: drillFormat, at: new Date(Date.now() - 10 * 86_400_000).toISOString(), ok: true, steps: [], totalSeconds: 1, tenants: [], counts: { patientsRead: 0, patientsFound: 0, peopleResolved: 0 } });
      app = await start(30);
      await delay(300);
      await app.close();
      assert.equal(readLastDrills(file).last?.tenants.length, 0, 'not due yet');

      // Every 7 days: due.
      app = await start(7);
      await waitFor(() => (readLastDrills(file).last?.tenants.length ?? 0) > 0);
      const { last } = readLastDrills(file);
      assert.equal(last?.ok, true, JSON.stringify(last));
      const [event] = await app.audit.query('operators', { actions: ['incident.drill_run'], count: 1 });
      assert.equal(event?.actor.id, 'system:incident-drill');
      await app.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
