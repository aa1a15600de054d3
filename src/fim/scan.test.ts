import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { scanTargets } from './scan.js';
import { codeDirOf, watchedTargets } from './watched.js';

describe('scanTargets', () => {
  const root = mkdtempSync(join(tmpdir(), 'tresor-fim-scan-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('hashes every file through a small buffer, records links as links, follows a linked target, skips missing ones', async () => {
    mkdirSync(join(root, 'real', 'deep', 'er'), { recursive: true });
    const big = Buffer.alloc(300_000, 7);
    writeFileSync(join(root, 'real', 'deep', 'er', 'big.bin'), big);
    writeFileSync(join(root, 'real', 'a.js'), 'a');
    chmodSync(join(root, 'real', 'a.js'), 0o755);
    symlinkSync('a.js', join(root, 'real', 'link.js'));
    symlinkSync(join(root, 'real'), join(root, 'linked'));
    const entries = await scanTargets([{ path: join(root, 'linked'), kind: 'tree' }, { path: join(root, 'nothing-here'), kind: 'tree' }, { path: join(root, 'real', 'a.js'), kind: 'secret' }], { bufferBytes: 4096 });
    const byPath = new Map(entries.map((e) => [e.path.slice(root.length), e]));
    assert.deepEqual([...byPath.keys()], ['/linked/a.js', '/linked/deep/er/big.bin', '/linked/link.js', '/real/a.js']);
    assert.equal(byPath.get('/linked/deep/er/big.bin')?.sha256, createHash('sha256').update(big).digest('hex'));
    assert.equal(byPath.get('/linked/deep/er/big.bin')?.size, 300_000);
    assert.equal(byPath.get('/linked/a.js')?.mode, '100755');
    assert.equal(byPath.get('/linked/link.js')?.mode.slice(0, 3), '120');
    assert.equal(byPath.get('/linked/link.js')?.sha256, createHash('sha256').update('a.js').digest('hex'));
    assert.equal(byPath.get('/real/a.js')?.sha256, null, 'a secret is never hashed');
  });

  it('watches dist/ when it is built, src/ only without it, and the key ring as a secret', () => {
    const install = join(root, 'install');
    mkdirSync(join(install, 'src'), { recursive: true });
    assert.equal(codeDirOf(install), join(install, 'src'));
    mkdirSync(join(install, 'dist'));
    assert.equal(codeDirOf(install), join(install, 'dist'));
    const targets = watchedTargets({ installDir: install, configFile: '/etc/tresor.json', tls: { enabled: true, certFile: '/etc/c.pem', keyFile: '/etc/k.pem' }, masterKeyFile: '/etc/master.json', dataDir: '/var/lib/tresor', roots: ['/etc/tresor.json', '/etc/nginx'] });
    assert.deepEqual(targets, [
      { path: join(install, 'dist'), kind: 'tree' },
      { path: join(install, 'package.json'), kind: 'tree' },
      { path: join(install, 'package-lock.json'), kind: 'tree' },
      { path: join(install, 'node_modules'), kind: 'tree' },
      { path: join(install, 'docs', 'runbooks'), kind: 'tree' },
      { path: '/etc/tresor.json', kind: 'tree' },
      { path: '/etc/c.pem', kind: 'tree' },
      { path: '/etc/k.pem', kind: 'tree' },
      { path: '/etc/nginx', kind: 'tree' },
      { path: '/etc/master.json', kind: 'secret' },
    ]);
  });
});
