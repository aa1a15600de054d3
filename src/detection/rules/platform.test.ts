import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlatformReading } from '../platform-reading.js';
import type { DetectionEvent } from '../types.js';
import { backupFailed } from './backup-failed.js';
import { backupOverdue } from './backup-overdue.js';
import { certificateExpiry } from './certificate-expiry.js';
import { diskSpace } from './disk-space.js';
import { replication } from './replication.js';

const now = Date.parse('2026-06-01T12:00:00Z');
const minutes = (n: number) => n * 60_000;
const reading = (parts: Partial<PlatformReading>): PlatformReading => ({ at: now, disks: [], ...parts });
const backups = (parts: Partial<NonNullable<PlatformReading['backups']>>) => reading({ backups: { scheduled: true, everyMinutes: 15, drillEveryHours: 24, since: now - minutes(24 * 60), lastSnapshotAt: now - minutes(5), lastDrillAt: now - minutes(60), lastDrillOk: true, ...parts } });

describe('platform probe rules', () => {
  it('platform.backup-overdue: two missed snapshots or a day and a half without a drill; never before one interval since start, never when unscheduled', () => {
    const d = backupOverdue.defaults;
    assert.deepEqual(backupOverdue.evaluate(backups({}), d, now), []);
    assert.deepEqual(backupOverdue.evaluate(backups({ lastSnapshotAt: now - minutes(29) }), d, now), [], 'one late snapshot is a slow run');
    assert.deepEqual(backupOverdue.evaluate(backups({ lastSnapshotAt: now - minutes(31) }), d, now).map((f) => f.subject), ['snapshot']);
    assert.deepEqual(backupOverdue.evaluate(backups({ lastDrillAt: now - minutes(37 * 60) }), d, now).map((f) => f.subject), ['drill']);
    const fresh = backups({ since: now - minutes(10) });
    const { lastSnapshotAt: _s, lastDrillAt: _d, ...none } = fresh.backups as NonNullable<PlatformReading['backups']>;
    assert.deepEqual(backupOverdue.evaluate(reading({ backups: none }), d, now), [], 'a server started ten minutes ago owes nothing yet');
    assert.deepEqual(backupOverdue.evaluate(backups({ scheduled: false, lastSnapshotAt: now - minutes(600) }), d, now), []);
    assert.deepEqual(backupOverdue.evaluate(reading({}), d, now), [], 'no repository, no backups to miss');
  });

  it('platform.replication: no synchronous standby is critical; a standby not streaming or far behind is high; a healthy pair is quiet', () => {
    const d = replication.defaults;
    const healthy = reading({ replication: { synchronous: 1, standbys: [{ name: 'node2', streaming: true, lagSeconds: 0.2 }] } });
    assert.deepEqual(replication.evaluate(healthy, d, now), []);
    const none = replication.evaluate(reading({ replication: { synchronous: 0, standbys: [] } }), d, now);
    assert.deepEqual(none.map((f) => [f.subject, f.severity]), [['synchronous-standby', 'critical']]);
    const behind = replication.evaluate(reading({ replication: { synchronous: 1, standbys: [{ name: 'node2', streaming: true, lagSeconds: 45 }, { name: 'node3', streaming: false, lagSeconds: undefined }] } }), d, now);
    assert.deepEqual(behind.map((f) => f.subject), ['standby:node2', 'standby:node3']);
    assert.deepEqual(replication.evaluate(reading({}), d, now), [], 'SQLite or a standby: nothing to say');
  });

  it('platform.certificate-expiry: warns three weeks ahead, critical in the last week, quiet before', () => {
    const d = certificateExpiry.defaults;
    const cert = (days: number) => reading({ certificate: { subject: 'vault.clinic.example', notAfter: now + days * 86_400_000 } });
    assert.deepEqual(certificateExpiry.evaluate(cert(60), d, now), []);
    assert.deepEqual(certificateExpiry.evaluate(cert(20), d, now).map((f) => f.severity), [undefined]);
    assert.deepEqual(certificateExpiry.evaluate(cert(3), d, now).map((f) => f.severity), ['critical']);
    assert.match(certificateExpiry.evaluate(cert(-1), d, now)[0]?.summary ?? '', /expired/);
  });

  it('platform.disk-space: under 10 % free is high, under 5 % critical, per path', () => {
    const d = diskSpace.defaults;
    const disk = (free: number) => ({ path: '/var/lib/tresor', freeBytes: free, totalBytes: 1000 });
    assert.deepEqual(diskSpace.evaluate(reading({ disks: [disk(500)] }), d, now), []);
    assert.deepEqual(diskSpace.evaluate(reading({ disks: [disk(90)] }), d, now).map((f) => [f.subject, f.severity]), [['/var/lib/tresor', undefined]]);
    assert.deepEqual(diskSpace.evaluate(reading({ disks: [disk(40)] }), d, now).map((f) => f.severity), ['critical']);
  });

  it('platform.backup-failed: one finding per failure, named by the operation; a failed drill or unreadable snapshot is critical', () => {
    const event = (detail: string) => ({ action: 'backup.failed', detail, seq: 1, at: now }) as unknown as DetectionEvent;
    const realm = { realm: 'operators', operators: true, timeZone: 'UTC', workingHours: { days: [1], start: '07:00', end: '19:00' } };
    assert.deepEqual(backupFailed.evaluate(event('snapshot: repository-unavailable'), undefined, {}, realm).findings?.map((f) => [f.subject, f.severity]), [['snapshot', undefined]]);
    assert.deepEqual(backupFailed.evaluate(event('drill: object-corrupt'), undefined, {}, realm).findings?.map((f) => [f.subject, f.severity]), [['drill', 'critical']]);
    assert.deepEqual(backupFailed.evaluate(event('physical full backup failed'), undefined, {}, realm).findings?.map((f) => f.subject), ['physical']);
  });
});
