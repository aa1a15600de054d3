import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp, type Tresor } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { tresorHere } from '../../support/cli.js';
import { observation, patient } from '../../support/harness.js';

/**
 * `tresor privacy …` and `tresor retention …` beside a running server on the same data directory,
 * and `tresor keys shred` on the same path: the operator's tool overrides the medical-records duty
 * (and says so) but a legal hold stops it.
 */
describe('tresor privacy and retention commands', () => {
  let dataDir: string;
  let app: Tresor;
  const ids: Record<string, string> = {};
  const cli = (...args: string[]) => tresorHere([...args, '--data-dir', dataDir]);

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tresor-cli-privacy-'));
    assert.equal((await cli('tenant', 'create', 'acme')).code, 0);
    app = await buildApp(loadConfig({ env: {}, overrides: { dataDir, server: { tls: { enabled: false } }, log: { level: 'silent' } } }));
    const key = (await app.apiKeys.create({ tenantId: 'acme', role: 'service' })).key;
    const create = async (body: unknown) => {
      const r = await app.http.inject({ method: 'POST', url: `/tenants/acme/fhir/${(body as { resourceType: string }).resourceType}`, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/fhir+json' }, payload: JSON.stringify(body) });
      assert.equal(r.statusCode, 201, r.body);
      return (JSON.parse(r.body) as { id: string }).id;
    };
    ids['held'] = await create(patient());
    ids['treated'] = await create(patient());
    await create(observation(ids['treated'] as string, { effectiveDateTime: new Date().toISOString() }));
  });
  after(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a hold stops erasure and keys shred; released, keys shred overrides the duty and says so', async () => {
    const subject = `Patient/${ids['held']}`;
    const set = await cli('privacy', 'hold', 'set', '--tenant', 'acme', '--patient', subject, '--reason', 'court case 4 O 17/26');
    assert.equal(set.code, 0, set.stderr);
    const holdId = /legal hold ([0-9a-f-]{36})/.exec(set.stdout)?.[1] as string;
    const check = await cli('privacy', 'check', '--tenant', 'acme', '--patient', subject);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /legal hold .*court case 4 O 17\/26/);
    assert.match(check.stdout, /retention duty until 20\d\d/);
    const refused = await cli('privacy', 'erase', '--tenant', 'acme', '--patient', subject, '--reason', 'asked');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /legal hold/);
    const shredHeld = await cli('keys', 'shred', '--tenant', 'acme', '--subject', subject);
    assert.equal(shredHeld.code, 1, 'a hold stops the operator’s tool too');
    assert.match(shredHeld.stderr, /court case/);
    assert.equal((await cli('privacy', 'hold', 'release', '--tenant', 'acme', '--hold', holdId, '--reason', 'settled')).code, 0);
    assert.equal((await cli('privacy', 'hold', 'list', '--tenant', 'acme')).stdout, '', 'none in force');

    const duty = await cli('privacy', 'erase', '--tenant', 'acme', '--patient', subject, '--reason', 'asked');
    assert.equal(duty.code, 1, 'the duty stops a request');
    assert.match(duty.stderr, /must be kept until/);
    const shred = await cli('keys', 'shred', '--tenant', 'acme', '--subject', subject);
    assert.equal(shred.code, 0, shred.stderr);
    assert.match(shred.stdout, /1 key version\(s\) destroyed, 1 record\(s\) marked erased; the medical-records duty until 20\d\d-\d\d-\d\d was overridden/);
    const [record] = await app.erasures.list('acme');
    assert.equal(record?.source, 'cli');
    assert.ok(record?.dutyOverriddenUntil !== undefined);
    const listed = await cli('privacy', 'erasures', '--tenant', 'acme', '--json');
    assert.equal((JSON.parse(listed.stdout) as unknown[]).length, 1);
  });

  it('retention settings, preview and run', async () => {
    const settings = await cli('retention', 'settings', '--tenant', 'acme');
    assert.match(settings.stdout, /medical records duty: 10 years after the last treatment \(default\)/);
    assert.match(settings.stdout, /^health: 10 years after the last activity \(default\)$/m);
    const set = await cli('retention', 'set', '--tenant', 'acme', '--class', 'payment', '--years', 'none');
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /^payment: no limit after the last activity$/m);
    assert.equal((await cli('retention', 'set', '--tenant', 'acme', '--class', 'payment', '--years', 'soon')).code, 2);
    const preview = await cli('retention', 'preview', '--tenant', 'acme', '--days', '90', '--json');
    assert.deepEqual(JSON.parse(preview.stdout), [], 'nothing expires within 90 days');
    const run = await cli('retention', 'run', '--tenant', 'acme');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /0 patient\(s\) erased; records erased personal 0, health 0, payment 0; 0 held; 0 failed/);
    assert.equal((await app.retention.reports('acme')).length, 1);
  });
});
