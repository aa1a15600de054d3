import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BackupError } from './errors.js';
import { lockRepository, withRepositoryLock } from './lock.js';
import { openLocalRepository } from './local-repository.js';

describe('repository locks: a prune never runs beside a backup', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tresor-lock-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const busy = (error: unknown) => error instanceof BackupError && error.code === 'backup-busy';

  it('shared locks go together; an exclusive lock waits for none and blocks every other', async () => {
    const repository = await openLocalRepository(dir);
    const one = await lockRepository(repository, 'shared', 'backup');
    const two = await lockRepository(repository, 'shared', 'verify');
    await assert.rejects(lockRepository(repository, 'exclusive', 'prune'), busy);
    assert.deepEqual((await repository.list('locks')).length, 2, 'a refused lock leaves no lock object behind');
    await one.release();
    await two.release();
    const prune = await lockRepository(repository, 'exclusive', 'prune');
    await assert.rejects(lockRepository(repository, 'shared', 'backup'), (e) => busy(e) && /prune/.test((e as Error).message), 'the message names the holder');
    await prune.release();
    assert.deepEqual(await repository.list('locks'), []);
  });

  it('of two processes starting at once, one backs off (each writes, then looks)', async () => {
    const repository = await openLocalRepository(dir);
    const results = await Promise.allSettled([lockRepository(repository, 'exclusive', 'prune'), lockRepository(repository, 'shared', 'backup')]);
    const won = results.filter((r) => r.status === 'fulfilled');
    // Exactly one: never both, and never neither (two that both back off would starve each other).
    assert.equal(won.length, 1, 'exactly one of the two holds the repository');
    const lost = results.find((r) => r.status === 'rejected');
    assert.ok(lost !== undefined && busy(lost.reason), 'the other is told the repository is busy');
    for (const r of won) await (r as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  });

  it('a lock a dead process left (not refreshed) is ignored and removed', async () => {
    const repository = await openLocalRepository(dir);
    let now = Date.now() - 3_600_000;
    const dead = await lockRepository(repository, 'shared', 'backup', { now: () => now, refreshMs: 3_600_000 });
    void dead; // never released: the process "died"
    now = Date.now();
    await withRepositoryLock(repository, 'exclusive', 'prune', async () => undefined, { now: () => now });
    assert.deepEqual(await repository.list('locks'), [], 'the stale lock is gone, and the prune released its own');
  });

  it('a holder refreshes its lock while it works', async () => {
    const repository = await openLocalRepository(dir);
    let now = 1_000_000;
    const lock = await lockRepository(repository, 'shared', 'backup', { now: () => now, refreshMs: 20 });
    now = 2_000_000;
    await new Promise((resolve) => setTimeout(resolve, 80));
    const body = JSON.parse((await repository.get(lock.name)).toString('utf8')) as { refreshedAt: number };
    assert.equal(body.refreshedAt, 2_000_000);
    await lock.release();
  });
});
