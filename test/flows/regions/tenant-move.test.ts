import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp, type Tresor } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { observation, patient } from '../../support/harness.js';
import { tresorHere } from '../../support/cli.js';
import { keyRows } from '../../support/key-store.js';


/** `tresor tenant move`: offline, SQLite; the records read the same in the new region, the old copy and its keys are gone, both trails record it. */
describe('tresor tenant move [sqlite]', () => {
  let root: string;
  let configFile: string;
  let home: string;
  let ch: string;
  const open = (): Promise<Tresor> => buildApp(loadConfig({ file: configFile, env: {}, overrides: { server: { tls: { enabled: false } } } }));

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'tresor-move-'));
    home = join(root, 'home');
    ch = join(root, 'ch');
    configFile = join(root, 'tresor.json');
    writeFileSync(configFile, JSON.stringify({ dataDir: home, regions: { ch: { dataDir: ch } }, log: { level: 'silent' }, detection: { enabled: false }, fim: { enabled: false } }));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('moves the data set and keys, verifies, switches, destroys the source, and records it', async () => {
    assert.equal((await tresorHere(['tenant', 'create', 'clinic', '--config', configFile])).code, 0);
    let app = await open();
    let key = (await app.apiKeys.create({ tenantId: 'clinic', role: 'service' })).key;
    const inject = (a: Tresor, method: 'GET' | 'POST', url: string, body?: unknown) =>
      a.http.inject({ method, url, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }) }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
    const made = await inject(app, 'POST', '/tenants/clinic/fhir/Patient', patient({ name: [{ family: 'Umzugstest' }] }));
    assert.equal(made.statusCode, 201);
    const id = (JSON.parse(made.body) as { id: string }).id;
    assert.equal((await inject(app, 'POST', '/tenants/clinic/fhir/Observation', observation(id))).statusCode, 201);
    // Checkpoints are written off the request path; the close writes the last one.
    await app.close();
    assert.ok(existsSync(join(home, 'audit-checkpoints', 'clinic.jsonl')));

    // Refused without a reason, to the region it is in, and when the target holds a data set already: nothing moves.
    assert.equal((await tresorHere(['tenant', 'move', '--tenant', 'clinic', '--to', 'ch', '--config', configFile])).code, 2);
    const same = await tresorHere(['tenant', 'move', '--tenant', 'clinic', '--to', 'default', '--reason', 'x', '--config', configFile]);
    assert.equal(same.code, 1);
    assert.match(same.stderr, /in region default already/);
    mkdirSync(join(ch, 'tenants'), { recursive: true });
    writeFileSync(join(ch, 'tenants', 'clinic.db'), 'stale');
    const blocked = await tresorHere(['tenant', 'move', '--tenant', 'clinic', '--to', 'ch', '--reason', 'x', '--config', configFile]);
    assert.equal(blocked.code, 1);
    assert.match(blocked.stderr, /holds a data set of clinic already.*nothing was moved/);
    assert.ok(existsSync(join(home, 'tenants', 'clinic.db')));
    rmSync(join(ch, 'tenants', 'clinic.db'));
    assert.equal(keyRows(join(ch, 'keys.db'), 'clinic'), 0);

    const moved = await tresorHere(['tenant', 'move', '--tenant', 'clinic', '--to', 'ch', '--reason', 'customer chose Switzerland', '--config', configFile]);
    assert.equal(moved.code, 0, moved.stderr);
    assert.match(moved.stdout, /moved tenant clinic from region default to ch/);
    assert.ok(existsSync(join(ch, 'tenants', 'clinic.db')));
    for (const suffix of ['', '-wal', '-shm']) assert.ok(!existsSync(join(home, 'tenants', `clinic.db${suffix}`)), `source file clinic.db${suffix} destroyed`);
    assert.equal(keyRows(join(home, 'keys.db'), 'clinic'), 0, 'no key of the tenant left in the source key store');
    assert.ok(!existsSync(join(home, 'audit-checkpoints', 'clinic.jsonl')), 'the trail’s checkpoints moved too');
    assert.ok(existsSync(join(ch, 'audit-checkpoints', 'clinic.jsonl')));
    assert.ok(keyRows(join(ch, 'keys.db'), 'clinic') > 0);

    app = await open();
    try {
      key = (await app.apiKeys.create({ tenantId: 'clinic', role: 'service' })).key;
      const read = await inject(app, 'GET', `/tenants/clinic/fhir/Patient/${id}`);
      assert.equal(read.statusCode, 200, read.body);
      assert.match(read.body, /Umzugstest/);
      assert.equal((await app.tenants.get('clinic'))?.region, 'ch');
      const events = await app.audit.query('clinic', { actions: ['tenant.region_moved'], count: 5 });
      assert.equal(events[0]?.detail, 'from default to ch: customer chose Switzerland');
      const operators = await app.audit.query('operators', { actions: ['tenant.region_moved'], count: 5 });
      assert.equal(operators.filter((e) => e.outcome === 'success').length, 1);
      // The two refusals (same region, a data set in the way) are in the operators' trail too.
      assert.equal(operators.filter((e) => e.outcome === 'failure').length, 2);
      assert.equal((await app.audit.verify('clinic')).findings.length, 0, 'the moved trail still verifies');
    } finally {
      await app.close();
    }
  });

  it('refuses while a server runs on the data directory, naming the online way; --clear-mark ends a crashed move’s 503', async () => {
    writeFileSync(join(home, 'server.pid'), String(process.ppid));
    try {
      const refused = await tresorHere(['tenant', 'move', '--tenant', 'clinic', '--to', 'default', '--reason', 'back', '--config', configFile]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /POST \/platform\/tenants\/clinic\/move.*console/);
    } finally {
      rmSync(join(home, 'server.pid'), { force: true });
    }
    let app = await open();
    try {
      assert.ok(await app.tenants.markMoving('clinic'), 'as a move that died would leave it');
    } finally {
      await app.close();
    }
    const moving = await tresorHere(['tenant', 'move', '--tenant', 'clinic', '--to', 'default', '--reason', 'back', '--config', configFile]);
    assert.match(moving.stderr, /being moved already.*nothing was moved/);
    const cleared = await tresorHere(['tenant', 'move', '--tenant', 'clinic', '--clear-mark', '--reason', 'the move crashed', '--config', configFile]);
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.match(cleared.stdout, /served again from region ch/);
    app = await open();
    try {
      assert.equal((await app.tenants.get('clinic'))?.movingSince, undefined);
    } finally {
      await app.close();
    }
  });
});
