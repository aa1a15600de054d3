import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fimChanged, type FimReading } from './fim-changed.js';

const roots = ['/opt/tresor/dist', '/opt/tresor/node_modules', '/etc/tresor/tresor.json'];
const evaluate = (reading: Partial<FimReading>, config = fimChanged.defaults) => fimChanged.evaluate({ changes: [], roots, ...reading }, config, 0);

describe('rule fim.changed', () => {
  it('triggers: one finding per changed file, the path its subject, the kind of change in words', () => {
    const findings = evaluate({
      changes: [
        { path: '/opt/tresor/dist/records/records.js', change: 'modified' },
        { path: '/opt/tresor/node_modules/dep/postinstall.js', change: 'added' },
        { path: '/etc/tresor/tresor.json', change: 'mode-changed' },
      ],
    });
    assert.deepEqual(
      findings.map((f) => [f.subject, f.summary, f.severity]),
      [
        ['/opt/tresor/dist/records/records.js', '/opt/tresor/dist/records/records.js was modified since the file integrity baseline', undefined],
        ['/opt/tresor/node_modules/dep/postinstall.js', '/opt/tresor/node_modules/dep/postinstall.js was added since the file integrity baseline', undefined],
        ['/etc/tresor/tresor.json', '/etc/tresor/tresor.json had its permissions or owner changed since the file integrity baseline', undefined],
      ],
    );
    assert.equal(fimChanged.severity, 'high');
  });

  it('does not trigger when nothing changed, nor on the platform probe\'s reading (not a file integrity check)', () => {
    assert.deepEqual(evaluate({}), []);
    const platformReading = { at: 0, disks: [{ path: '/var/lib/tresor', freeBytes: 1, totalBytes: 100 }] };
    assert.deepEqual(fimChanged.evaluate(platformReading as unknown as FimReading, fimChanged.defaults, 0), []);
  });

  it('a baseline that does not verify is critical; one that went missing is high', () => {
    assert.deepEqual(evaluate({ baseline: { path: '/var/lib/tresor/fim-baseline.json', problem: 'invalid' } }).map((f) => [f.subject, f.severity]), [['/var/lib/tresor/fim-baseline.json', 'critical']]);
    assert.deepEqual(evaluate({ baseline: { path: '/var/lib/tresor/fim-baseline.json', problem: 'missing' } }).map((f) => [f.subject, f.severity]), [['/var/lib/tresor/fim-baseline.json', 'high']]);
  });

  it('beyond maxFileAlerts, one finding per watched path counts the rest (an npm ci without a re-baseline)', () => {
    // Sorted by path, as checks report them.
    const changes = [{ path: '/opt/tresor/dist/main.js', change: 'modified' as const }, ...Array.from({ length: 30 }, (_, i) => ({ path: `/opt/tresor/node_modules/p${String(i).padStart(2, '0')}/index.js`, change: 'modified' as const }))];
    const findings = evaluate({ changes }, { maxFileAlerts: 25 });
    assert.equal(findings.length, 26);
    assert.deepEqual(findings.at(-1), { subject: '/opt/tresor/node_modules', summary: '6 more file(s) under /opt/tresor/node_modules changed since the file integrity baseline (beyond 25 alerted one by one)', evidence: [] });
  });
});
