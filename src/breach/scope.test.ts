import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRequest } from './inputs.js';
import { rawFilesScope } from './raw-files.js';
import { canonicalJson, scopeFormat, scopeHash, totalsOf } from './scope.js';

test('canonical JSON sorts keys at every depth and keeps array order', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: null, c: 'x' }, 2] }), '{"a":[{"c":"x","d":null},2],"b":1}');
  assert.equal(canonicalJson({ a: 1, skipped: undefined }), '{"a":1}');
});

test('the hash covers inputs and results, not when the scope was computed', () => {
  const tenant = rawFilesScope('acme', [{ type: 'Patient', id: 'p1', subject: 'Patient/p1', sealed: true }], false, 10);
  const base = { format: scopeFormat, inputs: { from: 1, to: 2, suspect: { kind: 'raw-files', keysExposed: false } as const, tenants: ['acme'] }, tenants: [tenant], totals: totalsOf([tenant]) } as const;
  const hash = scopeHash(base);
  assert.equal(scopeHash({ ...base, computedAt: 5, durationMs: 9 } as never), hash);
  assert.notEqual(scopeHash({ ...base, inputs: { ...base.inputs, to: 3 } }), hash);
  assert.notEqual(scopeHash({ ...base, totals: { ...base.totals, patients: 2 } }), hash);
});

test('raw files: sealed classes are ciphertext only unless the keys went with them', () => {
  const rows = [
    { type: 'Patient', id: 'p1', subject: 'Patient/p1', sealed: true },
    { type: 'Observation', id: 'o1', subject: 'Patient/p1', sealed: true },
    { type: 'Organization', id: 'x', subject: '_tenant', sealed: false },
  ];
  const safe = rawFilesScope('acme', rows, false, 10);
  assert.deepEqual(safe.classes.inClear, ['internal']);
  assert.ok(safe.classes.ciphertextOnly.includes('personal') && safe.classes.ciphertextOnly.includes('health'));
  assert.deepEqual(safe.patients.list.map((p) => [p.patient, p.disclosure]), [['Patient/p1', 'ciphertext-only']]);
  assert.equal(safe.records.count, 3);
  const exposed = rawFilesScope('acme', rows, true, 10);
  assert.deepEqual(exposed.classes.ciphertextOnly, []);
  assert.ok(exposed.classes.inClear.includes('personal'));
  assert.equal(exposed.patients.list[0]?.disclosure, 'in-clear');
});

test('requests: windows end before now, are at most 400 days, and name one kind of suspect', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');
  const parsed = parseRequest({ from: '2026-12-01T00:00:00Z', to: '2027-01-01T00:00:00Z', suspect: { kind: 'account', values: ['account:a1', 'a1', 'b2'] }, tenants: ['b', 'a', 'b'] }, now);
  assert.equal(parsed.to, now - 1);
  assert.deepEqual(parsed.suspect, { kind: 'account', values: ['a1', 'b2'] });
  assert.deepEqual(parsed.tenants, ['a', 'b']);
  const refused = [
    { from: 'yesterday', to: now, suspect: { kind: 'raw-files' }, tenants: 'all' },
    { from: now - 401 * 86_400_000, to: now, suspect: { kind: 'raw-files' }, tenants: 'all' },
    { from: now - 10, to: now - 20, suspect: { kind: 'raw-files' }, tenants: 'all' },
    { from: now - 10, to: now, suspect: { kind: 'api-key', values: [] }, tenants: 'all' },
    { from: now - 10, to: now, suspect: { kind: 'api-key', values: ["x' OR 1=1"] }, tenants: 'all' },
    { from: now - 10, to: now, suspect: { kind: 'raw-files', keysExposed: 'yes' }, tenants: 'all' },
    { from: now - 10, to: now, suspect: { kind: 'raw-files' }, tenants: [] },
  ];
  for (const request of refused) assert.throws(() => parseRequest(request as never, now), { code: 'scope-invalid' }, JSON.stringify(request));
});
