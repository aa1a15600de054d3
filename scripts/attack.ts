/**
 * `npm run attack -- [--url URL] [--data-dir DIR] [--config FILE] [--wait SECONDS]`: a red-team
 * replay against a running Tresor on this machine. It makes two fresh tenants (`attack-<hex>` and
 * `attack-<hex>-b`) with the admin CLI — the same data directory or configuration as the server —
 * replays the attacks the detection rules are for, over HTTP as an attacker's client would, then
 * asks the alerts API which rule caught each, and prints the table. Loopback only, bounded (a few
 * hundred requests), and it leaves the tenants in place so the console shows the alerts.
 *
 * Exit 0 when every replayed attack was caught by the rule meant for it, 1 otherwise.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { url: { type: 'string' }, 'data-dir': { type: 'string' }, config: { type: 'string' }, wait: { type: 'string' } },
  allowPositionals: false,
});
const base = new URL(values.url ?? process.env['TRESOR_URL'] ?? 'https://127.0.0.1:8443');
if (!['127.0.0.1', '[::1]', 'localhost'].includes(base.hostname)) {
  console.error(`refused: ${base.hostname} is not this machine. The attack replay runs against a Tresor on loopback only.`);
  process.exit(2);
}
const waitSeconds = Number(values.wait ?? 60);

// ── The admin CLI, as the operator runs it ────────────────────────────────────────────────
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cliArgs = existsSync(join(root, 'dist', 'main.js')) && process.env['TRESOR_ATTACK_SOURCE'] !== '1' ? [join(root, 'dist', 'main.js')] : ['--import', 'tsx', join(root, 'src', 'main.ts')];
const common = [...(values['data-dir'] === undefined ? [] : ['--data-dir', values['data-dir']]), ...(values.config === undefined ? [] : ['--config', values.config])];
/** Runs `tresor <args>`; returns the last line of stdout (keys and tokens are printed there, by contract). */
function tresor(...args: string[]): string {
  const out = execFileSync(process.execPath, [...cliArgs, ...args, ...common], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.trimEnd().split('\n').at(-1) ?? '';
}

// ── HTTP, as a client would send it ───────────────────────────────────────────────────────
interface Answer {
  readonly status: number;
  readonly body: string;
  readonly cookie?: string;
}
function request(method: string, path: string, options: { headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> {
  const payload = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const client = base.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      new URL(path, base),
      {
        method,
        // A connection per request: the admin commands between requests outlast the server's
        // keep-alive, and a reused socket the server just closed would fail the request.
        agent: false,
        // The development server's certificate is self-signed; this is loopback only (checked above).
        ...(base.protocol === 'https:' ? { rejectUnauthorized: false } : {}),
        headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const setCookie = res.headers['set-cookie']?.[0]?.split(';')[0];
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ...(setCookie === undefined ? {} : { cookie: setCookie }) });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const fhir = (key: string) => ({ ...bearer(key), 'content-type': 'application/fhir+json', accept: 'application/fhir+json' });

// ── Set-up: two tenants, keys, people ─────────────────────────────────────────────────────
const suffix = randomBytes(3).toString('hex');
const tenant = `attack-${suffix}`;
const other = `attack-${suffix}-b`;
const password = `correct horse ${randomBytes(6).toString('hex')} staple`;

interface Attack {
  readonly name: string;
  readonly expect: string;
  /** Where the alert belongs: the attacked tenant, or the tenant whose credential was misused. */
  readonly realm?: 'attacked' | 'home';
  /** Sends the attack; resolves with a short note of what was sent. */
  readonly run: () => Promise<string>;
}

async function main(): Promise<number> {
  const health = await request('GET', '/healthz').catch((error: unknown) => ({ status: 0, body: String(error) }));
  if (health.status !== 200) {
    console.error(`no Tresor answers at ${base.origin} (${health.body}); start it first (npm start), then run this with the same --data-dir / --config.`);
    return 2;
  }
  console.log(`Tresor at ${base.origin}; tenants ${tenant} and ${other} (left in place for the console).`);
  tresor('tenant', 'create', tenant, '--name', 'Attack replay');
  tresor('tenant', 'create', other, '--name', 'Attack replay, second tenant');
  // People sign in with a password only here, so the replay needs no second factor: a settings change (itself alerted).
  tresor('tenant', 'set', tenant, '--mfa', 'optional');
  const service = tresor('apikey', 'create', '--tenant', tenant, '--role', 'service', '--label', 'attack-replay');
  const auditor = tresor('apikey', 'create', '--tenant', tenant, '--role', 'auditor', '--label', 'attack-replay-alerts');
  const frontDesk = tresor('apikey', 'create', '--tenant', tenant, '--role', 'front-desk', '--label', 'attack-replay-front-desk');
  const otherKey = tresor('apikey', 'create', '--tenant', other, '--role', 'service', '--label', 'attack-replay-elsewhere');
  const otherAuditor = tresor('apikey', 'create', '--tenant', other, '--role', 'auditor', '--label', 'attack-replay-alerts');

  // Patients, and a clinician with a Practitioner who cares for none of them.
  const created = async (type: string, body: Record<string, unknown>) => {
    const answer = await request('POST', `/tenants/${tenant}/fhir/${type}`, { headers: fhir(service), body: { resourceType: type, ...body } });
    if (answer.status !== 201) throw new Error(`creating ${type}: ${answer.status} ${answer.body}`);
    return (JSON.parse(answer.body) as { id: string }).id;
  };
  const practitioner = await created('Practitioner', { name: [{ family: 'Replay' }] });
  // More patients than a person reads in a day (the mass-read ceiling for people is 200), in one transaction.
  const bundle = await request('POST', `/tenants/${tenant}/fhir`, {
    headers: fhir(service),
    body: { resourceType: 'Bundle', type: 'transaction', entry: Array.from({ length: 210 }, (_, n) => ({ request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient', name: [{ family: `Replay${n}` }], birthDate: '1970-01-01' } })) },
  });
  if (bundle.status !== 200) throw new Error(`creating patients: ${bundle.status} ${bundle.body}`);
  const patients = (JSON.parse(bundle.body) as { entry: Array<{ response: { location: string } }> }).entry.map((e) => e.response.location.split('/')[1] as string);
  const person = async (role: string, email: string, extra: string[] = []) => {
    const token = tresor('user', 'create', '--tenant', tenant, '--role', role, '--email', email, ...extra);
    const setup = await request('POST', `/tenants/${tenant}/auth/setup`, { body: { token, password } });
    if (setup.status !== 200) throw new Error(`account setup: ${setup.status} ${setup.body}`);
    return (JSON.parse(setup.body) as { account: { id: string } }).account.id;
  };
  const victim = await person('clinician', `victim-${suffix}@attack.example`);
  const clinician = await person('clinician', `doctor-${suffix}@attack.example`, ['--practitioner', `Practitioner/${practitioner}`]);
  const desk = await person('front-desk', `desk-${suffix}@attack.example`);
  const signIn = async (email: string) => {
    const answer = await request('POST', `/tenants/${tenant}/auth/login`, { body: { email, password } });
    if (answer.status !== 200 || answer.cookie === undefined) throw new Error(`sign-in: ${answer.status} ${answer.body}`);
    return { cookie: answer.cookie, csrf: (JSON.parse(answer.body) as { csrfToken: string }).csrfToken };
  };

  const attacks: Attack[] = [
    {
      name: 'password guessing against one account',
      expect: 'auth.brute-force',
      async run() {
        let sent = 0;
        for (let n = 0; n < 12; n += 1, sent += 1) await request('POST', `/tenants/${tenant}/auth/login`, { body: { email: `victim-${suffix}@attack.example`, password: `guess number ${n} of many` } });
        return `${sent} wrong passwords for one account (${victim})`;
      },
    },
    {
      name: 'password spraying from one address',
      expect: 'auth.password-spraying',
      async run() {
        for (let n = 0; n < 15; n += 1) await request('POST', `/tenants/${tenant}/auth/login`, { body: { email: `user${n}-${suffix}@attack.example`, password: 'Summer2026!' } });
        return 'one common password against 15 addresses';
      },
    },
    {
      name: 'stolen or guessed API keys',
      expect: 'auth.client-auth-burst',
      async run() {
        for (let n = 0; n < 30; n += 1) await request('GET', `/tenants/${tenant}/fhir/Patient?_count=1`, { headers: bearer(`tresor_${randomBytes(24).toString('base64url')}`) });
        return '30 requests with keys that do not exist';
      },
    },
    {
      name: 'a key probing what it may not read',
      expect: 'access.denied-burst',
      async run() {
        for (let n = 0; n < 25; n += 1) await request('GET', `/tenants/${tenant}/fhir/Observation?_count=1`, { headers: fhir(frontDesk) });
        return "25 reads of Observations with the front desk's key (no health data for that role)";
      },
    },
    {
      name: "another tenant's key",
      expect: 'access.cross-tenant',
      realm: 'home',
      async run() {
        for (let n = 0; n < 3; n += 1) await request('GET', `/tenants/${tenant}/fhir/Patient?_count=1`, { headers: fhir(otherKey) });
        return `3 requests at ${tenant} with a key of ${other}`;
      },
    },
    {
      name: 'mass read of patient records',
      expect: 'access.mass-read',
      async run() {
        const session = await signIn(`desk-${suffix}@attack.example`);
        const headers = { cookie: session.cookie, 'x-csrf-token': session.csrf, accept: 'application/fhir+json' };
        for (const id of patients) await request('GET', `/tenants/${tenant}/fhir/Patient/${id}`, { headers });
        return `${patients.length} different patients read by one front-desk person (${desk}) within minutes`;
      },
    },
    {
      name: 'bulk search volume',
      expect: 'access.bulk-volume',
      async run() {
        const session = await signIn(`desk-${suffix}@attack.example`);
        const headers = { cookie: session.cookie, 'x-csrf-token': session.csrf, accept: 'application/fhir+json' };
        for (let n = 0; n < 12; n += 1) await request('GET', `/tenants/${tenant}/fhir/Patient?_count=1000`, { headers });
        return `12 searches for every patient (${patients.length} each) by one person`;
      },
    },
    {
      name: 'break-the-glass, again and again',
      expect: 'access.emergency',
      async run() {
        const session = await signIn(`doctor-${suffix}@attack.example`);
        for (const id of patients.slice(0, 3)) {
          await request('GET', `/tenants/${tenant}/fhir/Patient/${id}`, { headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, accept: 'application/fhir+json', 'x-break-glass-reason': 'Unconscious patient in the emergency room' } });
        }
        return `3 emergency accesses by one clinician (${clinician}) to patients outside their care`;
      },
    },
    {
      name: 'a new all-powerful API key',
      expect: 'change.api-key',
      async run() {
        tresor('apikey', 'create', '--tenant', tenant, '--role', 'service', '--label', 'attack-replay-backdoor');
        return 'one service key (every record, every class) created';
      },
    },
    {
      name: 'privilege escalation of an account',
      expect: 'change.role',
      async run() {
        tresor('user', 'update', '--tenant', tenant, victim, '--role', 'tenant-admin');
        return `${victim} made tenant-admin`;
      },
    },
  ];

  const notes = new Map<string, string>();
  for (const attack of attacks) {
    process.stdout.write(`replaying: ${attack.name} … `);
    const note = await attack.run().catch((error: unknown) => `failed to send: ${error instanceof Error ? error.message : String(error)}`);
    notes.set(attack.name, note);
    console.log(note);
  }

  // Which rules caught what: the alerts API, as the tenant's auditor reads it.
  const expected = new Set(attacks.map((a) => a.expect));
  const deadline = Date.now() + waitSeconds * 1000;
  type Raised = { id: string; rule: string; severity: string; count: number; subject: string; home: boolean };
  let alerts: Raised[] = [];
  const list = async (realm: string, key: string, home: boolean) => {
    const answer = await request('GET', `/tenants/${realm}/alerts?limit=500`, { headers: bearer(key) });
    if (answer.status !== 200) throw new Error(`the alerts API answered ${answer.status}: ${answer.body}`);
    return (JSON.parse(answer.body) as { alerts: Raised[] }).alerts.map((a) => ({ ...a, home }));
  };
  for (;;) {
    alerts = [...(await list(tenant, auditor, false)), ...(await list(other, otherAuditor, true))];
    const seen = new Set(alerts.map((a) => a.rule));
    if ([...expected].every((rule) => seen.has(rule)) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const rows = attacks.map((attack) => {
    const caught = alerts.filter((a) => a.rule === attack.expect && a.home === (attack.realm === 'home'));
    return { attack, caught };
  });
  const others = alerts.filter((a) => !expected.has(a.rule));
  console.log('\n| attack | rule meant for it | caught | alerts (severity, count) |\n|---|---|---|---|');
  for (const { attack, caught } of rows) console.log(`| ${attack.name} | \`${attack.expect}\` | ${caught.length > 0 ? 'yes' : '**missed**'} | ${caught.map((a) => `${a.severity} ×${a.count}`).join(', ')} |`);
  if (others.length > 0) console.log(`\nAlso raised: ${[...new Set(others.map((a) => a.rule))].map((r) => `\`${r}\``).join(', ')}.`);
  console.log(`\nSee them in the console: ${base.origin}/tenants/${tenant}/console/alerts/ and ${base.origin}/tenants/${other}/console/alerts/ (a tenant admin or auditor of each).`);
  console.log('Not replayed here (the test suite covers them): credential stuffing from many addresses, off-hours access, token replay, tampered data and audit chains, platform health.');
  return rows.every((r) => r.caught.length > 0) ? 0 : 1;
}

process.exitCode = await main().catch((error: unknown) => {
  console.error(`attack replay failed: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
});
