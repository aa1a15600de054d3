import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as connectTcp } from 'node:net';
import { Agent as HttpsAgent } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'fhir-kit-client';
import { engines, patient, startTestApp, type TestApp } from '../../support/harness.js';

for (const engine of engines()) {
  describe(`a real FHIR client over a real socket [${engine}]`, () => {
    let t: TestApp;
    let client: InstanceType<typeof Client>;
    before(async () => {
      // Plain HTTP is what an operator configures behind a TLS-terminating proxy; TLS itself is
      // tested below with Node's own TLS client.
      t = await startTestApp(engine);
      const key = await t.tenant('clinic');
      const address = await t.app.http.listen({ host: '127.0.0.1', port: 0 });
      client = new Client({ baseUrl: `${address}/tenants/clinic/fhir`, customHeaders: { authorization: `Bearer ${key}` } });
    });
    after(() => t.close());

    it('creates, reads, searches, updates and reads history with fhir-kit-client', async () => {
      const created = (await client.create({ resourceType: 'Patient', body: patient() })) as unknown as { id: string; meta: { versionId: string } };
      assert.equal(created.meta.versionId, '1');
      const read = (await client.read({ resourceType: 'Patient', id: created.id })) as unknown as { name: Array<{ family: string }> };
      assert.equal(read.name[0]?.family, 'Müller');
      const found = (await client.search({ resourceType: 'Patient', searchParams: { name: 'muller', birthdate: '1980' } })) as unknown as { total: number; entry: Array<{ resource: { id: string } }> };
      assert.equal(found.total, 1);
      assert.equal(found.entry[0]?.resource.id, created.id);
      await client.update({ resourceType: 'Patient', id: created.id, body: { ...patient({ gender: 'other' }), id: created.id } });
      const history = (await client.history({ resourceType: 'Patient', id: created.id })) as unknown as { total: number };
      assert.equal(history.total, 2);
      const v1 = (await client.vread({ resourceType: 'Patient', id: created.id, version: '1' })) as unknown as { gender: string };
      assert.equal(v1.gender, 'female');
      const capability = (await client.capabilityStatement()) as unknown as { fhirVersion: string };
      assert.equal(capability.fhirVersion, '4.0.1');
    });
  });
}

describe('HTTPS by default', () => {
  let t: TestApp;
  let port: number;
  before(async () => {
    t = await startTestApp('sqlite', { server: { tls: { enabled: true } } });
    const address = new URL(await t.app.http.listen({ host: '127.0.0.1', port: 0 }));
    port = Number(address.port);
  });
  after(() => t.close());

  const handshake = (options: { minVersion: 'TLSv1' | 'TLSv1.2' | 'TLSv1.3'; maxVersion: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; ciphers?: string }) =>
    new Promise<string>((resolve, reject) => {
      const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: t.app.tls?.cert, ...options }, () => {
        const protocol = socket.getProtocol() ?? '';
        socket.end();
        resolve(protocol);
      });
      socket.on('error', reject);
    });

  it('creates a self-signed certificate for localhost with a private key only its owner can read', () => {
    assert.equal(t.app.tls?.selfSigned, true);
    assert.match(t.app.tls?.fingerprint256 ?? '', /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(statSync(join(t.dataDir, 'tls', 'localhost.key')).mode & 0o777, 0o600);
  });

  it('speaks TLS 1.2 and 1.3 and refuses 1.1', async () => {
    assert.equal(await handshake({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' }), 'TLSv1.3');
    assert.equal(await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), 'TLSv1.2');
    await assert.rejects(handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }));
    await assert.rejects(handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA256' }), 'a TLS 1.2 suite without forward secrecy is refused');
  });

  it('sends HSTS over HTTPS', async () => {
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/healthz', servername: 'localhost', ca: t.app.tls?.cert }, (res) => {
        res.resume();
        resolve(res.headers);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(headers['strict-transport-security'], 'max-age=63072000; includeSubDomains');
  });

  /** Writes `bytes` on a plain TCP connection and collects what comes back until the server closes it. */
  const plain = (bytes: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connectTcp({ host: '127.0.0.1', port }, () => socket.write(bytes));
      let received = '';
      socket.on('data', (chunk) => (received += String(chunk)));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });

  it('answers plain HTTP on the TLS port with a short 400 naming the https URL, then closes', async () => {
    const answer = await plain(`GET /tenants/clinic/fhir/metadata HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /\r\ncontent-type: text\/plain/i);
    assert.match(answer, /\r\nconnection: close/i);
    assert.ok(answer.includes(`https://127.0.0.1:${port}/`), answer);
    assert.doesNotMatch(answer, /strict-transport-security/i, 'RFC 6797 §7.2: never over plain HTTP');
    const forged = await plain('GET / HTTP/1.1\r\nHost: <script>evil</script>\r\n\r\n');
    assert.match(forged, /^HTTP\/1\.1 400 /);
    assert.ok(!forged.includes('<script>'), 'a Host that is not a plain host name is not echoed');
    assert.equal(await plain('\x00\x01garbage\r\n\r\n'), '', 'what is not HTTP is just closed');
  });

  it('keeps TLS as it was: ALPN, and several requests on one kept-alive connection', async () => {
    const alpn = await new Promise<string | false | null>((resolve, reject) => {
      const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: t.app.tls?.cert, ALPNProtocols: ['http/1.1'] }, () => {
        const protocol = socket.alpnProtocol;
        socket.end();
        resolve(protocol);
      });
      socket.on('error', reject);
    });
    assert.equal(alpn, 'http/1.1');
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: t.app.tls?.cert, servername: 'localhost' });
    const sockets = new Set<unknown>();
    for (let i = 0; i < 3; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
          sockets.add(res.socket);
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 200);
    }
    assert.equal(sockets.size, 1, 'one connection for all three');
    agent.destroy();
  });
});
