import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { operatorEvent, type AuditEventInput } from '../../../src/audit/index.js';
import { engines, json, patient, startTestApp, type TestApp } from '../../support/harness.js';

/** A request that announces 100 bytes of body, sends 26 and closes the connection. */
function abortedWrite(port: number, path: string, key: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${key}\r\ncontent-type: application/fhir+json\r\ncontent-length: 100\r\n\r\n{"resourceType":"Patient",`);
      setImmediate(() => socket.destroy());
    });
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
}

for (const engine of engines()) {
  describe(`aborted request bodies [${engine}]`, () => {
    let t: TestApp;
    let base: string;
    let port: number;
    let writer: string;
    let reader: string;
    let patientId: string;
    before(async () => {
      t = await startTestApp(engine);
      writer = await t.tenant('clinic');
      reader = await t.key('clinic', 'service-reader');
      base = await t.app.http.listen({ host: '127.0.0.1', port: 0 });
      port = Number(new URL(base).port);
      patientId = json(await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key: writer, body: patient() }))['id'];
    });
    after(() => t.close());

    it('never fail another caller’s reads, and are audited with the caller’s address', async () => {
      const statuses: number[] = [];
      for (let round = 0; round < 15; round += 1) {
        const reads = Array.from({ length: 12 }, async () => {
          const response = await fetch(`${base}/tenants/clinic/fhir/Patient/${patientId}`, { headers: { authorization: `Bearer ${reader}` } });
          await response.arrayBuffer();
          statuses.push(response.status);
        });
        const aborts = Array.from({ length: 12 }, () => abortedWrite(port, '/tenants/clinic/fhir/Patient', writer));
        await Promise.all([...reads, ...aborts]);
      }
      assert.deepEqual(
        statuses.filter((s) => s !== 200),
        [],
        'every read of the other key succeeded',
      );
      const events = await t.app.audit.query('clinic', { count: 10_000 });
      const aborted = events.filter((e) => e.detail === 'request-aborted');
      assert.ok(aborted.length > 0, 'the aborted writes are in the trail');
      assert.ok(
        aborted.every((e) => e.outcome === 'failure' && e.sourceIp === '127.0.0.1'),
        'each with its outcome and the caller’s address',
      );
      assert.deepEqual((await t.app.audit.verify('clinic')).findings, []);
    });

    it('commits the good events of a batch when one of them cannot be written', async () => {
      const good = (detail: string): AuditEventInput => operatorEvent('record.read', { id: 'test', role: 'service', client: 'test' }, { detail });
      // Queued in the same turn, so they would share one transaction: an event whose peer
      // address vanished with its connection, and one that cannot be stored at all.
      const addressless = { ...good('addressless'), sourceIp: undefined } as unknown as AuditEventInput;
      const malformed = { ...good('malformed'), action: 'record.teleported' } as unknown as AuditEventInput;
      const results = await Promise.allSettled([
        t.app.audit.record('clinic', [good('first')]),
        t.app.audit.record('clinic', [addressless]),
        t.app.audit.record('clinic', [malformed]),
        t.app.audit.record('clinic', [good('second')]),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
      );
      const events = await t.app.audit.query('clinic', { count: 10_000 });
      assert.deepEqual(
        events
          .filter((e) => ['first', 'addressless', 'second'].includes(e.detail))
          .map((e) => [e.detail, e.sourceIp])
          .reverse(),
        [
          ['first', 'local'],
          ['addressless', 'unknown'],
          ['second', 'local'],
        ],
      );
      assert.ok((await t.app.audit.verify('clinic')).findings.length === 0);
    });
  });
}
