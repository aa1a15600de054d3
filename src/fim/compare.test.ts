import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareEntries } from './compare.js';
import type { Entry } from './scan.js';

const file = (path: string, sha: string, mode = '100644', uid = 1000, size = 3): Entry => ({ path, sha256: sha.repeat(64).slice(0, 64), size, mode, uid });

describe('compareEntries', () => {
  const before = [file('/t/a', 'a'), file('/t/b', 'b'), file('/t/c', 'c'), file('/t/d', 'd')];

  it('names each file once: modified, added, removed, mode-changed', () => {
    const after = [file('/t/a', 'a'), file('/t/b', 'x'), file('/t/c', 'c', '100755'), file('/t/e', 'e')];
    assert.deepEqual(compareEntries(before, after), [
      { path: '/t/b', change: 'modified' },
      { path: '/t/c', change: 'mode-changed' },
      { path: '/t/d', change: 'removed' },
      { path: '/t/e', change: 'added' },
    ]);
  });

  it('finds nothing when nothing changed', () => {
    assert.deepEqual(compareEntries(before, before), []);
  });

  it('a changed owner is a mode change; new contents and new mode together are one modification', () => {
    assert.deepEqual(compareEntries([file('/t/a', 'a')], [file('/t/a', 'a', '100644', 0)]), [{ path: '/t/a', change: 'mode-changed' }]);
    assert.deepEqual(compareEntries([file('/t/a', 'a')], [file('/t/a', 'z', '100600')]), [{ path: '/t/a', change: 'modified' }]);
  });

  it('a secret (no hash) is modified when its size changes, and a file become a link is modified', () => {
    const secret = (size: number): Entry => ({ path: '/k', sha256: null, size, mode: '100600', uid: 1 });
    assert.deepEqual(compareEntries([secret(10)], [secret(12)]), [{ path: '/k', change: 'modified' }]);
    assert.deepEqual(compareEntries([file('/t/a', 'a')], [file('/t/a', 'a', '120777')]), [{ path: '/t/a', change: 'modified' }]);
  });
});
