import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { clusterStatus, readCluster, type FailoverReport } from '../../../src/ha/index.js';
import { alive, requestJson } from '../../../src/ha/processes.js';
import { loadBackupKey } from '../../../src/backup/index.js';
import { tresorHere } from '../../support/cli.js';
import { clusterSkipReason } from '../../support/cluster.js';

const skip = clusterSkipReason();

const tresor = (...argv: string[]) => tresorHere(argv);
const tresorWith = (env: Record<string, string>, ...argv: string[]) => tresorHere(argv, env);

/** What `eval "$(tresor cluster env --dir DIR)"` gives a shell. */
async function clusterEnv(dir: string): Promise<Record<string, string>> {
  const { stdout } = await tresor('cluster', 'env', '--dir', dir);
  const env: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^export (\w+)='(.*)'$/.exec(line);
    if (m !== null) env[m[1]!] = m[2]!.replace(/'\\''/g, "'");
  }
  env['TRESOR_DATA_DIR'] = join(dir, 'cli');
  return env;
}

/** `tresor keys shred` of a patient the failover drill wrote (one with a data key of its own); returns the subject. */
async function shredOnePatient(env: Record<string, string>): Promise<string> {
  const db = new pg.Client({ connectionString: env['TRESOR_POSTGRES_URL'] });
  await db.connect();
  try {
    const row = (await db.query<{ tenant: string; subject: string }>("SELECT tenant_id AS tenant, subject FROM tresor_keys.data_keys WHERE subject LIKE 'Patient/%' AND wrapped IS NOT NULL LIMIT 1")).rows[0];
    assert.ok(row !== undefined, 'the failover drill left patients');
    const shred = await tresorWith(env, 'keys', 'shred', '--tenant', row.tenant, '--subject', row.subject);
    assert.equal(shred.code, 0, shred.stderr);
    const left = await db.query('SELECT 1 FROM tresor_keys.data_keys WHERE subject = $1 AND wrapped IS NOT NULL', [row.subject]);
    assert.equal(left.rows.length, 0);
    return row.subject;
  } finally {
    await db.end();
  }
}

/**
 * Issue 8 end to end on real parts: etcd, three PostgreSQL nodes under Patroni (primary,
 * synchronous standby, DR standby), HAProxy and two Tresor nodes, all on loopback; then the
 * failover drill kills the primary with SIGKILL under a write load.
 */
