import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateBackupKey } from '../../../src/backup/index.js';
import { platformReader, rules, ruleConfigs, runProbes } from '../../../src/detection/index.js';
import { certificateFiles } from '../../support/certificates.js';
import { engines, startTestApp, type TestApp } from '../../support/harness.js';
import { mountTinyDisk, noTinyDisk } from '../../support/tiny-disk.js';

/**
 * Platform health, end to end: what the audit trail records (a failed backup) and what the probe
 * reads (the schedule, the served certificate, a real nearly-full disk) become platform alerts
 * in the operators' realm — one per rule and subject while it lasts.
 */
for (const engine of engines()) {
  describe(`platform health alerts [${engine}]`, () => {
    const scratch = mkdtempSync(join(tmpdir(), 'tresor-platform-'));
    after(() => rmSync(scratch, { recursive: true, force: true }));
    const platformAlerts = (t: TestApp, rule: string) => t.app.alerts.list('operators', { rule });

    it('a failed backup run raises platform.backup-failed from the operators’ trail; a good run raises nothing', async () => {
      const notADirectory = join(scratch, `file-${engine}`);
      writeFileSync(notADirectory, 'not a repository');
      const t = await startTestApp(engine, { backup: { repository: join(notADirectory, 'repo'), key: generateBackupKey(), schedule: false } });
      try {
        await t.app.detection?.evaluate('operators');
        await assert.rejects(t.app.backups.run());
        await t.app.detection?.evaluate('operators');
        const [alert, more] = await platformAlerts(t, 'platform.backup-failed');
        assert.equal(more, undefined);
        assert.equal(alert?.subject, 'run');
        assert.equal(alert?.realm, 'operators');
        const detail = await t.app.alerts.get('operators', alert?.id as string);
        assert.deepEqual(detail.events.map((e) => e.action), ['backup.failed']);
      } finally {
        await t.close();
      }
      const good = await startTestApp(engine, { backup: { repository: join(scratch, `repo-${engine}`), key: generateBackupKey(), schedule: false } });
      try {
        await good.app.backups.run();
        await good.app.detection?.evaluate('operators');
        assert.deepEqual(await platformAlerts(good, 'platform.backup-failed'), []);
      } finally {
        await good.close();
      }
    });

    it('a scheduled backup that has not happened for two intervals raises platform.backup-overdue; on time it does not', async () => {
      let now = Date.parse('2026-05-04T08:00:00Z');
      const clock = { now: () => new Date((now += 1)) };
      const t = await startTestApp(engine, { backup: { repository: join(scratch, `sched-${engine}`), key: generateBackupKey(), schedule: true, everyMinutes: 15 } }, { clock, backupSchedule: { everyMs: 1e9, drillEveryMs: 1e9, firstAfterMs: 1e9 } });
      try {
        now += 20 * 60_000;
        await t.app.probes?.round();
        assert.deepEqual(await platformAlerts(t, 'platform.backup-overdue'), [], 'twenty minutes: one slow run, not an outage');
        now += 15 * 60_000;
        await t.app.probes?.round();
        await t.app.probes?.round();
        const raised = await platformAlerts(t, 'platform.backup-overdue');
        assert.deepEqual(raised.map((a) => [a.subject, a.count]), [['snapshot', 2]], 'one alert; the second round joined it');
      } finally {
        await t.close();
      }
    });

    it('a served certificate that expires within a week raises a critical platform.certificate-expiry; a year-long one does not', async () => {
      const dir = join(scratch, `certs-${engine}`);
      mkdirSync(dir, { recursive: true });
      // Days from the test app's clock (it starts on 2026-01-01).
      const start = Date.parse('2026-01-01T00:00:00Z');
      const soon = await certificateFiles(dir, 'vault.clinic.example', 5, start);
      const t = await startTestApp(engine, { server: { tls: { enabled: true, ...soon } } });
      try {
        await t.app.probes?.round();
        const [alert] = await platformAlerts(t, 'platform.certificate-expiry');
        assert.equal(alert?.subject, 'vault.clinic.example');
        assert.equal(alert?.severity, 'critical');
      } finally {
        await t.close();
      }
      const fine = await startTestApp(engine, { server: { tls: { enabled: true, ...(await certificateFiles(dir, 'fine.clinic.example', 365, start)) } } });
      try {
        await fine.app.probes?.round();
        assert.deepEqual(await platformAlerts(fine, 'platform.certificate-expiry'), []);
      } finally {
        await fine.close();
      }
    });

    it('a real disk under 10 % free raises platform.disk-space naming the path; with room it does not', async (context) => {
      const disk = join(scratch, `disk-${engine}`);
      const unmount = mountTinyDisk(disk, '1m');
      if (unmount === undefined) return noTinyDisk(context, 'no tmpfs could be mounted (not root)');
      const t = await startTestApp(engine);
      try {
        const probe = runProbes({ alerts: t.app.alerts, rules, configs: ruleConfigs(rules, {}), realm: 'operators', everyMs: 3_600_000, firstAfterMs: 3_600_000, read: platformReader({ now: () => Date.now(), since: Date.now(), diskPaths: [disk] }) });
        await probe.round();
        assert.deepEqual(await platformAlerts(t, 'platform.disk-space'), [], 'an empty disk');
        writeFileSync(join(disk, 'filler'), Buffer.alloc(1000 * 1024));
        await probe.round();
        await probe.stop();
        const [alert] = await platformAlerts(t, 'platform.disk-space');
        assert.equal(alert?.subject, disk);
        assert.equal(alert?.severity, 'critical');
      } finally {
        await t.close();
        unmount();
      }
    });
  });
}
