import type { FastifyInstance } from 'fastify';
import type { Core } from '../app.js';
import type { Config } from '../config/index.js';
import { createAuthenticator } from '../identity/index.js';
import type { Clock } from '../platform/clock.js';
import { createBundleProcessor, createRecordAccess, fhirRoutes } from '../records/index.js';
import { version } from '../version.js';

/**
 * The FHIR API in this command's process, never listening: what `tresor incident drill` calls
 * with `inject`, so the drill's stolen key goes through the same authentication, permission
 * checks, sealing and audit events as a request from outside. API keys only (no sessions' pages,
 * no OAuth), and none of the server's jobs: building the whole app here would start a second
 * detection engine and claim the server's pid file.
 */
export async function commandFhirApi(core: Core, config: Config, clock: Clock): Promise<FastifyInstance> {
  const { default: Fastify } = await import('fastify');
  const http = Fastify({ logger: false, bodyLimit: config.server.bodyLimitBytes }) as unknown as FastifyInstance;
  const authenticator = createAuthenticator({ apiKeys: core.apiKeys, sessions: core.sessions, accounts: core.accounts, tenants: core.tenants, audit: core.audit });
  const access = createRecordAccess({
    records: core.records,
    storage: core.storage,
    audit: core.audit,
    directory: { account: (tenantId, id) => core.accounts.get(tenantId, id), appName: async (tenantId, clientId) => (await core.clients.get(tenantId, clientId))?.name },
  });
  await http.register(fhirRoutes({ records: core.records, access, bundles: createBundleProcessor({ records: core.records, clock }), storage: core.storage, tenants: core.tenants, authenticator, audit: core.audit, clock, publicUrl: config.server.publicUrl, version }), { prefix: '/tenants/:tenant/fhir' });
  await http.ready();
  return http;
}
