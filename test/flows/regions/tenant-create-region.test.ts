import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildCore } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { tresorHere } from '../../support/cli.js';

/** `tresor tenant create --region`: the tenant's data set in the region's directory, the region in its audit trail. */
describe('tresor tenant create --region', () => {
  let root: string;
  let configFile: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'tresor-regions-cli-'));
    configFile = join(root, 'tresor.json');
    writeFileSync(configFile, JSON.stringify({ dataDir: join(root, 'home'), regions: { ch: { dataDir: join(root, 'ch'), location: 'Zürich, CH' } }, log: { level: 'silent' } }));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('creates the tenant in the region named, says so, and refuses an unknown region', async () => {
    const created = await tresorHere(['tenant', 'create', 'zurich', '--region', 'ch', '--config', configFile]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /in region ch; data set: .*\/ch\/tenants\/zurich\.db/);
    assert.ok(existsSync(join(root, 'ch', 'tenants', 'zurich.db')));
    assert.ok(!existsSync(join(root, 'home', 'tenants', 'zurich.db')));

    const home = await tresorHere(['tenant', 'create', 'berlin', '--config', configFile]);
    assert.equal(home.code, 0, home.stderr);
    assert.match(home.stdout, /in region default;/);

    const unknown = await tresorHere(['tenant', 'create', 'paris', '--region', 'fr', '--config', configFile]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /No region "fr"/);

    const list = await tresorHere(['tenant', 'list', '--json', '--config', configFile]);
    const tenants = JSON.parse(list.stdout) as Array<{ id: string; region: string; dataSet: string }>;
    assert.deepEqual(
      tenants.map((t) => [t.id, t.region]),
      [
        ['berlin', 'default'],
        ['zurich', 'ch'],
      ],
    );

    const core = await buildCore(loadConfig({ file: configFile, env: {} }));
    try {
      const events = await core.audit.query('zurich', { actions: ['tenant.created'], count: 10 });
      assert.equal(events.length, 1);
      assert.equal(events[0]?.detail, 'region ch');
    } finally {
      await core.audit.close();
      await core.storage.close();
    }
  });
});