describe('high availability: the loopback cluster and the failover drill', { skip, timeout: 400_000 }, () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tresor-ha-'));
    const started = await tresor('cluster', 'start', '--dir', dir);
    assert.equal(started.code, 0, started.stderr);
  });
  after(async () => {
    if (existsSync(join(dir, 'cluster.json'))) await tresor('cluster', 'stop', '--dir', dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts a primary, a synchronous standby and an asynchronous DR standby, HAProxy and two Tresor nodes', async () => {
    const status = await clusterStatus(dir);
    assert.deepEqual(status.members.map((m) => m.role).sort(), ['leader', 'replica', 'sync_standby']);
    assert.equal(status.members.find((m) => m.role === 'replica')?.name, 'pg3', 'the DR standby is never the synchronous one');
    assert.ok(status.processes.every((p) => p.running), JSON.stringify(status.processes));
    assert.equal(status.processes.filter((p) => p.name.startsWith('tresor')).length, 2);
    const { stdout, code } = await tresor('cluster', 'status', '--dir', dir);
    assert.equal(code, 0);
    assert.match(stdout, /pg3\treplica\t(running|streaming)/);
  });

  it('drill failover: SIGKILL of the primary under load loses no acknowledged write, writes succeed again within 15 s, no wrong answer, the audit chain holds, the old primary rejoins', async () => {
    const { state } = readCluster(dir);
    const before = state.postgres.map((n) => n.pid);
    const drill = await tresor('drill', 'failover', '--dir', dir);
    assert.equal(drill.code, 0, `${drill.stdout}\n${drill.stderr}`);
    const reportFile = readdirSync(join(dir, 'drills')).find((f) => /^failover-.*\.json$/.test(f));
    assert.ok(reportFile !== undefined);
    const report = JSON.parse(readFileSync(join(dir, 'drills', reportFile), 'utf8')) as FailoverReport;
    assert.equal(report.passed, true, report.failures.join('; '));
    assert.equal(report.rpoLostWrites, 0);
    assert.ok(report.acknowledged > 50, `a real load: ${report.acknowledged} acknowledged writes`);
    assert.ok(report.rtoMs !== undefined && report.rtoMs <= 15_000, `RTO ${report.rtoMs} ms`);
    assert.equal(report.wrongAnswers, 0);
    assert.ok((report.answers['503'] ?? 0) > 0 || report.networkErrors > 0, 'the outage was seen (as retryable 503s)');
    assert.notEqual(report.promoted, report.killed.node);
    assert.deepEqual(report.audit.findings, []);
    assert.ok(report.rejoinedMs !== undefined);
    // The acknowledgement log is the client's: one line per acknowledged write.
    assert.equal(readFileSync(report.ackLog, 'utf8').trim().split('\n').length, report.acknowledged);
    assert.equal(statSync(report.ackLog).mode & 0o077, 0);
    // The Tresor nodes were never restarted: the same processes served before and after.
    for (const node of readCluster(dir).state.tresor) assert.ok(alive(node.pid), `${node.name} still runs`);
    assert.ok(before.some((pid) => !alive(pid)), 'the killed Patroni is gone (it was restarted under a new pid)');
  });

  it('physical backups with pgBackRest: an encrypted repository, a backup, retention, info, verify', async () => {
    const env = await clusterEnv(dir);
    const run = await tresorWith(env, 'backup', 'physical', 'run', '--type', 'incr');
    assert.equal(run.code, 0, run.stderr);
    const label = run.stdout.trim().split('\n').at(-1)!;
    assert.match(label, /^\d{8}-\d{6}F_\d{8}-\d{6}I$/, 'an incremental on top of the cluster\'s first full backup');
    const info = await tresorWith(env, 'backup', 'physical', 'info', '--json');
    assert.equal(info.code, 0, info.stderr);
    const parsed = JSON.parse(info.stdout) as { cipher: string; backups: Array<{ label: string; type: string }>; archive?: { max: string } };
    assert.equal(parsed.cipher, 'aes-256-cbc');
    assert.ok(parsed.backups.some((b) => b.label === label && b.type === 'incr'));
    assert.ok(parsed.archive !== undefined, 'WAL is archived continuously');
    // Encrypted at rest: pgBackRest's files are OpenSSL-format ciphertext, nothing readable.
    const { state } = readCluster(dir);
    const manifest = readFileSync(join(state.pgbackrest.repoPath, 'backup', state.pgbackrest.stanza, label, 'backup.manifest'));
    assert.equal(manifest.subarray(0, 8).toString('latin1'), 'Salted__');
    assert.ok(!manifest.includes(Buffer.from('pg_data')), 'no plaintext manifest');
    const verify = await tresorWith(env, 'backup', 'physical', 'verify');
    assert.equal(verify.code, 0, verify.stdout);
    const retain = await tresorWith(env, 'backup', 'physical', 'retain');
    assert.equal(retain.code, 0, retain.stderr);
    assert.match(retain.stdout, /^keep\t\d{8}-\d{6}F\trecent/m);
  });

  it('drill restore: point-in-time recovery to a fresh restore point (after the failover, on the new timeline) with equal row counts, the markers on the right side, pg_amcheck and the audit chains; and to a time', async () => {
    const env = await clusterEnv(dir);
    const drill = await tresorWith(env, 'drill', 'restore');
    assert.equal(drill.code, 0, `${drill.stdout}\n${drill.stderr}`);
    assert.match(drill.stdout, /PASSED/);
    assert.match(drill.stdout, /markers \(before \/ after the target\) \| present \/ absent/);
    assert.match(drill.stdout, /\d+ tables, \d+ rows, 0 differ/);
    assert.match(drill.stdout, /pg_amcheck \| passed/);
    assert.match(drill.stdout, /audit chains \| 1 tenants \+ platform, \d+ events, 0 findings/, 'the drill tenant of the failover drill, verified on the restored data');
    const reports = readdirSync(join(dir, 'cli', 'restore-drills'));
    assert.equal(reports.length, 1);
    // The backup the drill restored is marked, and retention keeps it as the newest proven one.
    const info = JSON.parse((await tresorWith(env, 'backup', 'physical', 'info', '--json')).stdout) as { backups: Array<{ annotations: Record<string, string> }> };
    assert.ok(info.backups.some((b) => b.annotations['tresor-restore-drill'] !== undefined));
    const past = new Date(Date.now() - 1000).toISOString();
    // After that moment a patient is crypto-shredded: the restore to it brings the key back, and
    // the tombstone list (in the snapshot repository, outside the cluster) destroys it again.
    const shredded = await shredOnePatient(env);
    const toTime = await tresorWith(env, 'drill', 'restore', '--target', past);
    assert.equal(toTime.code, 0, `${toTime.stdout}\n${toTime.stderr}`);
    assert.match(toTime.stdout, /target \| time /);
    assert.match(toTime.stdout, /erasures \(tombstones\) \| [1-9]\d* erased subjects, [1-9]\d* had come back, [1-9]\d* key versions destroyed again, 0 left/, `${shredded} was erased after the target`);
    const future = await tresorWith(env, 'drill', 'restore', '--target', new Date(Date.now() + 3_600_000).toISOString());
    assert.equal(future.code, 1);
    assert.match(future.stderr, /not a past date and time/);
  });

  it('drill restore to a moment before a master key rotation: the old master version is kept for the physical backups, and the restored cluster reads with it; without it the drill fails naming it', async () => {
    const env = await clusterEnv(dir);
    const ring = JSON.parse(env['TRESOR_MASTER_KEY'] as string) as { format: string; current: number; keys: Record<string, string> };
    const rotated = { ...ring, current: 2, keys: { ...ring.keys, '2': randomBytes(32).toString('base64') } };
    const rotatedEnv = { ...env, TRESOR_MASTER_KEY: JSON.stringify(rotated) };
    const before = new Date(Date.now() - 1000).toISOString();
    const rotate = await tresorWith(rotatedEnv, 'keys', 'rotate', '--master');
    assert.equal(rotate.code, 0, rotate.stderr);
    assert.match(rotate.stdout, /kept for backups: master versions 1\b/, 'the physical backups and their WAL still need version 1');
    const status = await tresorWith(rotatedEnv, 'keys', 'status');
    assert.match(status.stdout, /master key version 1: kept for backups only \(.*physical/);

    const drill = await tresorWith(rotatedEnv, 'drill', 'restore', '--target', before);
    assert.equal(drill.code, 0, `${drill.stdout}\n${drill.stderr}`);
    assert.match(drill.stdout, /PASSED/);
    assert.match(drill.stdout, /audit chains \| 1 tenants \+ platform, \d+ events, 0 findings/);

    const lost = { ...env, TRESOR_MASTER_KEY: JSON.stringify({ ...ring, current: 2, keys: { '2': rotated.keys['2'] } }) };
    const failed = await tresorWith(lost, 'drill', 'restore', '--target', before);
    assert.equal(failed.code, 1, `${failed.stdout}\n${failed.stderr}`);
    assert.match(failed.stdout, /FAILED/);
    assert.match(failed.stdout, /master key version 1/);
  });

  it('/metrics on a node: replication lag and standby health per standby, synchronous standbys, the last WAL archived, the physical backup\'s age', async () => {
    const { state } = readCluster(dir);
    const ca = readFileSync(state.tls.certFile, 'utf8');
    const { status, body } = await requestJson(`https://127.0.0.1:${state.tresor[0]!.port}/metrics`, { ca });
    assert.equal(status, 200);
    const text = String(body);
    assert.match(text, /^tresor_postgres_replication_lag_bytes\{standby="pg\d",sync_state="sync"\} \d+/m);
    assert.match(text, /^tresor_postgres_replication_lag_bytes\{standby="pg3",sync_state="async"\} \d+/m);
    assert.match(text, /^tresor_postgres_replication_lag_seconds\{standby="pg3",sync_state="async"\} [\d.e-]+/m);
    assert.match(text, /^tresor_postgres_standby_streaming\{standby="pg3",sync_state="async"\} 1/m);
    assert.match(text, /^tresor_postgres_synchronous_standbys 1$/m);
    assert.match(text, /^tresor_postgres_wal_archive_last_success_timestamp_seconds \d/m);
    assert.match(text, /^tresor_physical_backup_age_seconds \d/m);
    assert.match(text, /^tresor_physical_backup_last_drill_timestamp_seconds \d/m);
  });

  it('pgbackrest verify finds a damaged file in the repository', async () => {
    const env = await clusterEnv(dir);
    const { state } = readCluster(dir);
    const archive = join(state.pgbackrest.repoPath, 'archive', state.pgbackrest.stanza);
    const timelineDir = readdirSync(archive).find((d) => /^\d+-\d+$/.test(d))!;
    const segmentDir = join(archive, timelineDir, readdirSync(join(archive, timelineDir)).filter((d) => /^[0-9A-F]{16}$/.test(d)).sort()[0]!);
    const victim = join(segmentDir, readdirSync(segmentDir).sort()[0]!);
    const bytes = readFileSync(victim);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(victim, bytes);
    const verify = await tresorWith(env, 'backup', 'physical', 'verify');
    assert.equal(verify.code, 1, verify.stdout);
    assert.match(verify.stdout, /FAILED: .*[0-9A-F]{24}-[0-9a-f]{40}\.lz4/, 'names the damaged WAL file');
  });

  it('writes no secret into any log, and stops every process it started', async () => {
    const { state, secrets } = readCluster(dir);
    const logs = readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    const passphrase = loadBackupKey({ env: secrets.backupKey }).repositoryPassphrase();
    const pgbackrestLogs = readdirSync(join(dir, 'pgbackrest', 'log')).map((f) => readFileSync(join(dir, 'pgbackrest', 'log', f), 'utf8')).join('\n');
    for (const [name, value] of [...Object.entries(secrets), ['repository passphrase', passphrase]]) {
      assert.ok(!logs.includes(value!), `${name} appears in a log`);
      assert.ok(!pgbackrestLogs.includes(value!), `${name} appears in pgBackRest's logs`);
    }
    // No file of the cluster's configuration holds the repository passphrase either.
    for (const f of readdirSync(join(dir, 'pgbackrest')).filter((f) => f.endsWith('.conf'))) assert.ok(!readFileSync(join(dir, 'pgbackrest', f), 'utf8').includes(passphrase), f);
    const stopped = await tresor('cluster', 'stop', '--dir', dir);
    assert.equal(stopped.code, 0, stopped.stderr);
    const pids = [state.etcd.pid, state.haproxy.pid, ...readCluster(dir).state.postgres.map((n) => n.pid), ...state.tresor.map((n) => n.pid)];
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} still runs`);
    const { stdout } = await import('node:child_process').then(({ spawnSync }) => spawnSync('pgrep', ['-f', dir], { encoding: 'utf8' }));
    assert.equal(stdout.trim(), '', 'no process of the cluster is left');
  });
});
