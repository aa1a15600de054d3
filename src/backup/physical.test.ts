import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/index.js';
import { drillAnnotation, parseInfo, physicalRound, retentionView, type PhysicalBackup, type PhysicalBackups } from './physical.js';
import { applyRetention } from './retention.js';
import { backupKeysFrom } from './backup-keys.js';

// The shape `pgbackrest info --output=json` prints (2.45), trimmed to what Tresor reads.
const info = (backups: unknown[]) =>
  JSON.stringify([
    {
      name: 'tresor',
      status: { code: 0, message: 'ok' },
      cipher: 'aes-256-cbc',
      db: [{ id: 1, 'system-id': 7714461400827650145, version: '15' }],
      archive: [{ id: '15-1', min: '000000010000000000000001', max: '00000002000000000000000A' }],
      backup: backups,
    },
  ]);
const raw = (label: string, type: string, stop: number, annotation?: Record<string, string>, error = false) => ({
  label,
  type,
  prior: null,
  error,
  timestamp: { start: stop - 5, stop },
  info: { size: 1000, repository: { size: 300, delta: 200 } },
  archive: { start: '000000010000000000000003', stop: '000000010000000000000003' },
  ...(annotation === undefined ? {} : { annotation }),
});

describe('physical backups (pgBackRest): reading info and retention', () => {
  it('reads pgbackrest info --output=json: backups, their full backup, annotations, the WAL archive range', () => {
    const parsed = parseInfo(info([raw('20261201-000000F', 'full', 1_796_000_000, { [drillAnnotation]: '2026-12-01T01:00:00Z' }), raw('20261201-000000F_20261201-060000I', 'incr', 1_796_021_600)]), 'tresor');
    assert.equal(parsed.ok, true);
    assert.equal(parsed.cipher, 'aes-256-cbc');
    assert.deepEqual(parsed.archive, { min: '000000010000000000000001', max: '00000002000000000000000A' });
    assert.deepEqual(parsed.backups.map((b) => [b.label, b.type, b.full, b.stoppedAt]), [
      ['20261201-000000F', 'full', '20261201-000000F', 1_796_000_000_000],
      ['20261201-000000F_20261201-060000I', 'incr', '20261201-000000F', 1_796_021_600_000],
    ]);
    assert.equal(parsed.backups[0]!.annotations[drillAnnotation], '2026-12-01T01:00:00Z');
    assert.equal(parseInfo(info([]), 'other').ok, false, 'another stanza is no backup of this one');
  });

  it('retention sees one entry per full backup: at its newest dependent, proven when a drill passed on any backup of the chain, failed backups ignored', () => {
    const day = 86_400;
    const backups = parseInfo(
      info([
        raw('20260101-000000F', 'full', 1_767_225_600),
        raw('20260101-000000F_20260102-000000D', 'diff', 1_767_225_600 + day, { [drillAnnotation]: 'x' }),
        raw('20260201-000000F', 'full', 1_769_904_000, undefined, true),
      ]),
      'tresor',
    ).backups;
    assert.deepEqual(retentionView(backups), [{ id: '20260101-000000F', takenAt: (1_767_225_600 + day) * 1000, verified: true }]);
  });

  it('applies the snapshots\' policy: daily for 30 days, monthly for 13 months; expired sets are full backups (their dependents go with them)', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    const fulls = Array.from({ length: 400 }, (_, i) => {
      const at = new Date(now - i * 86_400_000);
      const label = `${at.toISOString().slice(0, 10).replace(/-/g, '')}-020000F`;
      return raw(label, 'full', Math.floor(at.getTime() / 1000));
    });
    const result = applyRetention(retentionView(parseInfo(info(fulls), 'tresor').backups), now, { allForHours: 48, dailyForDays: 30, monthlyForMonths: 13 });
    const kept = result.keep.map((k) => k.id);
    // 30 days (2 Nov – 1 Dec, also the newest of November and December) + 11 more months (Dec 2025 – Oct 2026).
    assert.equal(kept.length, 41);
    assert.ok(kept.includes('20261201-020000F'));
    assert.ok(kept.includes('20251231-020000F'), 'the newest of December last year: a monthly');
    assert.ok(!kept.includes('20251230-020000F'));
    assert.ok(result.drop.every((label) => /F$/.test(label)));
  });

  it('derives the repository passphrase from the backup key: stable, 384 bits, different per key', () => {
    const a = backupKeysFrom(Buffer.alloc(32, 1));
    assert.equal(a.repositoryPassphrase(), backupKeysFrom(Buffer.alloc(32, 1)).repositoryPassphrase());
    assert.notEqual(a.repositoryPassphrase(), backupKeysFrom(Buffer.alloc(32, 2)).repositoryPassphrase());
    assert.match(a.repositoryPassphrase(), /^[A-Za-z0-9_-]{64}$/);
  });

  it('configuration: physical backups are for PostgreSQL; the command splits on spaces', () => {
    assert.throws(() => loadConfig({ env: { TRESOR_PGBACKREST_CONFIG: '/etc/pgbackrest/pgbackrest.conf' } }), /physical backups \(pgBackRest\) are for the PostgreSQL engine/);
    const config = loadConfig({ env: { TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: 'postgres://u@127.0.0.1/db', TRESOR_BACKUP_REPOSITORY: '/mnt/backup/tresor', TRESOR_PGBACKREST_CONFIG: '/etc/pgbackrest/pgbackrest.conf', TRESOR_PGBACKREST_COMMAND: 'setpriv --reuid=postgres -- pgbackrest' } });
    assert.deepEqual(config.backup.physical.command, ['setpriv', '--reuid=postgres', '--', 'pgbackrest']);
    assert.equal(config.backup.physical.stanza, 'tresor');
    assert.equal(config.backup.physical.fullEveryHours, 24);
  });

  it('the server\'s round: a full backup when the newest good full one is older than fullEveryHours (or none), then retention; nothing otherwise', async () => {
    const calls: string[] = [];
    let backups: PhysicalBackup[] = [];
    const made = (label: string, stoppedAt: number, error = false): PhysicalBackup => ({ label, type: 'full', full: label, startedAt: stoppedAt - 1000, stoppedAt, sizeBytes: 1, repositoryBytes: 1, walStart: '', walStop: '', annotations: {}, error });
    // A recording stand-in for pgBackRest: the round's decisions are what is tested here; the
    // commands themselves run against real pgBackRest in test/flows/ha.
    const physical = {
      info: async () => ({ ok: true, message: 'ok', cipher: 'aes-256-cbc', backups, archive: undefined }),
      backup: async (type: string, reason: string) => {
        calls.push(`backup ${type} ${reason}`);
        const b = made(`new-${calls.length}`, now);
        backups = [...backups, b];
        return b;
      },
      retain: async () => {
        calls.push('retain');
        return { keep: [], drop: [] };
      },
    } as unknown as PhysicalBackups;
    const now = Date.parse('2026-12-01T12:00:00Z');
    const round = () => physicalRound(physical, { fullEveryMs: 24 * 3_600_000, now: () => now, retention: { allForHours: 48, dailyForDays: 30, monthlyForMonths: 13 } });
    assert.equal((await round())?.made.label, 'new-1', 'no backup at all: one now');
    assert.deepEqual(calls, ['backup full scheduled', 'retain']);
    assert.equal(await round(), undefined, 'a fresh one: nothing to do');
    backups = [made('old', now - 25 * 3_600_000), made('failed', now - 1000, true)];
    assert.ok((await round()) !== undefined, 'older than a day, and a failed backup does not count');
    assert.equal(calls.filter((c) => c.startsWith('backup')).length, 2);
  });
});
