import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, parseWithSchema, type ConfigError, type ConfigInput } from './config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig();
    assert.equal(config.server.port, 8443);
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.dataDir, './data');
    assert.equal(config.server.tls.enabled, true);
    assert.equal(config.storage.engine, 'sqlite');
    assert.equal(config.storage.sqlite.synchronous, 'FULL');
    assert.equal(config.server.bodyLimitBytes, 1048576);
    assert.equal(config.server.processes, 1);
  });

  it('takes server.processes from TRESOR_SERVER_PROCESSES, a whole number from 1', () => {
    assert.equal(loadConfig({ env: { TRESOR_SERVER_PROCESSES: '2' } }).server.processes, 2);
    assert.throws(() => loadConfig({ env: { TRESOR_SERVER_PROCESSES: '0' } }), /config\.server\.processes \(from TRESOR_SERVER_PROCESSES\):/);
    assert.throws(() => loadConfig({ env: { TRESOR_SERVER_PROCESSES: 'two' } }), /config\.server\.processes \(from TRESOR_SERVER_PROCESSES\):/);
    assert.throws(() => loadConfig({ overrides: { server: { processes: 1.5 } } }), /config\.server\.processes:/);
  });

  it('layers file < environment < overrides', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'tresor.json');
    writeFileSync(file, JSON.stringify({ server: { port: 1000, host: '127.0.0.2' }, dataDir: '/from-file' }));
    const config = loadConfig({ file, env: { TRESOR_PORT: '2000' }, overrides: { dataDir: '/from-flag' } });
    assert.equal(config.server.port, 2000);
    assert.equal(config.server.host, '127.0.0.2');
    assert.equal(config.dataDir, '/from-flag');
  });

  it('names the exact setting that is wrong', () => {
    assert.throws(() => loadConfig({ env: { TRESOR_PORT: '99999' } }), (e: ConfigError) => e.code === 'config-invalid' && /^config\.server\.port \(from TRESOR_PORT\):/.test(e.message));
    assert.throws(() => loadConfig({ overrides: { server: { tls: { enabled: 'yes' as unknown as boolean } } } }), /config\.server\.tls\.enabled:/);
    assert.throws(() => loadConfig({ overrides: { storage: { shards: 3 } } as never }), /config\.storage\.shards: is not a known setting/);
    assert.throws(() => loadConfig({ env: { TRESOR_STORAGE: 'postgres' } }), /config\.storage\.postgres\.url: required/);
    assert.throws(() => loadConfig({ overrides: { server: { tls: { certFile: '/a.pem' } } } }), /certFile and keyFile/);
    const pgEnv = { TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: 'postgres://localhost/tresor', TRESOR_PGBACKREST_CONFIG: '/etc/pgbackrest/pgbackrest.conf' };
    assert.throws(() => loadConfig({ env: pgEnv }), /config\.backup\.repository: required with config\.backup\.physical\.configFile/, 'the tombstone list that outlives a point-in-time restore lives in the snapshot repository');
    assert.equal(loadConfig({ env: { ...pgEnv, TRESOR_BACKUP_REPOSITORY: '/srv/backups' } }).backup.repository, '/srv/backups');
  });

  it('refuses unsafe settings in production mode', () => {
    assert.throws(() => loadConfig({ env: { TRESOR_MODE: 'production' } }), /config\.server\.tls\.certFile: production needs a real certificate/);
    assert.throws(() => loadConfig({ env: { TRESOR_MODE: 'production', TRESOR_TLS: 'off' } }), /requires config\.server\.trustProxy/);
    assert.throws(
      () => loadConfig({ env: { TRESOR_MODE: 'production', TRESOR_TLS: 'off', TRESOR_TRUST_PROXY: 'true', TRESOR_SQLITE_SYNCHRONOUS: 'NORMAL' } }),
      /synchronous: must be FULL/,
    );
    assert.throws(
      () => loadConfig({ env: { TRESOR_MODE: 'production', TRESOR_TLS: 'off', TRESOR_TRUST_PROXY: 'true', TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: 'postgres://u@db.example.org/x' } }),
      /sslmode=verify-full/,
    );
    const safe = { TRESOR_MODE: 'production', TRESOR_TLS: 'off', TRESOR_TRUST_PROXY: 'true', TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: 'postgres://u@db.example.org/x?sslmode=verify-full', TRESOR_PUBLIC_URL: 'https://vault.example.org' };
    assert.throws(() => loadConfig({ env: { ...safe, TRESOR_MASTER_KEY: '{}', TRESOR_PUBLIC_URL: 'http://vault.example.org' } }), /config\.server\.publicUrl: production needs the https:\/\/ URL/);
    const { TRESOR_PUBLIC_URL: _unset, ...withoutUrl } = safe;
    assert.throws(() => loadConfig({ env: { ...withoutUrl, TRESOR_MASTER_KEY: '{}' } }), /config\.server\.publicUrl/);
    assert.throws(() => loadConfig({ env: safe }), /config\.keys\.masterKey: production takes the master key from TRESOR_MASTER_KEY/);
    assert.throws(() => loadConfig({ env: { ...safe, TRESOR_DATA_DIR: '/srv/tresor', TRESOR_MASTER_KEY_FILE: '/srv/tresor/keys/m.json' } }), /config\.keys\.masterKey/);
    assert.equal(loadConfig({ env: { ...safe, TRESOR_DATA_DIR: '/srv/tresor', TRESOR_MASTER_KEY_FILE: '/run/secrets/tresor-master.json' } }).mode, 'production');
    assert.equal(loadConfig({ env: { ...safe, TRESOR_MASTER_KEY: '{}' } }).mode, 'production');
  });

  it('refuses, in production, a backup key the first backup would make inside the data directory', () => {
    const safe = { TRESOR_MODE: 'production', TRESOR_TLS: 'off', TRESOR_TRUST_PROXY: 'true', TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: 'postgres://u@db.example.org/x?sslmode=verify-full', TRESOR_PUBLIC_URL: 'https://vault.example.org', TRESOR_MASTER_KEY: '{}', TRESOR_DATA_DIR: '/srv/tresor' };
    assert.equal(loadConfig({ env: safe }).mode, 'production', 'no backups configured: no backup key needed');
    const withRepository = { ...safe, TRESOR_BACKUP_REPOSITORY: '/mnt/backup/tresor' };
    assert.throws(() => loadConfig({ env: withRepository }), /config\.backup\.key: production takes the backup key from TRESOR_BACKUP_KEY \(or config\.backup\.keyFile outside config\.dataDir\)/);
    assert.throws(() => loadConfig({ env: { ...withRepository, TRESOR_BACKUP_KEY_FILE: '/srv/tresor/backup-key.json' } }), /config\.backup\.key:/);
    assert.throws(() => loadConfig({ env: { ...withRepository, TRESOR_PGBACKREST_CONFIG: '/etc/pgbackrest/pgbackrest.conf' } }), /config\.backup\.key:/, 'physical backups derive their passphrase from it');
    assert.equal(loadConfig({ env: { ...withRepository, TRESOR_BACKUP_KEY_FILE: '/run/secrets/tresor-backup.json' } }).mode, 'production');
    assert.equal(loadConfig({ env: { ...withRepository, TRESOR_BACKUP_KEY: '{}' } }).mode, 'production');
  });

  it('refuses, in production, a region whose master key or backup key would sit in its own data directory', () => {
    const env = { TRESOR_MODE: 'production', TRESOR_TLS: 'off', TRESOR_TRUST_PROXY: 'true', TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: 'postgres://u@db.example.org/x?sslmode=verify-full', TRESOR_PUBLIC_URL: 'https://vault.example.org', TRESOR_MASTER_KEY: '{}', TRESOR_DATA_DIR: '/srv/tresor' };
    const region = (ch: Record<string, unknown>) => ({ regions: { ch: { dataDir: '/srv/tresor-ch', postgres: { url: 'postgres://u@db-ch.example.org/x?sslmode=verify-full' }, ...ch } } });
    assert.throws(() => loadConfig({ env, overrides: region({}) }), /config\.regions\.ch\.keys\.masterKey: production takes region ch's master key from outside its data directory/);
    const keyed = { keys: { masterKeyFile: '/run/secrets/ch-master.json' } };
    assert.equal(loadConfig({ env, overrides: region(keyed) }).mode, 'production', 'no backups of ch: no backup key needed');
    assert.throws(() => loadConfig({ env, overrides: region({ ...keyed, backup: { repository: '/mnt/backup-ch' } }) }), /config\.regions\.ch\.backup\.key: production takes region ch's backup key/);
    assert.throws(() => loadConfig({ env, overrides: region({ ...keyed, backup: { repository: '/mnt/backup-ch', keyFile: '/srv/tresor-ch/backup-key.json' } }) }), /config\.regions\.ch\.backup\.key:/);
    assert.equal(loadConfig({ env, overrides: region({ ...keyed, backup: { repository: '/mnt/backup-ch', keyFile: '/run/secrets/ch-backup.json' } }) }).mode, 'production');
  });

  it('refuses plaintext audit shipping in production: the SIEM sink is tls:// only, even on loopback', () => {
    const safe = { TRESOR_MODE: 'production', TRESOR_TLS: 'off', TRESOR_TRUST_PROXY: 'true', TRESOR_MASTER_KEY: '{}', TRESOR_PUBLIC_URL: 'https://vault.example.org' };
    for (const url of ['tcp://siem.example.org:6514', 'tcp://127.0.0.1:514']) {
      assert.throws(() => loadConfig({ env: { ...safe, TRESOR_AUDIT_SYSLOG: url } }), /config\.audit\.sinks\.syslog: .*tls:\/\//, url);
    }
    assert.equal(loadConfig({ env: { ...safe, TRESOR_AUDIT_SYSLOG: 'tls://siem.example.org:6514' } }).audit.sinks.syslog, 'tls://siem.example.org:6514');
    assert.equal(loadConfig({ env: { TRESOR_AUDIT_SYSLOG: 'tcp://127.0.0.1:514' } }).audit.sinks.syslog, 'tcp://127.0.0.1:514', 'development keeps tcp:// for a local test collector');
  });

  it('gives, for the common settings checked without the schema, exactly what the schema gives', () => {
    const inputs: ConfigInput[] = [
      {},
      { dataDir: '/srv/tresor' },
      { dataDir: '/srv/tresor', server: { port: 0, host: '0.0.0.0' }, keys: { masterKey: '{}' } },
      { mode: 'development', storage: { engine: 'postgres', postgres: { url: 'postgres://localhost/tresor' } }, log: { level: 'silent' } },
      { keys: { masterKeyFile: '/run/secrets/m.json' }, audit: { checkpointDir: '/mnt/audit' }, backup: { repository: '/mnt/backup', key: '{}', keyFile: '/run/secrets/b.json' } },
      { server: {}, storage: { postgres: {} } },
    ];
    for (const input of inputs) assert.deepStrictEqual(loadConfig({ overrides: input }), parseWithSchema(input as Record<string, unknown>), JSON.stringify(input));
  });

  it('leaves a wrong common setting to the schema, with its message', () => {
    assert.throws(() => loadConfig({ overrides: { dataDir: '' } }), /config\.dataDir: Too small/);
    assert.throws(() => loadConfig({ env: { TRESOR_PORT: '8443.5' } }), /config\.server\.port \(from TRESOR_PORT\): /);
    assert.throws(() => loadConfig({ env: { TRESOR_MODE: 'staging' } }), /config\.mode \(from TRESOR_MODE\): /);
    assert.throws(() => loadConfig({ env: { TRESOR_BACKUP_REPOSITORY: 'x'.repeat(2001) } }), /config\.backup\.repository \(from TRESOR_BACKUP_REPOSITORY\): /);
    assert.throws(() => loadConfig({ overrides: { server: 'here' } as never }), /config\.server: /);
    assert.throws(() => loadConfig({ overrides: { keys: { masterKey: '{}', spare: '{}' } } as never }), /config\.keys\.spare: is not a known setting/);
  });
});
