import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createWebhookSend } from './webhook-send.js';

describe('webhook POST', () => {
  let server: Server;
  let port = 0;
  let hits = 0;
  before(async () => {
    server = createServer((request, response) => {
      hits += 1;
      if (request.url === '/slow') return; // never answers
      if (request.url === '/moved') response.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' });
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('in production, refuses loopback at delivery, by literal and by a name resolving to it, before any request', async () => {
    const send = createWebhookSend({ production: true });
    hits = 0;
    assert.equal((await send(`http://127.0.0.1:${port}/`, '{}', {})).error, 'refused-address');
    assert.equal((await send(`http://localhost:${port}/`, '{}', {})).error, 'refused-address');
    assert.equal(hits, 0, 'the receiver saw nothing');
  });

  it('in development, reaches loopback; a redirect is answered, not followed', async () => {
    const send = createWebhookSend({ production: false });
    hits = 0;
    assert.equal((await send(`http://127.0.0.1:${port}/`, '{}', {})).status, 200);
    assert.equal((await send(`http://127.0.0.1:${port}/moved`, '{}', {})).status, 302);
    assert.equal(hits, 2);
  });

  it('gives up on a receiver that does not answer in time', async () => {
    const send = createWebhookSend({ production: false, timeoutMs: 200 });
    assert.equal((await send(`http://127.0.0.1:${port}/slow`, '{}', {})).error, 'timeout');
  });

  it('reports a refused connection', async () => {
    const send = createWebhookSend({ production: false });
    assert.equal((await send('http://127.0.0.1:1/', '{}', {})).error, 'connection');
  });
});
