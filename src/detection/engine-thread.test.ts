import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StorageConfig } from '../platform/db/index.js';
import { createEngineThread } from './engine-thread.js';
import { rules } from './rules/index.js';

describe('the detection worker, when it cannot run', () => {
  it('reports the failure, and is not started again at once for the next request', async () => {
    // Storage settings the worker cannot open at all (PostgreSQL without its settings): it dies at start.
    const logged: object[] = [];
    const engine = createEngineThread({
      storageConfig: { engine: 'postgres' } as unknown as StorageConfig,
      storage: { onReplace: () => undefined },
      clock: { now: () => new Date() },
      rules,
      overrides: {},
      operatorRealm: 'operators',
      batchEvents: 100,
      dedupMs: 60_000,
      niceness: 10,
      alerts: { relay: () => undefined },
      log: { error: (fields) => void logged.push(fields), info: () => undefined },
    });
    const job = engine.run({ realms: async () => [], wakeMs: 60_000, walkMs: 3_600_000 });
    try {
      await assert.rejects(engine.evaluate('clinic'));
      assert.equal(logged.length, 1, 'one failure, logged');
      await assert.rejects(engine.evaluate('clinic'), { code: 'detection-worker-exited', status: 503 });
      assert.equal(logged.length, 1, 'no second worker started right away');
    } finally {
      await job.stop();
    }
  });
});
