import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordError } from '../records/index.js';
import { compartmentTypes, parseEverythingQuery } from './everything.js';

const limits = { defaultPageSize: 20, maxPageSize: 1000 };
const refused = (params: Array<[string, string]>) =>
  assert.throws(
    () => parseEverythingQuery(params, limits),
    (e: unknown) => e instanceof RecordError && e.code === 'search-invalid' && e.status === 400,
  );

describe('parseEverythingQuery', () => {
  it('defaults: every compartment type, the default page, from the start', () => {
    const q = parseEverythingQuery([], limits);
    assert.deepEqual(q.types, compartmentTypes);
    assert.equal(q.count, 20);
    assert.equal(q.since, undefined);
    assert.equal(q.after, undefined);
  });

  it('_since is an instant with a zone; _type keeps the compartment order; _cursor is type.id', () => {
    const q = parseEverythingQuery(
      [
        ['_since', '2026-01-02T03:04:05.123+01:00'],
        ['_type', 'Observation, Patient'],
        ['_count', '1000'],
        ['_cursor', 'Observation.0190-ab.c'],
      ],
      limits,
    );
    assert.equal(q.since, Date.parse('2026-01-02T02:04:05.123Z'));
    assert.deepEqual(q.types, ['Patient', 'Observation']);
    assert.equal(q.count, 1000);
    assert.deepEqual(q.after, { type: 'Observation', id: '0190-ab.c' });
    assert.deepEqual(q.applied, [
      ['_since', '2026-01-02T03:04:05.123+01:00'],
      ['_type', 'Patient,Observation'],
    ]);
  });

  it('refuses what it does not do rather than ignoring it', () => {
    refused([['_since', '2026-01-02']]);
    refused([['_since', '2026-01-02T03:04:05']]);
    refused([['_type', 'Practitioner']]);
    refused([['_type', '']]);
    refused([['_count', '0']]);
    refused([['_count', '1001']]);
    refused([['_cursor', 'Practitioner.x']]);
    refused([['_cursor', 'Observation.bad id']]);
    refused([['start', '2020-01-01']]);
    refused([
      ['_count', '5'],
      ['_count', '6'],
    ]);
  });
});
