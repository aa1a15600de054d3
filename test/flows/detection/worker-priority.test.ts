import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { niceOfThread } from '../../../src/platform/workers/thread-priority.js';
import { startTestApp, type TestApp } from '../../support/harness.js';

const linux = process.platform === 'linux';
const niceOf = (tid: number) => niceOfThread(tid, (path) => readFileSync(path, 'utf8'));

/**
 * The detection worker is background work: on Linux it lowers its own thread's priority at start,
 * so that on a busy machine the rules wait for the requests rather than the other way round — and
 * the server thread keeps the priority it had. (Engine-independent: SQLite only.)
 */
describe('the detection worker thread’s priority', { skip: linux ? false : 'per-thread nice values are Linux' }, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite', { detection: { thread: 'worker', niceness: 12 } });
    await t.tenant('clinic');
  });
  after(() => t.close());

  it('runs at the configured nice value, and the server thread at its own', async () => {
    const serverNice = niceOf(process.pid);
    await t.app.detection?.evaluate('clinic');
    const started = t.logs.map((line) => JSON.parse(line) as { event?: string; threadId?: number; nice?: number }).find((entry) => entry.event === 'detection.worker_started');
    assert.ok(started !== undefined, 'the worker said it started');
    assert.ok(typeof started.threadId === 'number' && started.threadId !== process.pid, 'a thread of its own');
    assert.equal(started.nice, 12);
    assert.equal(niceOf(started.threadId), 12, 'the kernel agrees');
    assert.equal(niceOf(process.pid), serverNice, 'the server thread is untouched');
  });
});
