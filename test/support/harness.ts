import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type AppOverrides, type Tresor } from '../../src/app.js';
import { loadConfig, type ConfigInput } from '../../src/config/index.js';
import { fixedClock } from '../../src/platform/clock.js';
import type { KeyRole } from '../../src/identity/index.js';

export type EngineName = 'sqlite' | 'postgres';

/**
 * For unit tests against PostgreSQL itself: the server `npm test` provides, and the `skip` for
 * `describe` — a reason when there is none, except with TRESOR_REQUIRE_PG=1 (CI), where the
 * tests run and `requirePg()` in their `before` fails instead.
 */
export function testPostgres(): { url: string | undefined; skip: false | string; requirePg(what: string): string } {
  const raw = process.env['TRESOR_TEST_PG_URL'];
  const url = raw === undefined || raw === '' ? undefined : raw;
  const skip =
    url !== undefined || process.env['TRESOR_REQUIRE_PG'] === '1'
      ? false
      : 'no PostgreSQL: TRESOR_TEST_PG_URL is unset (npm test starts one from Debian’s postgresql package when installed); TRESOR_REQUIRE_PG=1 makes this a failure';
  return {
    url,
    skip,
    requirePg(what) {
      if (url === undefined) throw new Error(`TRESOR_REQUIRE_PG=1 but TRESOR_TEST_PG_URL is unset: ${what} were not tested`);
      return url;
    },
  };
}

/** The engines this run can test: SQLite always, PostgreSQL when the runner found one. */
export function engines(): EngineName[] {
  return process.env['TRESOR_TEST_PG_URL'] ? ['sqlite', 'postgres'] : ['sqlite'];
}

export interface TestApp {
  readonly app: Tresor;
  readonly logs: string[];
  readonly dataDir: string;
  /** The PostgreSQL schema prefix of this app's data sets (for child processes on the same data). */
  readonly schemaPrefix: string;
  /** Creates a tenant and returns an API key for it with the given role. */
  tenant(id: string, role?: KeyRole): Promise<string>;
  key(tenantId: string, role: KeyRole): Promise<string>;
  inject(opts: { method: string; url: string; key?: string; body?: unknown; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/**
 * A Tresor in-process on a fresh data directory (and, on PostgreSQL, fresh schemas). `node.joins`:
 * another node of the deployment with that schema prefix (PostgreSQL): it shares the database,
 * and its close() leaves the schemas to the first node's.
 */
export async function startTestApp(
  engine: EngineName,
  overrides: ConfigInput = {},
  appOverrides: Pick<AppOverrides, 'rotationOptions' | 'rotationCheckMs' | 'clock' | 'backupSchedule' | 'sqlite' | 'fimSchedule' | 'notifier'> = {},
  node: { joins?: string } = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tresor-test-'));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const schemaPrefix = node.joins ?? `t${randomBytes(5).toString('hex')}`;
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      log: { level: 'info' },
      ...overrides,
      server: { tls: { enabled: false }, ...overrides.server },
      // The server's file integrity check would hash this checkout a minute in: tests of it turn it on.
      fim: { enabled: false, ...overrides.fim },
      storage: { ...overrides.storage, ...(engine === 'postgres' ? { engine: 'postgres', postgres: { url: process.env['TRESOR_TEST_PG_URL'], schemaPrefix, poolSize: 5 } } : { engine: 'sqlite' }) },
    },
  });
  // Each reading of the clock moves it on by one millisecond: lastUpdated order is strict and
  // repeatable without sleeping.
  const base = fixedClock(new Date('2026-01-01T00:00:00Z'));
  const clock = { now: () => (base.advance(1), base.now()) };
  const app = await buildApp(config, { logDestination: sink, clock, ...appOverrides });
  const key = async (tenantId: string, role: KeyRole) => (await app.apiKeys.create({ tenantId, role })).key;
  return {
    app,
    logs,
    dataDir,
    schemaPrefix,
    key,
    async tenant(id, role = 'service') {
      await app.tenants.create(id);
      return key(id, role);
    },
    inject({ method, url, key: bearer, body, headers = {} }) {
      return app.http.inject({
        method: method as 'GET',
        url,
        headers: {
          ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
    },
    async close() {
      await app.close();
      if (engine === 'postgres' && node.joins === undefined) await dropPgSchemas(schemaPrefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Drops every PostgreSQL schema a test created under `prefix` (`<prefix>_platform`, `_keys`, `_t_<tenant>`). */
export async function dropPgSchemas(prefix: string): Promise<void> {
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: process.env['TRESOR_TEST_PG_URL'] });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [`${prefix}\\_%`]);
    for (const row of rows) await client.query(`DROP SCHEMA "${row.nspname}" CASCADE`);
  } finally {
    await client.end();
  }
}

export function json<T = Record<string, any>>(response: LightMyRequestResponse): T {
  return JSON.parse(response.body) as T;
}

/** The error code a FHIR OperationOutcome or a problem+json carries. */
export function errorCode(response: LightMyRequestResponse): string | undefined {
  const body = json(response);
  if (body['resourceType'] === 'OperationOutcome') return body['issue']?.[0]?.details?.coding?.[0]?.code;
  return body['code'];
}

export const patient = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  name: [{ family: 'Müller', given: ['Anna', 'Maria'] }],
  birthDate: '1980-02-03',
  gender: 'female',
  identifier: [{ system: 'urn:oid:1.2.276.0.76.4.8', value: 'A123456789' }],
  ...extra,
});

export const observation = (patientId: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  subject: { reference: `Patient/${patientId}` },
  effectiveDateTime: '2025-05-01T10:00:00Z',
  valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  ...extra,
});
