import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { KeyError, type DataKey } from '../keys/index.js';
import { sealFormatOne } from '../../test/support/legacy-sealing.js';
import { openResource, resealVersion, sealResource, type KeyLookup, type SealContext } from './sealing.js';

const keyOf = (keyId: string, version: number): DataKey => ({ keyId, version, subject: 'Patient/p1', key: randomBytes(32) });
const context: SealContext = { tenantId: 'clinic', type: 'Observation', id: 'o1', versionId: 1 };
const resource = {
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'Pulse, sitting' },
  subject: { reference: 'Patient/p1', display: 'Anna Müller' },
  valueString: 'line one\nline "two"',
  note: [{ text: 'said: "fine"' }],
};
const lookupOf =
  (...keys: DataKey[]): KeyLookup =>
  async (keyId, version) => {
    const found = keys.find((k) => k.keyId === keyId && k.version === version);
    if (found === undefined) throw new KeyError('key-shredded', 'gone', { status: 410 });
    return found;
  };
const codeOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error instanceof KeyError ? error.code : String(error);
  }
  return 'opened';
};

describe('record sealing', () => {
  const key = keyOf('0123456789abcdef', 1);

  it('seals every sealed element of a version in one envelope, and opens it to the same resource', async () => {
    const stored = sealResource(context, resource, key);
    assert.match(stored.sealed ?? '', /^\["v2\.0123456789abcdef\.1\.[A-Za-z0-9_-]+"\]$/);
    assert.deepEqual(JSON.parse(stored.plain), { resourceType: 'Observation', status: 'final' });
    const opened = await openResource(context, stored, lookupOf(key));
    assert.deepEqual(JSON.parse(opened.text), resource);
    assert.deepEqual(opened.sealedElements, ['code', 'subject', 'valueString', 'note']);
  });

  it('opens format 1 (one envelope per element) to the same text and element names', async () => {
    const one = sealFormatOne(context, resource, key);
    assert.equal((JSON.parse(one.sealed) as string[]).length, 4);
    const opened = await openResource(context, one, lookupOf(key));
    const two = await openResource(context, sealResource(context, resource, key), lookupOf(key));
    assert.equal(opened.text, two.text);
    assert.deepEqual(opened.sealedElements, two.sealedElements);
  });

  it('keeps an element name with a newline or a quote apart from the values', async () => {
    const odd = { resourceType: 'Observation', 'a\n"b":': 'x', valueString: 'y' };
    const opened = await openResource(context, sealResource(context, odd, key), lookupOf(key));
    assert.deepEqual(JSON.parse(opened.text), odd);
    assert.deepEqual(opened.sealedElements, ['a\n"b":', 'valueString']);
  });

  it('refuses an envelope moved to another record, version or tenant, or relabelled as format 1', async () => {
    const stored = sealResource(context, resource, key);
    for (const elsewhere of [{ ...context, id: 'o2' }, { ...context, versionId: 2 }, { ...context, tenantId: 'other' }, { ...context, type: 'Condition' }]) {
      assert.equal(await codeOf(openResource(elsewhere, stored, lookupOf(key))), 'integrity-failed', JSON.stringify(elsewhere));
    }
    const relabelled = { plain: stored.plain, sealed: `["v1.${(stored.sealed as string).slice(5, -2)}"]` };
    assert.equal(await codeOf(openResource(context, relabelled, lookupOf(key))), 'integrity-failed');
    // Not the last character: its low bits may be padding that decoding ignores.
    const text = stored.sealed as string;
    const flipped = `${text.slice(0, -10)}${text.at(-10) === 'A' ? 'B' : 'A'}${text.slice(-9)}`;
    assert.equal(await codeOf(openResource(context, { plain: stored.plain, sealed: flipped }, lookupOf(key))), 'integrity-failed');
  });

  it('a destroyed key leaves the version unreadable (key-shredded), never partly open', async () => {
    assert.equal(await codeOf(openResource(context, sealResource(context, resource, key), lookupOf())), 'key-shredded');
  });

  it('rotation re-seals either format as one envelope under the next key only', async () => {
    const next = keyOf('0123456789abcdef', 2);
    for (const stored of [sealFormatOne(context, resource, key), sealResource(context, resource, key)]) {
      const resealed = await resealVersion(context, stored, lookupOf(key), next);
      assert.equal(resealed.fields, 4);
      assert.match(resealed.sealed, /^\["v2\.0123456789abcdef\.2\./);
      assert.deepEqual(JSON.parse((await openResource(context, resealed, lookupOf(next))).text), resource);
      assert.equal(await codeOf(openResource(context, resealed, lookupOf(key))), 'key-shredded', 'the old key version no longer opens it');
    }
  });
});
