import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FimError } from './errors.js';
import type { Fim } from './fim.js';
import { scheduleFimChecks } from './schedule.js';

/** A Fim whose answers the test sets; records what was called. */
function fakeFim(state: { file: boolean; ever: boolean; check: () => Promise<Awaited<ReturnType<Fim['check']>>> }) {
  const calls: string[] = [];
  const fim: Fim = {
    hasBaseline: async () => (calls.push('hasBaseline'), state.file),
    everBaselined: async () => (calls.push('everBaselined'), state.ever),
    makeBaseline: async () => (calls.push('makeBaseline'), { file: '/b.json', entries: 3, bytes: 10, at: '2026-12-07T00:00:00.000Z' }),
    check: async () => (calls.push('check'), state.check()),
  };
  return { fim, calls };
}

/** One round (the first runs at once), then stop. */
async function oneRound(fim: Fim) {
  const seen: string[] = [];
  const job = scheduleFimChecks({
    fim,
    everyMs: 3_600_000,
    firstAfterMs: 0,
    onBaselined: (made) => void seen.push(`baselined ${made.entries}`),
    onChecked: (result) => void seen.push(`checked ${result.changes.length}`),
    onChanges: (changes) => void seen.push(`changes ${changes.map((c) => `${c.change} ${c.path}`).join(', ')}`),
    onRefused: (error) => void seen.push(`refused ${error.code}`),
    onError: () => void seen.push('error'),
  });
  await job.stop();
  return seen;
}

const clean = async () => ({ changes: [], files: 3, baselineAt: 'x' });

describe('scheduleFimChecks', () => {
  it('a deployment that never had a baseline gets one at its first check, and nothing is compared', async () => {
    const { fim, calls } = fakeFim({ file: false, ever: false, check: clean });
    assert.deepEqual(await oneRound(fim), ['baselined 3']);
    assert.ok(!calls.includes('check'));
  });

  it('a baseline that went missing after one existed is refused, never re-made', async () => {
    const { fim, calls } = fakeFim({
      file: false,
      ever: true,
      check: async () => {
        throw new FimError('fim-baseline-missing', 'gone', { status: 500 });
      },
    });
    assert.deepEqual(await oneRound(fim), ['refused fim-baseline-missing']);
    assert.ok(!calls.includes('makeBaseline'));
  });

  it('an invalid baseline is refused; changes are reported; other failures go to onError', async () => {
    const invalid = fakeFim({
      file: true,
      ever: true,
      check: async () => {
        throw new FimError('fim-baseline-invalid', 'bad', { status: 500 });
      },
    });
    assert.deepEqual(await oneRound(invalid.fim), ['refused fim-baseline-invalid']);
    const changed = fakeFim({ file: true, ever: true, check: async () => ({ changes: [{ path: '/t/a', change: 'modified' }], files: 3, baselineAt: 'x' }) });
    assert.deepEqual(await oneRound(changed.fim), ['checked 1', 'changes modified /t/a']);
    assert.deepEqual(await oneRound(fakeFim({ file: true, ever: true, check: clean }).fim), ['checked 0']);
    const broken = fakeFim({
      file: true,
      ever: true,
      check: async () => {
        throw new Error('EIO');
      },
    });
    assert.deepEqual(await oneRound(broken.fim), ['error']);
  });
});
