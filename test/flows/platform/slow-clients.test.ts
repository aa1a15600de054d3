import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.js';
import { startTestApp, type TestApp } from '../../support/harness.js';

/** A raw connection that collects what the server sends until it closes the connection. */
function open(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let data = '';
    const socket = connect({ host: '127.0.0.1', port });
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

/** Fails when the server has not closed the connection long after its deadline. */
const closedWithin = (closed: Promise<void>, ms: number) =>
  Promise.race([closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())]);

describe('slow clients', () => {
  let t: TestApp;
  let port: number;
  let key: string;
  before(async () => {
    t = await startTestApp('sqlite', { server: { headersTimeoutMs: 300, requestTimeoutMs: 600, idleTimeoutMs: 5000, keepAliveTimeoutMs: 1000, maxConnectionsPerAddress: 4 } });
    port = Number(new URL(await t.app.http.listen({ host: '127.0.0.1', port: 0 })).port);
    key = await t.tenant('clinic');
  });
  after(() => t.close());

  it('has bounded timeouts and a per-address cap by default', () => {
    const { server } = loadConfig({ env: {} });
    for (const ms of [server.headersTimeoutMs, server.requestTimeoutMs, server.idleTimeoutMs, server.keepAliveTimeoutMs]) assert.ok(ms > 0 && ms <= 60_000);
    assert.ok(server.maxConnectionsPerAddress > 0);
    assert.throws(() => loadConfig({ env: {}, overrides: { server: { headersTimeoutMs: 20_000, requestTimeoutMs: 10_000 } } }), /server\.headersTimeoutMs/);
  });

  it('answers 408 and closes a connection whose headers never finish', async () => {
    const c = await open(port);
    c.socket.write('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ');
    assert.ok(await closedWithin(c.closed, 10_000), 'closed by the server');
    assert.match(c.received(), /^HTTP\/1\.1 408 /);
  });

  it('answers 408 and closes a connection whose body trickles in', async () => {
    const c = await open(port);
    c.socket.write(`POST /tenants/clinic/fhir/Patient HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${key}\r\ncontent-type: application/fhir+json\r\ncontent-length: 1000\r\n\r\n{`);
    const trickle = setInterval(() => c.socket.write(' '), 100);
    try {
      assert.ok(await closedWithin(c.closed, 10_000), 'closed by the server');
    } finally {
      clearInterval(trickle);
    }
    assert.match(c.received(), /^HTTP\/1\.1 408 /);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout, telling the client so', async () => {
    const c = await open(port);
    c.socket.write('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    assert.ok(await closedWithin(c.closed, 10_000), 'closed by the server');
    assert.match(c.received(), /^HTTP\/1\.1 200 /);
    // RFC 9112 §9.3 / the Keep-Alive header: clients stop reusing the connection before the server closes it.
    assert.match(c.received(), /\r\nkeep-alive: timeout=1\r\n/i);
  });

  it('refuses connections beyond the per-address cap, and accepts again when one closes', async () => {
    const held = await Promise.all([open(port), open(port), open(port), open(port)]);
    for (const c of held) c.socket.write('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n');
    const extra = await open(port);
    extra.socket.write('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    assert.ok(await closedWithin(extra.closed, 10_000), 'the fifth connection is closed');
    assert.equal(extra.received(), '', 'without an answer');
    for (const c of held) c.socket.destroy();
    await Promise.all(held.map((c) => c.closed));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const again = await open(port);
    again.socket.end('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n');
    await again.closed;
    assert.match(again.received(), /^HTTP\/1\.1 200 /);
  });
});
