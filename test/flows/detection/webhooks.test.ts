import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createAlertDelivery, createWebhookSend, verifyWebhook, type WebhookDeliveryView } from '../../../src/detection/index.js';
import { insertAlert } from '../../../src/detection/store.js';
import { engines, errorCode, json, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInOperator } from '../../support/people.js';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A webhook receiver on loopback: records every POST and answers 200, or once the status of the
 * first queued answer whose text the body contains (other alerts the rules raise meanwhile get 200).
 */
async function startReceiver(): Promise<{ url: string; received: Received[]; answers: Array<{ when: string; status: number }>; close(): Promise<void> }> {
  const received: Received[] = [];
  const answers: Array<{ when: string; status: number }> = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: request.headers, body });
      const answer = answers.findIndex((a) => body.includes(a.when));
      response.statusCode = answer < 0 ? 200 : (answers.splice(answer, 1)[0] as { status: number }).status;
      response.end('receiver body that Tresor must not keep');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/tresor`, received, answers, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Signed webhooks for alerts, against a real HTTP receiver on loopback: what arrives, that its
 * signature verifies (with Tresor's function and with a plain HMAC), retries with backoff on an
 * injected clock, the delivery log, a restart between an alert and its delivery, and that the
 * signing secret appears nowhere after its one showing.
 */
for (const engine of engines()) {
  describe(`alert webhooks [${engine}]`, () => {
    let t: TestApp;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let admin: string;
    let endpoint: { id: string; secret: string };
    let offset = 0;
    const clock = { now: () => new Date(Date.now() + offset) };
    const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);

    before(async () => {
      receiver = await startReceiver();
      // The engine off: alerts are raised by the test alone, so nothing else reaches the receiver meanwhile.
      t = await startTestApp(engine, { detection: { enabled: false } }, { clock });
      await t.tenant('clinic');
      admin = await t.key('clinic', 'tenant-admin');
    });
    after(async () => {
      await t?.close();
      await receiver?.close();
    });

    const api = (method: string, url: string, key: string, body?: unknown) => t.inject({ method, url, key, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
    const deliveriesOf = async (id: string) => json<{ deliveries: WebhookDeliveryView[] }>(await api('GET', `/tenants/clinic/alerts/webhooks/${id}/deliveries`, admin)).deliveries;
    const raise = (subject: string) => t.app.alerts.raise('clinic', 'auth.brute-force', { subject, summary: `5 failed sign-ins against ${subject} in 10 minutes` });

    it('registers an endpoint for tenant admins only, showing the secret once', async () => {
      const service = await t.key('clinic', 'service');
      assert.equal((await api('POST', '/tenants/clinic/alerts/webhooks', service, { url: receiver.url })).statusCode, 403);
      assert.equal((await api('GET', '/tenants/clinic/alerts/webhooks', service)).statusCode, 403);
      assert.equal(errorCode(await api('POST', '/tenants/clinic/alerts/webhooks', admin, { url: 'ftp://127.0.0.1/x' })), 'webhook-invalid');
      const created = await api('POST', '/tenants/clinic/alerts/webhooks', admin, { url: receiver.url, description: 'SOC' });
      assert.equal(created.statusCode, 201);
      endpoint = json<{ id: string; secret: string }>(created);
      assert.match(endpoint.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
      const listed = await api('GET', '/tenants/clinic/alerts/webhooks', admin);
      assert.deepEqual(json<{ webhooks: Array<{ id: string; url: string }> }>(listed).webhooks.map((w) => [w.id, w.url]), [[endpoint.id, receiver.url]]);
      assert.ok(!listed.body.includes(endpoint.secret), 'the list never shows the secret');
      // The platform's own endpoints are the operators' (a session with a second factor).
      assert.equal((await api('GET', '/platform/alerts/webhooks', admin)).statusCode, 401);
      assert.equal((await api('POST', '/platform/alerts/webhooks', admin, { url: receiver.url })).statusCode, 401);
      const trail = await t.app.audit.query('clinic', { count: 5, actions: ['alert.webhook_added'] });
      assert.equal(trail.length, 1);
      assert.ok(!JSON.stringify(trail).includes(endpoint.secret));
    });

    it('posts a raised alert, signed: Tresor’s verifier and an independent HMAC agree; a changed body or an old timestamp fails', async () => {
      const alert = await raise('Account/a1');
      await until(() => receiver.received.some((r) => r.body.includes(alert.id)), 'the webhook');
      const got = receiver.received.find((r) => r.body.includes(alert.id)) as Received;
      const timestamp = String(got.headers['tresor-timestamp']);
      const signature = String(got.headers['tresor-signature']);
      assert.ok(Math.abs(nowSeconds() - Number(timestamp)) <= 300, 'timestamp within the replay window');
      assert.equal(verifyWebhook({ secret: endpoint.secret, body: got.body, timestamp, signature, nowSeconds: nowSeconds() }), true);
      const independent = Buffer.from(`v1=${createHmac('sha256', endpoint.secret).update(`${timestamp}.${got.body}`).digest('hex')}`);
      assert.ok(independent.length === Buffer.byteLength(signature) && timingSafeEqual(independent, Buffer.from(signature)), 'plain node:crypto HMAC matches');
      assert.equal(verifyWebhook({ secret: endpoint.secret, body: got.body.replace('"count":1', '"count":9'), timestamp, signature, nowSeconds: nowSeconds() }), false);
      assert.equal(verifyWebhook({ secret: endpoint.secret, body: got.body, timestamp, signature, nowSeconds: nowSeconds() + 301 }), false);
      const payload = JSON.parse(got.body) as Record<string, unknown>;
      assert.deepEqual(Object.keys(payload).sort(), ['count', 'firstSeen', 'id', 'kind', 'lastSeen', 'realm', 'rule', 'runbook', 'severity', 'state', 'subject', 'summary', 'title', 'url'].sort());
      assert.equal(payload['id'], alert.id);
      assert.equal(payload['kind'], 'raised');
      assert.equal(payload['realm'], 'clinic');
      assert.match(String(payload['runbook']), /^https?:\/\/[^/]+\/runbooks\/auth\.brute-force$/, 'the runbook page, as the alert mail links it');
      assert.match(String(payload['url']), new RegExp(`/tenants/clinic/console/alerts/${alert.id}$`));
      assert.equal(got.headers['content-type'], 'application/json');
      assert.match(String(got.headers['tresor-delivery']), /^[0-9a-f-]{36}$/);
    });

    it('retries a 500 with backoff on the clock; the delivery log shows both attempts, no response body', async () => {
      receiver.answers.push({ when: 'Account/a2', status: 500 });
      const alert = await raise('Account/a2');
      await until(async () => (await deliveriesOf(endpoint.id)).some((d) => d.alert === alert.id && d.attempts.length === 1), 'the first attempt');
      const first = (await deliveriesOf(endpoint.id)).find((d) => d.alert === alert.id) as WebhookDeliveryView;
      assert.equal(first.state, 'pending');
      assert.equal(first.attempts[0]?.status, 500);
      assert.equal(first.attempts[0]?.error, 'http-status');
      const wait = Date.parse(first.nextAttemptAt as string) - Date.parse(first.attempts[0]?.at as string);
      assert.ok(wait >= 24_000 && wait <= 36_000, `first retry after 30 s ± 20 % (was ${wait} ms)`);
      assert.equal(await t.app.alertDelivery.deliverDue('clinic'), 0, 'nothing due before the backoff');
      offset += 40_000;
      assert.equal(await t.app.alertDelivery.deliverDue('clinic'), 1);
      const done = (await deliveriesOf(endpoint.id)).find((d) => d.alert === alert.id) as WebhookDeliveryView;
      assert.equal(done.state, 'delivered');
      assert.deepEqual(done.attempts.map((a) => [a.attempt, a.status]), [[1, 500], [2, 200]]);
      assert.ok(done.attempts.every((a) => typeof a.durationMs === 'number'));
      assert.equal(receiver.received.filter((r) => r.body.includes(alert.id)).length, 2, 'both attempts reached the receiver');
      const raw = (await api('GET', `/tenants/clinic/alerts/webhooks/${endpoint.id}/deliveries`, admin)).body;
      assert.ok(!raw.includes('receiver body'), 'the response body is never kept');
      assert.ok(!raw.includes(endpoint.secret), 'nor the secret');
      const metrics = (await t.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(metrics, /tresor_alert_delivery_attempts_total\{target="webhook",outcome="retrying"\} [1-9]/);
      assert.match(metrics, /tresor_alert_delivery_attempts_total\{target="webhook",outcome="delivered"\} [1-9]/);
    });

    it('delivers a change once after a restart between the alert and its delivery (the scan finds it)', async () => {
      // The alert committed, then the process died before queueing it: no listener ran.
      const db = await t.app.storage.tenant('clinic');
      const at = clock.now().getTime();
      const id = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
      await insertAlert(db, { id, realm: 'clinic', rule: 'auth.brute-force', severity: 'high', title: 'Repeated failed sign-ins', subject: 'Account/a3', summary: '6 failed sign-ins', state: 'open', count: 1, firstAt: at, lastAt: at });
      // The restarted process: a fresh delivery service over the same data.
      const restarted = createAlertDelivery({ storage: t.app.storage, clock, audit: t.app.audit, indexKey: (realm) => t.app.keys.indexKey(realm), send: createWebhookSend({ production: false }), production: false, publicUrl: 'http://localhost', operatorRealm: 'operators' });
      assert.equal(await restarted.scan('clinic'), 1);
      await restarted.deliverDue('clinic');
      assert.equal(await restarted.scan('clinic'), 0, 'a second scan queues nothing more');
      assert.equal(await t.app.alertDelivery.scan('clinic'), 0, 'nor the other process’s');
      await restarted.deliverDue('clinic');
      await t.app.alertDelivery.deliverDue('clinic');
      const arrived = receiver.received.filter((r) => (JSON.parse(r.body) as { id: string }).id === id);
      assert.equal(arrived.length, 1, 'delivered once');
      assert.equal((JSON.parse(arrived[0]?.body as string) as { kind: string }).kind, 'raised');
    });

    it('folds findings that join an alert into its delivery while no attempt has taken it: one POST with the newest count', async () => {
      const quiet = createAlertDelivery({ storage: t.app.storage, clock, audit: t.app.audit, indexKey: (realm) => t.app.keys.indexKey(realm), send: createWebhookSend({ production: false }), production: false, publicUrl: 'http://localhost', operatorRealm: 'operators' });
      const at = clock.now().getTime();
      const alert = { id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60', realm: 'clinic', rule: 'auth.brute-force', severity: 'high' as const, title: 'Repeated failed sign-ins', subject: 'Account/a6', summary: 'n failed sign-ins', state: 'open' as const, count: 1, firstAt: at, lastAt: at };
      await quiet.enqueue({ kind: 'raised', alert });
      await quiet.enqueue({ kind: 'joined', alert: { ...alert, count: 2 } });
      await quiet.enqueue({ kind: 'escalated', alert: { ...alert, count: 3, severity: 'critical' } });
      const waiting = (await deliveriesOf(endpoint.id)).filter((d) => d.alert === alert.id);
      assert.deepEqual(waiting.map((d) => [d.kind, d.state]), [['raised', 'pending']]);
      await quiet.deliverDue('clinic');
      const posted = receiver.received.filter((r) => r.body.includes(alert.id)).map((r) => JSON.parse(r.body) as { kind: string; count: number; severity: string });
      assert.deepEqual(posted.map((p) => [p.kind, p.count, p.severity]), [['raised', 3, 'critical']]);
      // Once sent, the next finding is a delivery of its own.
      await quiet.enqueue({ kind: 'joined', alert: { ...alert, count: 4, severity: 'critical' } });
      assert.deepEqual((await deliveriesOf(endpoint.id)).filter((d) => d.alert === alert.id).map((d) => [d.kind, d.state]), [['joined', 'pending'], ['raised', 'delivered']]);
    });

    it('sends acknowledgement and resolution as changes of the alert', async () => {
      const alert = await raise('Account/a4');
      await until(() => receiver.received.some((r) => r.body.includes(alert.id)), 'the raise');
      const by = { actor: { id: 'account:admin', role: 'tenant-admin', client: 'session' }, requestId: 'r1', sourceIp: '127.0.0.1' };
      await t.app.alerts.acknowledge('clinic', alert.id, by);
      await t.app.alerts.resolve('clinic', alert.id, by, 'Reset done.');
      await until(() => receiver.received.filter((r) => r.body.includes(alert.id)).length === 3, 'the two changes');
      const kinds = receiver.received.filter((r) => r.body.includes(alert.id)).map((r) => (JSON.parse(r.body) as { kind: string; state: string }).kind);
      assert.deepEqual(kinds.sort(), ['acknowledged', 'raised', 'resolved']);
    });

    it('platform alerts go to the operators’ endpoints only, with the operator console’s link', async () => {
      const op = await signInOperator(t, 'operator', 'op@platform.example', () => clock.now().getTime());
      const created = await as(t, op, { method: 'POST', url: '/platform/alerts/webhooks', body: JSON.stringify({ url: `${receiver.url}?platform`, description: 'NOC' }), headers: { 'content-type': 'application/json' } });
      assert.equal(created.statusCode, 201);
      const platform = json<{ id: string; secret: string }>(created);
      const alert = await t.app.alerts.raise('operators', 'auth.brute-force', { subject: 'Account/op1', summary: '6 failed sign-ins against Account/op1 in 10 minutes' });
      await until(() => receiver.received.some((r) => r.body.includes(alert.id)), 'the platform alert');
      const arrived = receiver.received.filter((r) => r.body.includes(alert.id));
      assert.equal(arrived.length, 1, 'to the operators’ endpoint, not the clinic’s');
      const got = arrived[0] as Received;
      assert.equal(verifyWebhook({ secret: platform.secret, body: got.body, timestamp: String(got.headers['tresor-timestamp']), signature: String(got.headers['tresor-signature']), nowSeconds: nowSeconds() }), true);
      assert.equal(verifyWebhook({ secret: endpoint.secret, body: got.body, timestamp: String(got.headers['tresor-timestamp']), signature: String(got.headers['tresor-signature']), nowSeconds: nowSeconds() }), false, 'not signed with the clinic’s secret');
      const payload = JSON.parse(got.body) as { realm: string; url: string };
      assert.equal(payload.realm, 'operators');
      assert.match(payload.url, new RegExp(`/platform/console/alerts/${alert.id}$`));
      assert.ok(!(await deliveriesOf(endpoint.id)).some((d) => d.alert === alert.id));
      const listed = await as(t, op, { method: 'GET', url: '/platform/alerts/webhooks' });
      assert.deepEqual(json<{ webhooks: Array<{ id: string }> }>(listed).webhooks.map((w) => w.id), [platform.id]);
    });

    it('keeps the secret out of logs and answers; removal is audited and stops deliveries', async () => {
      assert.ok(!t.logs.join('\n').includes(endpoint.secret), 'no log line holds the secret');
      const removed = await api('DELETE', `/tenants/clinic/alerts/webhooks/${endpoint.id}`, admin);
      assert.equal(removed.statusCode, 204);
      assert.equal((await api('GET', `/tenants/clinic/alerts/webhooks/${endpoint.id}/deliveries`, admin)).statusCode, 404);
      const alert = await raise('Account/a5');
      await t.app.alertDelivery.deliverDue('clinic');
      assert.ok(!receiver.received.some((r) => r.body.includes(alert.id)), 'nothing for the removed endpoint');
      assert.equal((await t.app.audit.query('clinic', { count: 5, actions: ['alert.webhook_removed'] })).length, 1);
    });
  });
}
