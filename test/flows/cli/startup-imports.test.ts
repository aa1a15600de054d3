import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tresorHere, tresorLoading } from '../../support/cli.js';

/**
 * Command start-up: a command loads what it needs and no more. Checked by what a real `tresor`
 * process loads, not by time (speed is measured by `npm run bench -- cli`): every runtime
 * dependency is forbidden unless the command is known to need it, so a new import that pulls
 * the server (fastify, oidc-provider, the FHIR validator, …) into every command fails here.
 */
const dependencies = Object.keys((JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);

const loadedAmong = (packages: Set<string>, allowed: readonly string[]) => dependencies.filter((name) => packages.has(name) && !allowed.includes(name));

describe('command start-up', () => {
  let dataDir: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tresor-startup-'));
    assert.equal((await tresorHere(['tenant', 'create', 'acme', '--data-dir', dataDir])).code, 0);
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('`tresor version` and `tresor help` load no dependency and none of the services', () => {
    for (const args of [['version'], ['help']]) {
      const run = tresorLoading(args);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(loadedAmong(run.packages, []), [], `tresor ${args.join(' ')}`);
      assert.ok(!run.sources.has('src/app.ts') && !run.sources.has('src/config/index.ts'), `tresor ${args.join(' ')} loads the services: ${[...run.sources].join(', ')}`);
    }
  });

  it('`tresor tenant list` on SQLite loads the engine and the platform data set, not the services or the configuration schema', () => {
    const run = tresorLoading(['tenant', 'list', '--data-dir', dataDir]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^acme\tactive\t/m);
    // Neither zod (the common settings are checked by hand), fastify, oidc-provider, WebAuthn, x509, ajv, pg, ssh2, prom-client, argon2, the word lists, …
    assert.deepEqual(loadedAmong(run.packages, ['better-sqlite3']), []);
    // … nor the services: no module beyond the tenants, the storage, the master key check, the configuration and the CLI's own.
    const beyond = [...run.sources].filter((file) => !/^src\/(main|version|platform-migrations)\.ts$|^src\/(cli|config|tenants|keys|platform)\/|^src\/identity\/migrations\.ts$|^src\/backup\/(outcomes|retention)\.ts$|^src\/detection\/escalated-migrations\.ts$|^src\/incidents\/migrations\.ts$|^src\/status\/migrations\.ts$|^src\/notification\/(assessment|drafts)-migrations\.ts$/.test(file));
    assert.deepEqual(beyond, [], 'modules `tresor tenant list` does not need');
  });

  it('the server’s modules load PDF rendering without pdf-lib: it is required at the first PDF, not at start-up', () => {
    // `tresor incident list` builds the services as `tresor start` does (app.ts), breach notices included.
    const run = tresorLoading(['incident', 'list', '--data-dir', dataDir]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.sources.has('src/notification/pdf.ts'), 'the notices module is part of the services');
    assert.ok(!run.packages.has('pdf-lib'), 'pdf-lib is not loaded before a PDF is asked for');
  });

  it('`tresor tenant list` checks the configuration with the schema where it holds more than the common settings', () => {
    const run = tresorLoading(['tenant', 'list', '--data-dir', dataDir], { TRESOR_SESSION_IDLE_MINUTES: '20' });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^acme\tactive\t/m);
    assert.ok(run.packages.has('zod'));
  });

  it('`tresor tenant list` on a new data directory sets the deployment up as before: master key, platform data set, key store', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'tresor-startup-fresh-'));
    try {
      const run = await tresorHere(['tenant', 'list', '--data-dir', fresh]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, '');
      for (const file of ['master-key.json', 'platform.db', 'keys.db', 'tenants/operators.db']) assert.ok(existsSync(join(fresh, file)), file);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});
