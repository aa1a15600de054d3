import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTally, recordOf, type TrailRow } from './tally.js';

const row = (seq: number, at: number, fields: Partial<TrailRow> = {}): TrailRow => ({ seq, at, action: 'record.read', outcome: 'success', resources: [`Patient/p${seq}/_history/1`], subjects: [`Patient/p${seq}`], classes: ['internal', 'personal'], ...fields });

test('successful reads disclose in clear, with first and last access and the count per patient', () => {
  const tally = createTally('acme', 10);
  tally.add(row(1, 100));
  tally.add(row(2, 300, { action: 'record.searched', resources: ['Observation/o1/_history/2', 'Observation/o2/_history/1'], subjects: ['Patient/p1', 'Patient/p2'], classes: ['health', 'internal'] }));
  tally.add(row(3, 200, { subjects: ['Patient/p1'], resources: ['Patient/p1/_history/2'] }));
  const scope = tally.finish();
  assert.deepEqual(scope.patients.list, [
    { patient: 'Patient/p1', disclosure: 'in-clear', first: 100, last: 300, accesses: 3, classes: ['health', 'internal', 'personal'] },
    { patient: 'Patient/p2', disclosure: 'in-clear', first: 300, last: 300, accesses: 1, classes: ['health', 'internal'] },
  ]);
  assert.deepEqual(scope.records.list, ['Observation/o1', 'Observation/o2', 'Patient/p1']);
  assert.deepEqual(scope.classes.inClear, ['health', 'internal', 'personal']);
  assert.deepEqual(scope.trail, { events: 3, firstSeq: 1, lastSeq: 3 });
  assert.deepEqual(scope.reasoning.disclosedBy, { 'record.read': 2, 'record.searched': 1 });
});

test('refusals and failures are attempts only; writes are changes; the rest is context', () => {
  const tally = createTally('acme', 10);
  tally.add(row(1, 100, { action: 'access.denied', outcome: 'failure', subjects: [], classes: [] }));
  tally.add(row(2, 150, { outcome: 'failure' }));
  tally.add(row(3, 170, { action: 'record.created' }));
  tally.add(row(4, 180, { action: 'token.issued', resources: [], subjects: [], classes: [] }));
  const scope = tally.finish();
  assert.equal(scope.patients.count, 0);
  assert.equal(scope.records.count, 0);
  assert.deepEqual(scope.classes.inClear, []);
  assert.deepEqual(scope.attempts, { count: 2, first: 100, last: 150, byAction: { 'access.denied': 1, 'record.read': 1 } });
  assert.deepEqual(scope.changes, { count: 1, records: 1 });
  assert.deepEqual(scope.reasoning.otherEvents, { 'token.issued': 1 });
});

test('lists stop at the limit, counts do not', () => {
  const tally = createTally('acme', 2);
  for (let i = 1; i <= 5; i++) tally.add(row(i, i));
  const scope = tally.finish();
  assert.equal(scope.patients.count, 5);
  assert.equal(scope.patients.list.length, 2);
  assert.equal(scope.patients.truncated, true);
  assert.equal(scope.records.truncated, true);
});

test('a record is named without its version', () => {
  assert.equal(recordOf('Observation/o1/_history/12'), 'Observation/o1');
  assert.equal(recordOf('Patient/p1'), 'Patient/p1');
});
