import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type pg from 'pg';
import type { PhysicalBackups, PhysicalInfo } from '../backup/index.js';
import { registerReplicationMetrics } from './metrics.js';

describe('replication and physical-backup metrics', () => {
  it('one scrape asks PostgreSQL and pgBackRest once, however many gauges read them; cached until stale', async () => {
    const queries: string[] = [];
    const pool = {
      async query(sql: string) {
        queries.push(sql);
        if (sql.includes('pg_is_in_recovery')) return { rows: [{ r: false }] };
        if (sql.includes('pg_stat_replication')) return { rows: [{ name: 'pg2', state: 'streaming', sync_state: 'sync', lag_bytes: '128', lag_seconds: 0.002 }] };
        return { rows: [{ last: new Date(1_000_000), failed: '0' }] };
      },
    } as unknown as pg.Pool;
    let infos = 0;
    const info: PhysicalInfo = {
      ok: true,
      message: 'ok',
      cipher: 'aes-256-cbc',
      archive: undefined,
      backups: [{ label: 'b1', type: 'full', full: 'b1', startedAt: 1_000, stoppedAt: 2_000, sizeBytes: 1, repositoryBytes: 1, walStart: '', walStop: '', annotations: { 'tresor-restore-drill': '1970-01-01T00:00:03Z' }, error: false }],
    };
    const physical = {
      async info() {
        infos += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return info;
      },
    } as unknown as PhysicalBackups;
    let clock = 10_000;
    const registry = new Registry();
    registerReplicationMetrics(registry, pool, physical, () => clock);

    const text = await registry.metrics();
    assert.match(text, /^tresor_postgres_replication_lag_bytes\{standby="pg2",sync_state="sync"\} 128$/m);
    assert.match(text, /^tresor_postgres_synchronous_standbys 1$/m);
    assert.match(text, /^tresor_physical_backup_age_seconds 8$/m);
    assert.match(text, /^tresor_physical_backup_last_drill_timestamp_seconds 3$/m);
    assert.equal(infos, 1, 'three gauges, one pgbackrest info');
    assert.equal(queries.filter((q) => q.includes('pg_is_in_recovery')).length, 1, 'six gauges, one reading of PostgreSQL');

    await registry.metrics();
    assert.equal(infos, 1, 'cached');
    clock += 61_000;
    await registry.metrics();
    assert.equal(infos, 2, 'read again once stale');
    assert.equal(queries.filter((q) => q.includes('pg_is_in_recovery')).length, 2);
  });
});
