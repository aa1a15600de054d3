import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadOrCreateCertificate } from '../../../src/platform/http/index.js';
import { startTestApp, type TestApp } from '../../support/harness.js';
import { freePort, rsyslogOn, rsyslogSkip, until, type Rsyslog } from '../../support/rsyslog.js';

// A real rsyslog from the Debian package, on loopback, writing what it receives to a file.
describe('audit events shipped to a SIEM: JSON lines and syslog to a real rsyslog', { skip: rsyslogSkip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tresor-siem-'));
  const jsonl = join(dir, 'audit.jsonl');
  let port = 0;
  let rsyslog: Rsyslog;
  let t: TestApp;
  let key: string;

  const startRsyslog = (tls?: { cert: string; key: string }) => rsyslog.start(tls);
  const stopRsyslog = () => rsyslog.stop();
  const lines = () => rsyslog.lines();

  before(async () => {
    port = await freePort();
    rsyslog = rsyslogOn(dir, port);
    await startRsyslog();
    t = await startTestApp('sqlite', { audit: { sinks: { syslog: `tcp://127.0.0.1:${port}`, file: jsonl } } });
    key = await t.tenant('clinic');
  });
  after(async () => {
    await t?.close();
    await rsyslog?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const reads = async (n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i += 1) {
      const response = await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Patient?_count=1', key });
      assert.equal(response.statusCode, 200);
      ids.push(String(response.headers['x-request-id']));
    }
    return ids;
  };

  it('delivers every event as RFC 5424 syslog and as JSON lines', async () => {
    const ids = await reads(5);
    await until(() => ids.every((id) => lines().some((line) => line.includes(id))), 15_000, 'the events at rsyslog');
    const line = lines().find((l) => l.includes(ids[0] as string)) as string;
    assert.match(line, /^<110>1 \d{4}-\d{2}-\d{2}T[\d:.]+Z \S+ tresor \d+ record\.searched \[tresor@32473 tenant="clinic" seq="\d+"\] \{/);
    assert.doesNotMatch(line, /tresor_sk_/, 'no credential leaves with the event');
    await until(() => existsSync(jsonl) && ids.every((id) => readFileSync(jsonl, 'utf8').includes(id)), 10_000, 'the JSON lines');
    const event = JSON.parse(readFileSync(jsonl, 'utf8').split('\n')[0] as string) as { action: string; hash: string };
    assert.equal(typeof event.hash, 'string');

    // Signed checkpoints go along, so the SIEM holds a copy of the anchors too.
    const checkpoint = await t.app.audit.checkpoint('clinic');
    assert.ok(checkpoint !== undefined);
    await until(() => lines().some((l) => /tresor \d+ audit\.checkpoint \[tresor@32473 tenant="clinic"/.test(l) && l.includes(checkpoint.sig)), 15_000, 'the checkpoint at rsyslog');
    await until(() => readFileSync(jsonl, 'utf8').includes(`"sig":"${checkpoint.sig}"`), 10_000, 'the checkpoint in the JSON lines');
  });

  it('loses nothing while the SIEM is down: the backlog shows in /metrics and drains when it is back', async () => {
    await stopRsyslog();
    const during = await reads(5);
    await until(
      async () => {
        const metrics = (await t.inject({ method: 'GET', url: '/metrics' })).body;
        return /tresor_audit_sink_backlog_events\{sink="syslog",tenant="clinic"\} [1-9]/.test(metrics) && /tresor_audit_sink_up\{sink="syslog"\} 0/.test(metrics);
      },
      15_000,
      'a backlog in /metrics',
    );
    await startRsyslog();
    await until(() => during.every((id) => lines().some((line) => line.includes(id))), 40_000, 'the backlog to drain');
    await until(async () => /tresor_audit_sink_backlog_events\{sink="syslog",tenant="clinic"\} 0/.test((await t.inject({ method: 'GET', url: '/metrics' })).body), 10_000, 'backlog 0');
    // Every event of the chain reached rsyslog (some perhaps twice: at least once).
    const db = await t.app.storage.tenant('clinic');
    const seqs = (await db.query<{ seq: number | string }>(`SELECT seq FROM ${db.table('audit_events')} ORDER BY seq`)).map((r) => Number(r.seq));
    const delivered = new Set(lines().map((line) => Number(/ seq="(\d+)"/.exec(line)?.[1])));
    assert.deepEqual(
      seqs.filter((seq) => !delivered.has(seq)),
      [],
    );
  });

  it('ships over TLS 1.2+ to rsyslog, verifying its certificate, and refuses a server it cannot verify', async () => {
    await stopRsyslog();
    const material = await loadOrCreateCertificate({ dataDir: dir });
    const keyFile = material.certFile.replace(/\.crt$/, '.key');
    await startRsyslog({ cert: material.certFile, key: keyFile });
    const secure = await startTestApp('sqlite', { audit: { sinks: { syslog: `tls://localhost:${port}`, syslogCaFile: material.certFile } } });
    // Without the CA the server's certificate is not trusted: nothing goes there.
    const untrusted = await startTestApp('sqlite', { audit: { sinks: { syslog: `tls://localhost:${port}` } } });
    try {
      const k = await secure.tenant('tlsclinic');
      const response = await secure.inject({ method: 'GET', url: '/tenants/tlsclinic/fhir/Patient', key: k });
      const id = String(response.headers['x-request-id']);
      await until(() => lines().some((line) => line.includes(id)), 20_000, 'the event over TLS');
      const k2 = await untrusted.tenant('untrusted');
      const other = String((await untrusted.inject({ method: 'GET', url: '/tenants/untrusted/fhir/Patient', key: k2 })).headers['x-request-id']);
      await until(async () => /tresor_audit_sink_up\{sink="syslog"\} 0/.test((await untrusted.inject({ method: 'GET', url: '/metrics' })).body), 15_000, 'the untrusted sink to be down');
      assert.ok(!lines().some((line) => line.includes(other)), 'nothing was sent to a server whose certificate did not verify');
    } finally {
      await secure.close();
      await untrusted.close();
    }
  });
});
