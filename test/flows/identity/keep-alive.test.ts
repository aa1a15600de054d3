import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { fixedClock } from '../../../src/platform/clock.js';
import { startTestApp, type TestApp } from '../../support/harness.js';

const password = 'seven hungry otters swim the fjord';
const operator = { id: 'system:test', role: 'system', client: 'test' };

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * One keep-alive connection, used for every request in turn as a client's pool of one would:
 * a request that finds it closed gets no answer (`undefined`), as the stock clients saw.
 */
function keepAliveClient(port: number) {
  const socket: Socket = connect({ host: '127.0.0.1', port });
  let buffer = Buffer.alloc(0);
  let closed = false;
  let waiting: (() => void) | undefined;
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    waiting?.();
  });
  socket.on('close', () => {
    closed = true;
    waiting?.();
  });
  socket.on('error', () => undefined);
  const opened = new Promise<void>((resolve) => socket.once('connect', () => resolve()));

  function parse(): Answer | undefined {
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    if (buffer.length < end + 4 + length) return undefined;
    const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    buffer = buffer.subarray(end + 4 + length);
    return { status: Number(statusLine?.split(' ')[1]), headers, body };
  }

  return {
    async post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer | undefined> {
      await opened;
      if (closed) return undefined;
      const payload = Buffer.from(JSON.stringify(body));
      const head = Object.entries({ host: '127.0.0.1', 'content-type': 'application/json', 'content-length': String(payload.length), ...headers }).map(([name, value]) => `${name}: ${value}\r\n`);
      socket.write(Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\n${head.join('')}\r\n`), payload]));
      for (;;) {
        const answer = parse();
        if (answer !== undefined) return answer;
        if (closed) return undefined;
        await new Promise<void>((resolve) => (waiting = resolve));
        waiting = undefined;
      }
    },
    close: () => socket.destroy(),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('keep-alive connections through TOTP enrolment', () => {
  let t: TestApp;
  let port: number;
  const clock = fixedClock(new Date('2026-11-23T11:00:10Z'));
  const accounts = ['a@clinic.example', 'b@clinic.example', 'c@clinic.example'];
  before(async () => {
    t = await startTestApp('sqlite', { server: { keepAliveTimeoutMs: 1000 } }, { clock });
    await t.tenant('clinic');
    for (const email of accounts) {
      const { setupToken } = await t.app.accounts.invite({ tenantId: 'clinic', role: 'clinician', email, by: operator });
      await t.app.accounts.completeSetup({ tenantId: 'clinic', token: setupToken, password, sourceIp: '127.0.0.1' });
    }
    port = Number(new URL(await t.app.http.listen({ host: '127.0.0.1', port: 0 })).port);
  });
  after(() => t.close());

  it('answers every request of a client that reuses its connection up to the announced keep-alive time', async () => {
    const client = keepAliveClient(port);
    try {
      for (const email of accounts) {
        const login = await client.post('/tenants/clinic/auth/login', { email, password });
        assert.equal(login?.status, 200, 'login answered');
        // The announced time is what a client may wait before reusing the connection.
        const announced = Number(/timeout=(\d+)/.exec(login.headers['keep-alive'] ?? '')?.[1]);
        assert.equal(announced, 1);
        const session = { cookie: String(login.headers['set-cookie']).split(';')[0] as string, 'x-csrf-token': (JSON.parse(login.body) as { csrfToken: string }).csrfToken };
        await sleep(announced * 1000);
        const offered = await client.post('/tenants/clinic/auth/totp', { password }, session);
        assert.equal(offered?.status, 200, 'totp answered');
        const secret = (JSON.parse(offered.body) as { secret: string }).secret;
        await sleep(announced * 1000);
        const confirmed = await client.post('/tenants/clinic/auth/totp/confirm', { code: await generate({ secret, epoch: Math.floor(clock.now().getTime() / 1000) }) }, session);
        assert.equal(confirmed?.status, 200, 'totp/confirm answered');
      }
    } finally {
      client.close();
    }
  });
});
