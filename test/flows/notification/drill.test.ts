import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Scope } from '../../../src/breach/index.js';
import type { IncidentCaller } from '../../../src/incidents/index.js';
import { drillFormat, readLastDrills, type DrillReport } from '../../../src/notification/index.js';
import { engines, startTestApp, type TestApp } from '../../support/harness.js';
import { smtpSkipReason, startSmtpRelay } from '../../support/smtp.js';
import { as, signInOperator, type Person } from '../../support/people.js';

const operator: IncidentCaller = { kind: 'operator', actor: { id: 'cli:drill-test', role: 'operator', client: 'tresor-cli' }, requestId: '', sourceIp: 'local', status: 0 };

/**
 * The notification drill end to end on a running app: synthetic tenants, the "stolen" key used
 * through the routes, the scope checked against the drill's own log, people resolved, the
 * report kept in the data directory and shown in /metrics; the drill's tenants are disabled and
 * its keys revoked afterwards; a failing step stops the drill and the report names it.
 */
for (const engine of engines()) {
  describe(`incident drill [${engine}]`, () => {
    let t: TestApp;
    let now = Date.parse('2026-06-01T09:00:00Z');
    const clock = { now: () => new Date((now += 1)) };
    let person: Person;
    const drillSection = async () => {
      const page = await as(t, person, { method: 'GET', url: '/platform/console/incidents/' });
      assert.equal(page.statusCode, 200);
      return /<section aria-labelledby="drill-heading">(.*?)<\/section>/s.exec(page.body)?.[1] ?? '';
    };
    before(async () => {
      t = await startTestApp(engine, {}, { clock });
      person = await signInOperator(t, 'operator', 'ops@hosting.example', () => now);
    });
    after(() => t.close());

    it('runs every step, keeps its report and leaves nothing usable behind', { timeout: 120_000 }, async () => {
      assert.match(await drillSection(), /No notification drill has run yet/);
      const report = await t.app.incidentDrill.run({ by: operator, patients: 12, read: 9 });
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal(report.format, drillFormat);
      assert.deepEqual(report.counts, { patientsRead: 18, patientsFound: 18, peopleResolved: 18 });
      assert.deepEqual(
        report.steps.map((s) => [s.name, s.ok, s.skipped === undefined]),
        [
          ['prepare synthetic tenants', true, true],
          ['simulate credential compromise', true, true],
          ['open incident', true, true],
          ['compute and freeze scope', true, true],
          ['resolve affected people', true, true],
          ['assess notification duties', true, true],
          ['generate drafts', true, true],
          ['deliver to test SMTP server', true, false],
          ['verify frozen scope', true, true],
          ['close incident', true, true],
          ['remove drill tenants', true, true],
        ],
      );
      assert.ok(report.steps.every((s) => s.seconds >= 0));
      assert.match(report.steps.find((s) => s.name === 'assess notification duties')?.detail ?? '', /^\d+ items, \d+ with a deadline$/);
      assert.equal(report.steps.find((s) => s.name === 'generate drafts')?.detail, '2 letter drafts, 18 letters checked for their addressee');
      assert.match(report.steps.find((s) => s.name === 'deliver to test SMTP server')?.skipped ?? '', /mails no one/);
      assert.equal(report.tenants.length, 2);
      for (const id of report.tenants) {
        assert.match(id, /^drill-\d{8}-[0-9a-f]{6}-[ab]$/);
        assert.equal((await t.app.tenants.get(id))?.status, 'disabled');
        for (const key of await t.app.apiKeys.list(id)) assert.ok(key.revokedAt !== undefined, 'every drill key revoked');
      }
      const incident = await t.app.incidents.get(operator, report.incidentId as string);
      assert.equal(incident.incident.state, 'closed');
      assert.match(incident.incident.title, /^Drill drill-/);

      // Kept like the restore drills': a JSON line in the data directory.
      const file = join(t.dataDir, 'incident-drills.jsonl');
      assert.ok(existsSync(file));
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(lines.length, 1);
      assert.deepEqual(JSON.parse(lines[0] as string), report);
      assert.doesNotMatch(lines[0] as string, /example\.org|Nowhere Lane/, 'no contact details of the synthetic people in the report');

      // Audited in the operators' trail.
      await t.app.audit.settle('operators');
      const [event] = await t.app.audit.query('operators', { actions: ['incident.drill_run'], count: 1 });
      assert.equal(event?.outcome, 'success');
      assert.match(event?.detail ?? '', /ok=true read=18 found=18/);
      assert.deepEqual(event?.resources, [`Incident/${report.incidentId}`]);

      const metrics = (await t.app.http.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(metrics, new RegExp(`tresor_incident_drill_last_success_timestamp_seconds ${Date.parse(report.at) / 1000}`));
      assert.match(metrics, /tresor_incident_drill_last_success 1/);
      assert.match(metrics, /tresor_incident_drill_last_duration_seconds \d/);
      const section = await drillSection();
      assert.match(section, /The last notification drill passed/);
      const health = await as(t, person, { method: 'GET', url: '/platform/console/health/' });
      assert.match(health.body, /Last notification drill passed/);
      assert.match(health.body, /Since the last notification drill passed/);
      assert.ok(section.includes(`datetime="${report.at}"`));
    });

    it('with a test SMTP server, each synthetic person with a mail address gets their own letter from it — and nobody else does', { timeout: 120_000, skip: smtpSkipReason() }, async () => {
      const relay = await startSmtpRelay();
      try {
        const report = await t.app.incidentDrill.run({ by: operator, patients: 6, read: 4, smtp: { host: '127.0.0.1', port: relay.port } });
        assert.equal(report.ok, true, JSON.stringify(report));
        const deliver = report.steps.find((s) => s.name === 'deliver to test SMTP server');
        assert.equal(deliver?.skipped, undefined);
        const mailed = Number(/^(\d+) letters mailed/.exec(deliver?.detail ?? '')?.[1]);
        assert.ok(mailed > 0, deliver?.detail);
        const mails = await relay.waitFor(mailed);
        assert.equal(mails.length, mailed, 'one mail per letter, none twice');
        const incident = report.incidentId as string;
        // Each mail went to a synthetic person, and names the person its address belongs to.
        const [scope] = await t.app.incidentScopes.list(operator, incident);
        const frozen = JSON.parse(await t.app.incidentScopes.get(operator, incident, (scope as { id: string }).id)) as Scope;
        const by = { actor: operator.actor, sourceIp: 'local', requestId: '' };
        const people = (await Promise.all(frozen.tenants.map((part) => t.app.affectedPeople.resolve(frozen, part.tenantId, by, 'en')))).flat();
        for (const mail of mails) {
          assert.match(mail.to, /@example\.org>?$/);
          const person = people.find((p) => p.email !== null && mail.to.includes(p.email));
          assert.ok(person !== undefined && person.name !== null && mail.text.includes(person.name), `${mail.to}: addressed to its own person`);
        }
        assert.equal(new Set(mails.map((m) => m.to)).size, mails.length);
      } finally {
        await relay.stop();
      }
    });

    it('a failing step stops the drill, still cleans up, and the report says which', { timeout: 120_000 }, async () => {
      const { createIncidentDrill, injectedDrillApi } = await import('../../../src/notification/index.js');
      const file = join(t.dataDir, 'incident-drills.jsonl');
      const seen: string[] = [];
      const drill = createIncidentDrill({
        api: injectedDrillApi(t.app.http),
        tenants: t.app.tenants,
        apiKeys: t.app.apiKeys,
        incidents: t.app.incidents,
        scopes: t.app.incidentScopes,
        people: t.app.affectedPeople,
        audit: t.app.audit,
        clock,
        operatorRealm: 'operators',
        reportFile: file,
        slots: {
          assess: async (context) => {
            seen.push(...context.expected.map((p) => p.email));
            return `${context.people.length} people assessed`;
          },
          drafts: async () => {
            throw new TypeError('no template for Patient/123 Alex Beispiel');
          },
        },
      });
      const report: DrillReport = await drill.run({ by: operator, patients: 4, read: 3 });
      assert.equal(report.ok, false);
      assert.equal(report.failedStep, 'generate drafts');
      assert.equal(report.error, 'TypeError', 'an unexpected error by its class only: its message may quote data');
      assert.deepEqual(report.steps.map((s) => s.name).slice(-3), ['assess notification duties', 'generate drafts', 'remove drill tenants']);
      assert.equal(report.steps.find((s) => s.name === 'assess notification duties')?.detail, '6 people assessed');
      assert.equal(seen.length, 6);
      assert.ok(seen.every((mail) => mail.endsWith('@example.org')), 'synthetic people at a reserved domain (RFC 2606)');
      for (const id of report.tenants) assert.equal((await t.app.tenants.get(id))?.status, 'disabled');
      assert.equal((await t.app.incidents.get(operator, report.incidentId as string)).incident.state, 'closed');
      const { last, lastPassed } = readLastDrills(file);
      assert.deepEqual(last, report);
      assert.equal(lastPassed?.ok, true, 'the first test’s drill is still the last that passed');
      const metrics = (await t.app.http.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(metrics, /tresor_incident_drill_last_success 0/);
      assert.match(metrics, new RegExp(`tresor_incident_drill_last_success_timestamp_seconds ${Date.parse(lastPassed?.at as string) / 1000}`));
      const section = await drillSection();
      assert.match(section, /The last notification drill failed at <q>generate drafts<\/q>/);
      assert.ok(section.includes(`datetime="${lastPassed?.at}"`), 'and when one last passed');
      await t.app.audit.settle('operators');
      const [event] = await t.app.audit.query('operators', { actions: ['incident.drill_run'], count: 1 });
      assert.equal(event?.outcome, 'failure');
      assert.match(event?.detail ?? '', /failed="generate drafts"/);
    });
  });
}
