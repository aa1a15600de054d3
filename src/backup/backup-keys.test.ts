import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { backupKeysFrom } from './backup-keys.js';
import { BackupError } from './errors.js';

const keys = backupKeysFrom(randomBytes(32));
/** Database-like content: compressible, with random parts. */
const pagey = () => Buffer.concat(Array.from({ length: 64 }, (_, i) => Buffer.concat([randomBytes(512), Buffer.alloc(3584, i)])));

describe('backup keys: packs', () => {
  it('seals packs LZ4-compressed (version 3) and opens them; deflated packs (version 2) of older repositories still open', async () => {
    const plain = pagey();
    const lz4 = await keys.sealPack('packs/aa/a.pack', plain);
    const deflated = await keys.sealPack('packs/aa/a.pack', plain, { compression: 'deflate' });
    assert.equal(lz4[0], 3);
    assert.equal(deflated[0], 2);
    assert.ok(lz4.length < plain.length / 2);
    assert.deepEqual(await keys.openPack('packs/aa/a.pack', lz4), plain);
    assert.deepEqual(await keys.openPack('packs/aa/a.pack', deflated), plain);
  });

  it('seals incompressible packs as they are (version 1)', async () => {
    const plain = randomBytes(100_000);
    const sealed = await keys.sealPack('packs/bb/b.pack', plain);
    assert.equal(sealed[0], 1);
    assert.deepEqual(await keys.openPack('packs/bb/b.pack', sealed), plain);
  });

  it('refuses a pack under another name, with a flipped bit, or relabelled as another version', async () => {
    const sealed = await keys.sealPack('packs/cc/c.pack', pagey());
    const refused = async (name: string, data: Buffer) => assert.rejects(keys.openPack(name, data), (e: unknown) => e instanceof BackupError && e.code === 'object-corrupt');
    await refused('packs/cc/d.pack', sealed);
    const flipped = Buffer.from(sealed);
    flipped[40] = (flipped[40] as number) ^ 1;
    await refused('packs/cc/c.pack', flipped);
    for (const version of [1, 2, 4]) {
      const relabelled = Buffer.from(sealed);
      relabelled[0] = version;
      await refused('packs/cc/c.pack', relabelled);
    }
  });

  it('gives the chunking worker the key chunkName uses, as a copy', () => {
    const plain = randomBytes(4096);
    const key = keys.chunkNameKey();
    assert.equal(createHmac('sha256', key).update(plain).digest('hex').slice(0, 32), keys.chunkName(plain));
    key.fill(0);
    assert.equal(createHmac('sha256', keys.chunkNameKey()).update(plain).digest('hex').slice(0, 32), keys.chunkName(plain));
  });
});
