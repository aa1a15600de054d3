import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEscalatedAlerts } from '../../../src/detection/index.js';
import { createIncidents, type IncidentCaller, type PublicUpdate } from '../../../src/incidents/index.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, errorCode, json, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInOperator, signInWithTotp, testPassword, type Person } from '../../support/people.js';
import { makeCertificate, smtpSkipReason, startSmtpRelay, type SmtpRelay, type TestCertificate } from '../../support/smtp.js';

const publicUrl = 'https://vault.clinic.example';
const from = 'Tresor <tresor@clinic.example>';

/**
 * Customer updates: an operator's update of an incident reaches each affected tenant's active
 * admins and its security contact by mail (a real SMTP relay), with a delivery record per
 * recipient on the operators' view, and shows in the tenant's view; an unaffected tenant hears
 * nothing. A public update names no tenant and no patient, and is handed to the status page's
 * `publish`, as are later state changes of that incident.
 */
for (const engine of engines()) {
  describe(`incident customer updates [${engine}]`, { skip: smtpSkipReason() }, () => {
    let cert: TestCertificate;
    let relay: SmtpRelay;
    let t: TestApp;
    let operator: Person;
    let northAdmin: Person;
    const base = fixedClock(new Date('2026-03-02T09:00:00Z'));
    const clock = { now: () => (base.advance(1), base.now()) };
    const now = () => base.now().getTime();
    const call = (who: Person, method: string, url: string, body?: unknown) => as(t, who, { method, url, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });

    before(async () => {
      cert = makeCertificate();
      relay = await startSmtpRelay({ tls: cert });
      t = await startTestApp(
        engine,
        { server: { publicUrl }, identity: { sessionIdleMinutes: 24 * 60 }, detection: { walkSeconds: 3600 }, mail: { smtp: { host: '127.0.0.1', port: relay.port, security: 'starttls', from, caFile: cert.certFile } } },
        { clock },
      );
      await t.app.tenants.create('north', 'Praxis Nord');
      await t.tenant('south');
      await t.tenant('quiet');
      operator = await signInOperator(t, 'operator', 'ops@hosting.example', now);
      northAdmin = await signInWithTotp(t, 'north', 'tenant-admin', 'admin@north.example', now);
      await signInWithTotp(t, 'south', 'tenant-admin', 'admin@south.example', now);
      await signInWithTotp(t, 'quiet', 'tenant-admin', 'admin@quiet.example', now);
      // An invited admin who never finished setting up has not proven the address: not mailed.
      await t.app.accounts.invite({ tenantId: 'south', role: 'tenant-admin', email: 'invited@south.example', by: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } });
      const settings = await call(northAdmin, 'PUT', '/tenants/north/alerts/settings', { timeZone: 'Europe/Berlin', workingHours: { days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00' }, securityContact: 'security@north.example' });
      assert.equal(settings.statusCode, 200, settings.body);
    });
    after(async () => {
      await t.close();
      await relay.stop();
    });

    it('reaches each affected tenant’s active admins and security contact, with a delivery record each; shown in the tenant’s view', async () => {
      const id = json(await call(operator, 'POST', '/platform/incidents', { title: 'Sign-in outage', severity: 'high', tenants: ['north', 'south'] })).id as string;
      const posted = await call(operator, 'POST', `/platform/incidents/${id}/updates`, { text: 'We found the cause and restored sign-in.\n\nNo data was read.' });
      assert.equal(posted.statusCode, 201, posted.body);
      await t.app.mail?.settled();
      const mails = (await relay.waitFor(3)).filter((m) => m.text.includes(id));
      assert.deepEqual(mails.map((m) => m.rcptTos[0]).sort(), ['admin@north.example', 'admin@south.example', 'security@north.example']);
      for (const mail of mails) {
        assert.ok(mail.text.includes('We found the cause and restored sign-in.'));
        assert.match(mail.text, new RegExp(`${publicUrl}/tenants/(north|south)/console/incidents/${id}`));
        assert.ok(mail.html?.includes('No data was read.'));
        assert.ok(!mail.text.includes(testPassword));
      }
      const north = mails.find((m) => m.rcptTos[0] === 'admin@north.example');
      assert.ok(north?.text.includes(`/tenants/north/console/incidents/${id}`) && north.subject.includes('Sign-in outage'));
      // The relay took each mail, so it left the outbox: sent.
      const detail = json(await call(operator, 'GET', `/platform/incidents/${id}`));
      assert.deepEqual(detail.deliveries.map((d: { tenant: string; recipient: string; status: string }) => `${d.tenant}:${d.recipient === 'security-contact' ? 'contact' : 'admin'}:${d.status}`).sort(), ['north:admin:sent', 'north:contact:sent', 'south:admin:sent']);
      assert.ok(!JSON.stringify(detail.deliveries).includes('@'), 'delivery records name accounts, not addresses');
      const tenantView = json(await call(northAdmin, 'GET', `/tenants/north/incidents/${id}`));
      assert.ok(tenantView.timeline.some((e: { kind: string; text: string }) => e.kind === 'update' && e.text.startsWith('We found the cause')));
      assert.deepEqual(tenantView.deliveries, [], 'who was mailed is the operators’ to see');
      assert.ok(!relay.received().some((m) => m.rcptTos.includes('admin@quiet.example')), 'an unaffected tenant hears nothing');
      const [event] = await t.app.audit.query('north', { count: 1, actions: ['incident.update_posted'] });
      assert.equal(event?.actor.id, `operator:${operator.accountId}`);
    });

    it('a public text naming a tenant or a patient is refused; a public update is handed to publish, and so are later state changes', async () => {
      const id = json(await call(operator, 'POST', '/platform/incidents', { title: 'Degraded API', severity: 'medium', tenants: ['north'] })).id as string;
      for (const publicText of ['Customers of north were affected.', 'Patients of praxis nord could not sign in.', 'Patient/123 could not be read.']) {
        const refused = await call(operator, 'POST', `/platform/incidents/${id}/updates`, { text: 'x', public: true, publicText });
        assert.deepEqual([refused.statusCode, errorCode(refused)], [422, 'public-text-refused'], publicText);
      }
      const noText = await call(operator, 'POST', `/platform/incidents/${id}/updates`, { text: 'x', public: true });
      assert.equal(errorCode(noText), 'incident-invalid');

      // The app leaves `publish` to the status page; the service with a recording one.
      const published: PublicUpdate[] = [];
      const incidents = createIncidents({
        storage: t.app.storage,
        clock,
        audit: t.app.audit,
        accounts: t.app.accounts,
        tenants: t.app.tenants,
        alerts: t.app.alerts,
        escalated: createEscalatedAlerts({ storage: t.app.storage, alerts: t.app.alerts, audit: t.app.audit, operatorRealm: 'operators' }),
        notifier: t.app.notifier,
        publicUrl,
        operatorRealm: 'operators',
        publish: async (update) => void published.push(update),
      });
      const caller: IncidentCaller = { kind: 'operator', actor: { id: `operator:${operator.accountId}`, role: 'operator', client: 'session' }, accountId: operator.accountId, requestId: 'test', sourceIp: '127.0.0.1', status: 200 };
      await incidents.transition(caller, id, 'contained', '');
      assert.equal(published.length, 0, 'nothing public before the first public update');
      await incidents.postUpdate(caller, id, { text: 'Tenants: we contained it.', publicText: 'Some API requests failed between 09:00 and 09:20 UTC; fixed.' });
      await incidents.transition(caller, id, 'recovered', '');
      assert.deepEqual(
        published.map((p) => [p.incidentId, p.title, p.severity, p.state, p.text]),
        [
          [id, 'Degraded API', 'medium', 'contained', 'Some API requests failed between 09:00 and 09:20 UTC; fixed.'],
          [id, 'Degraded API', 'medium', 'recovered', 'recovered'],
        ],
      );
      assert.ok(!/north|nord/i.test(JSON.stringify(published)), 'never a tenant');
      assert.equal((await incidents.get(caller, id)).incident.published, true);
    });

    it('in the app, a public update reaches the status page, its JSON and its feed; a state change follows it there', async () => {
      const id = json(await call(operator, 'POST', '/platform/incidents', { title: 'Slow record reads', severity: 'high', tenants: ['south'] })).id as string;
      const posted = await call(operator, 'POST', `/platform/incidents/${id}/updates`, { text: 'South: reads were slow.', public: true, publicText: 'Record reads were slow between 09:00 and 09:30 UTC.' });
      assert.equal(posted.statusCode, 201, posted.body);
      const incidentsJson = json(await t.inject({ method: 'GET', url: '/status/api/v2/incidents.json' })) as unknown as { incidents: Array<{ name: string; status: string; incident_updates: Array<{ body: string }> }> };
      const shown = incidentsJson.incidents.find((i) => i.name === 'Slow record reads');
      assert.ok(shown, 'the incident is on the status page');
      assert.ok(shown.incident_updates.some((u) => u.body === 'Record reads were slow between 09:00 and 09:30 UTC.'));
      const feed = (await t.inject({ method: 'GET', url: '/status/feed.atom' })).body;
      assert.match(feed, /Record reads were slow between 09:00 and 09:30 UTC\./);
      assert.ok(!/south|South: reads/.test(feed), 'only the public text, never the tenants\' text nor a tenant');
      assert.equal((await call(operator, 'POST', `/platform/incidents/${id}/state`, { to: 'closed', reason: 'Index rebuilt.' })).statusCode, 200);
      const after = json(await t.inject({ method: 'GET', url: '/status/api/v2/incidents.json' })) as unknown as { incidents: Array<{ name: string; status: string }> };
      assert.equal(after.incidents.find((i) => i.name === 'Slow record reads')?.status, 'resolved');
    });
  });
}
