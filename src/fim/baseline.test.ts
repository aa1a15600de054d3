import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Signer } from '../keys/index.js';
import { serialiseBaseline, signBaseline, verifyBaseline } from './baseline.js';
import { FimError } from './errors.js';
import type { Entry } from './scan.js';
import type { Target } from './watched.js';

function signerOf(version = 1): Signer {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { version, publicKey: createPublicKey(privateKey), sign: (text) => sign(null, Buffer.from(text, 'utf8'), privateKey).toString('base64url') };
}
const keyring = (...signers: Signer[]) => async (version: number): Promise<KeyObject | undefined> => signers.find((s) => s.version === version)?.publicKey;
const targets: Target[] = [{ path: '/opt/tresor/dist', kind: 'tree' }, { path: '/etc/tresor/master-key.json', kind: 'secret' }];
const entries: Entry[] = [
  { path: '/opt/tresor/dist/main.js', sha256: 'a'.repeat(64), size: 120, mode: '100644', uid: 0 },
  { path: '/etc/tresor/master-key.json', sha256: null, size: 180, mode: '100600', uid: 998 },
];
const refused = (e: unknown) => e instanceof FimError && e.code === 'fim-baseline-invalid';

describe('signed baseline', () => {
  const signer = signerOf();
  const text = serialiseBaseline(signBaseline(signer, targets, entries, new Date('2026-12-07T00:00:00Z')));

  it('verifies and reads back what was signed', async () => {
    const baseline = await verifyBaseline(text, keyring(signer));
    assert.deepEqual(baseline.entries, entries);
    assert.deepEqual(baseline.targets, targets);
    assert.equal(baseline.at, '2026-12-07T00:00:00.000Z');
  });

  it('never holds more of a secret than its presence, mode, owner and size', () => {
    assert.match(text, /"path":"\/etc\/tresor\/master-key.json","sha256":null,"size":180,"mode":"100600","uid":998/);
  });

  it('refuses an edited entry, a removed entry, an edited target, another key, an unknown key version and garbage', async () => {
    const edits = [
      text.replace('a'.repeat(64), 'b'.repeat(64)),
      text.replace(/,\n {4}\{"path":"\/etc[^\n]*/, ''),
      text.replace('"kind":"secret"', '"kind":"tree"'),
      text.replace('"size":120', '"size":121'),
      text.replace('2026-12-07', '2026-12-08'),
    ];
    for (const edited of edits) {
      assert.notEqual(edited, text);
      await assert.rejects(verifyBaseline(edited, keyring(signer)), refused);
    }
    await assert.rejects(verifyBaseline(text, keyring(signerOf())), refused, 'signed by another key');
    await assert.rejects(verifyBaseline(text, keyring()), refused, 'a key version this deployment does not have');
    await assert.rejects(verifyBaseline('{"format":"tresor-fim-baseline/1"', keyring(signer)), refused);
    await assert.rejects(verifyBaseline('[]', keyring(signer)), refused);
  });
});
