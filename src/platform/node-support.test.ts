import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { nodeEndOfLifeWarning } from './node-support.js';

test('warns about a Node release past its end of life, and only then', () => {
  assert.match(nodeEndOfLifeWarning('v20.20.2', new Date('2026-12-06T00:00:00Z')) ?? '', /20\.20\.2 reached its end of life on 2026-04-30/);
  assert.equal(nodeEndOfLifeWarning('20.19.0', new Date('2026-04-30T23:00:00Z')), undefined);
  assert.equal(nodeEndOfLifeWarning('24.22.3', new Date('2026-12-06T00:00:00Z')), undefined);
  assert.match(nodeEndOfLifeWarning('24.22.3', new Date('2028-05-01T00:00:00Z')) ?? '', /end of life on 2028-04-30/);
  assert.match(nodeEndOfLifeWarning('25.1.0', new Date('2026-12-06T00:00:00Z')) ?? '', /not a long-term support release/);
  assert.equal(nodeEndOfLifeWarning('26.12.1', new Date('2026-12-06T00:00:00Z')), undefined);
});
