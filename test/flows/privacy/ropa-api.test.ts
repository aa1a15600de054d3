import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateBackupKey } from '../../../src/backup/index.js';
import type { ConfigInput } from '../../../src/config/index.js';
import { roles } from '../../../src/identity/index.js';
import type { RopaDocument } from '../../../src/privacy/index.js';
import { dataRegister, platformRegister } from '../../../src/records/index.js';
import { tresorHere } from '../../support/cli.js';
import { engines, errorCode, json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { pdfPages } from '../../support/pdf-text.js';

// Records of processing are generated from the register, the matrix, the configuration and the
// live system: checked here against the register itself, and against two configurations.
const registerClasses = [...new Set([...Object.values(dataRegister).flatMap((fields) => Object.values(fields)), 'health', ...platformRegister.map((r) => r.class)])];
const registerTypes = Object.keys(dataRegister);
const smtpPassword = 'relay-password-9f2c41';
const webhookPath = '/services/T0001/hook-token-5e1d7a';

for (const engine of engines()) {
  describe(`records of processing (${engine})`, () => {
    let scratch: string;
    let t: TestApp;
    let adminKey: string;
    let backupKey: string;
    const secrets: string[] = [smtpPassword, webhookPath.slice(1)];
    const fullConfig = (): ConfigInput => ({
      audit: { sinks: { file: join(scratch, 'audit.jsonl'), syslog: 'tcp://siem.example.net:6514' } },
      mail: { smtp: { host: 'relay.example.net', port: 587, from: 'vault@example.org', user: 'vault', password: smtpPassword } },
      backup: { repository: join(scratch, 'repo'), key: backupKey, schedule: false },
      security: { contact: ['mailto:security@example.org'] },
    });

    before(async () => {
      scratch = mkdtempSync(join(tmpdir(), 'tresor-ropa-'));
      backupKey = generateBackupKey();
      secrets.push(backupKey);
      t = await startTestApp(engine, fullConfig());
      const serviceKey = await t.tenant('praxis-ost');
      secrets.push(serviceKey);
      await t.app.tenants.create('other');
      adminKey = await t.key('praxis-ost', 'tenant-admin');
      secrets.push(adminKey);
      for (let i = 0; i < 3; i++) assert.equal((await t.inject({ method: 'POST', url: '/tenants/praxis-ost/fhir/Patient', key: serviceKey, body: patient() })).statusCode, 201);
      assert.equal((await t.inject({ method: 'POST', url: '/tenants/other/fhir/Patient', key: await t.key('other', 'service'), body: patient() })).statusCode, 201);
      const web = await t.app.clients.create('praxis-ost', { name: 'Diary app', publisher: 'Diary GmbH', kind: 'confidential', redirectUris: ['https://diary.example.com/callback'], scope: 'openid patient/Observation.rs' }, 'cli:test');
      const lab = await t.app.clients.create('praxis-ost', { name: 'Lab import', publisher: 'Lab AG', kind: 'backend', scope: 'system/Observation.rs', role: 'service-reader' }, 'cli:test');
      for (const s of [web.clientSecret, lab.clientSecret]) if (s !== undefined) secrets.push(s);
      const hook = await t.app.alertDelivery.addEndpoint('praxis-ost', { url: `https://hooks.example.org${webhookPath}`, description: 'on-call' }, { actor: { id: 'test', role: 'tenant-admin', client: 'test' }, requestId: 'r', sourceIp: '127.0.0.1' });
      secrets.push(hook.secret);
    });
    after(async () => {
      await t.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    const get = async (format: string, key = adminKey) => t.inject({ method: 'GET', url: `/tenants/praxis-ost/privacy/ropa?format=${format}`, key });

    it('names every class, type, role, app and configured recipient of the register and the live system', async () => {
      const response = await get('json');
      assert.equal(response.statusCode, 200, response.body);
      const doc = json<RopaDocument>(response);
      assert.equal(doc.scope, 'tenant');
      assert.equal(doc.controllers[0]?.id, 'praxis-ost');
      assert.match(doc.tresorVersion, /\d/);
      assert.equal(typeof doc.registerVersion, 'number');
      assert.deepEqual(new Set(doc.dataCategories.classes.map((c) => c.class)), new Set(registerClasses));
      assert.deepEqual(doc.dataCategories.types.map((x) => x.resourceType).sort(), [...registerTypes].sort());
      assert.equal(doc.dataCategories.classes.find((c) => c.class === 'health')?.specialCategory, true);
      assert.equal(doc.dataCategories.types.find((x) => x.resourceType === 'Patient')?.records, 3, 'live counts of this tenant only');
      assert.equal(doc.dataSubjects.find((s) => s.category === 'patients')?.count, 3);
      assert.deepEqual(doc.purposes.roles.map((r) => r.role), [...roles]);
      assert.deepEqual(doc.purposes.apps.map((a) => a.name).sort(), ['Diary app', 'Lab import']);
      const where = (kind: string) => doc.recipients.filter((r) => r.kind === kind).map((r) => r.where);
      assert.deepEqual(where('app').sort(), ['diary.example.com', 'not registered (a backend service)']);
      assert.deepEqual(where('audit-sink').sort(), [`local path ${join(scratch, 'audit.jsonl')}`, 'siem.example.net:6514']);
      assert.deepEqual(where('alert-webhook'), ['hooks.example.org']);
      assert.deepEqual(where('mail-relay'), ['relay.example.net:587']);
      assert.deepEqual(where('backup-repository'), [`local path ${join(scratch, 'repo')}`]);
      assert.equal(where('operators').length, 1);
      assert.ok(doc.transfers.thirdCountries.some((f) => f.finding === 'not determined automatically: mail relay at relay.example.net:587'));
      assert.ok(!doc.transfers.thirdCountries.some((f) => f.recipient === 'backup repository'), 'a local path is no transfer');
      assert.equal(doc.transfers.regions.length, 1);
      // The tenant's own retention periods, live from its settings, each with its legal basis.
      assert.deepEqual(doc.retention.classes.map((c) => `${c.class}: ${c.period}`), ['personal: 10 years after the last activity', 'health: 10 years after the last activity', 'payment: 10 years after the last activity']);
      assert.match(doc.retention.classes.find((c) => c.class === 'health')?.basis ?? '', /BGB § 630f/);
      const state = (id: string) => doc.measures.find((m) => m.id === id)?.state;
      assert.equal(state('detection'), 'on');
      assert.equal(state('backups'), 'on');
      assert.equal(state('field-encryption'), 'on');
      assert.equal(state('mfa'), 'on');
      assert.ok(doc.purposes.purposesOfUse.counts.length > 0, 'the trail has purposes of the writes above');
    });

    it('says the same in Markdown and PDF, with no secret in any format, and records each generation', async () => {
      const md = await get('md');
      assert.equal(md.statusCode, 200);
      assert.match(String(md.headers['content-type']), /^text\/markdown/);
      assert.match(md.body, new RegExp(`Generated \\d{4}-\\d{2}-\\d{2}T[^ ]+ by Tresor [^ ]+ from data register version \\d+`));
      for (const word of [...registerClasses, ...registerTypes, ...roles, 'Diary app', 'Lab import', 'hooks.example.org', 'relay.example.net', 'siem.example.net']) assert.ok(md.body.includes(word), `markdown names ${word}`);
      const pdf = await get('pdf');
      assert.equal(pdf.statusCode, 200);
      assert.equal(pdf.headers['content-type'], 'application/pdf');
      const text = pdfPages(pdf.rawPayload).join('\n');
      assert.match(text, /praxis-ost/);
      for (const c of registerClasses) assert.ok(text.includes(c), `the PDF names class ${c}`);
      const de = await t.inject({ method: 'GET', url: '/tenants/praxis-ost/privacy/ropa?format=md&lang=de', key: adminKey });
      assert.match(de.body, /## Technische und organisatorische Maßnahmen/);
      for (const body of [(await get('json')).body, md.body, pdf.rawPayload.toString('latin1'), text, de.body]) {
        for (const secret of secrets) assert.ok(!body.includes(secret), 'no key, token, password or webhook secret');
      }
      const events = await t.app.audit.query('praxis-ost', { actions: ['ropa.generated'], count: 100 });
      assert.ok(events.length >= 4, `generations recorded (${events.length})`);
      assert.ok(events.some((e) => e.detail === 'format=pdf' && e.actor.role === 'tenant-admin'));
    });

    it('is for admins and auditors: others get 403, recorded; a bad format 400', async () => {
      assert.equal((await get('json', await t.key('praxis-ost', 'auditor'))).statusCode, 200);
      const refused = await get('json', await t.key('praxis-ost', 'front-desk'));
      assert.equal(refused.statusCode, 403);
      assert.equal(errorCode(refused), 'ropa-forbidden');
      assert.equal(errorCode(await get('xml')), 'ropa-format-invalid');
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/praxis-ost/privacy/ropa' })).statusCode, 401);
      const denied = await t.app.audit.query('praxis-ost', { actions: ['access.denied'], count: 10 });
      assert.ok(denied.some((e) => e.actor.role === 'front-desk' && e.detail === 'ropa-forbidden'));
    });

    if (engine === 'sqlite') {
      it('tresor ropa --format json says what the API says; the platform record lists the tenants as controllers', async () => {
        const file = join(scratch, 'config.json');
        const { mail, ...rest } = fullConfig();
        writeFileSync(file, JSON.stringify({ ...rest, mail: { smtp: { ...mail?.smtp, password: undefined } }, dataDir: t.dataDir, server: { tls: { enabled: false } }, fim: { enabled: false } }));
        const run = await tresorHere(['ropa', '--tenant', 'praxis-ost', '--format', 'json', '--config', file], { TRESOR_SMTP_PASSWORD: smtpPassword });
        assert.equal(run.code, 0, run.stderr);
        const doc = JSON.parse(run.stdout) as RopaDocument;
        assert.deepEqual(new Set(doc.dataCategories.classes.map((c) => c.class)), new Set(registerClasses));
        assert.deepEqual(doc.purposes.apps.map((a) => a.name).sort(), ['Diary app', 'Lab import']);
        assert.deepEqual(doc.recipients.map((r) => r.kind).sort(), ['alert-webhook', 'app', 'app', 'audit-sink', 'audit-sink', 'backup-repository', 'mail-relay', 'operators']);
        for (const secret of secrets) assert.ok(!run.stdout.includes(secret));
        const out = join(scratch, 'ropa.pdf');
        const pdf = await tresorHere(['ropa', '--format', 'pdf', '--out', out, '--config', file], { TRESOR_SMTP_PASSWORD: smtpPassword });
        assert.equal(pdf.code, 0, pdf.stderr);
        const text = pdfPages(readFileSync(out)).join('\n');
        assert.match(text, /praxis-ost/);
        assert.match(text, /other/);
        const platform = await tresorHere(['ropa', '--format', 'json', '--config', file], { TRESOR_SMTP_PASSWORD: smtpPassword });
        assert.deepEqual((JSON.parse(platform.stdout) as RopaDocument).controllers.map((c) => c.id).sort(), ['other', 'praxis-ost']);
        assert.equal((await tresorHere(['ropa', '--format', 'pdf', '--config', file], { TRESOR_SMTP_PASSWORD: smtpPassword })).code, 2, 'pdf needs --out');
      });
    }
  });

  describe(`records of processing with controls off (${engine})`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(engine, { detection: { enabled: false } });
      await t.tenant('praxis-west');
    });
    after(async () => t.close());

    it('shows detection and backups off, and no backup repository or relay among the recipients: live, not fixed text', async () => {
      const doc = json<RopaDocument>(await t.inject({ method: 'GET', url: '/tenants/praxis-west/privacy/ropa', key: await t.key('praxis-west', 'tenant-admin') }));
      const state = (id: string) => doc.measures.find((m) => m.id === id)?.state;
      assert.equal(state('detection'), 'off');
      assert.equal(state('backups'), 'off');
      assert.equal(state('file-integrity'), 'off');
      assert.equal(state('tls'), 'off');
      assert.deepEqual(doc.recipients.map((r) => r.kind), ['operators']);
      assert.deepEqual(doc.transfers.thirdCountries, []);
      assert.equal(doc.purposes.apps.length, 0);
    });
  });
}
