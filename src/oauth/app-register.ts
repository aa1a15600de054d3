import { operatorEvent, type Audit } from '../audit/index.js';
import { actorOf, admitAdministrator, type Principal, type RequestContext } from '../identity/index.js';
import type { ClientInfo, ClientInput, Clients } from './clients.js';
import { OAuthError } from './errors.js';

/** A caller admitted to a tenant's app register. */
export interface AppManager {
  readonly tenantId: string;
  readonly principal: Principal;
  readonly request: RequestContext;
}

/**
 * The tenant's app register as administrators use it, for the JSON routes (`/tenants/{t}/apps`)
 * and the clinic console's Apps page alike: the gate (`apps:manage`; a change hands out access,
 * so a person with two factors, never a key; every refusal audited as `access.denied`), the
 * validation (clients.ts), the approval a backend service waits for, and the audit events.
 */
export interface AppRegister {
  admit(tenantId: string, principal: Principal, request: RequestContext, changes?: boolean): Promise<AppManager>;
  /** Registers an app; its secret, when it has one, is in this result and nowhere else, ever. */
  register(manager: AppManager, input: ClientInput): Promise<{ client: ClientInfo; clientSecret?: string; pending: boolean }>;
  list(manager: AppManager): Promise<ClientInfo[]>;
  get(manager: AppManager, clientId: string): Promise<ClientInfo>;
  setDisabled(manager: AppManager, clientId: string, disabled: boolean): Promise<ClientInfo>;
  /** A new secret (the old one stops working), in this result only. */
  renewSecret(manager: AppManager, clientId: string): Promise<{ client: ClientInfo; clientSecret: string }>;
}

export function createAppRegister({ clients, audit }: { clients: Clients; audit: Audit }): AppRegister {
  const appEvent = (m: AppManager, action: 'app.registered' | 'app.changed', detail: string) => ({
    ...operatorEvent(action, actorOf(m.principal), { detail }),
    purpose: 'HOPERAT' as const,
    sourceIp: m.request.sourceIp,
    requestId: m.request.requestId,
    status: 200,
  });

  return {
    async admit(tenantId, principal, request, changes = false) {
      const denied = (detail: string) =>
        audit.record(tenantId, [{ ...operatorEvent('access.denied', actorOf(principal), { outcome: 'failure', detail }), purpose: 'HOPERAT', sourceIp: request.sourceIp, requestId: request.requestId, status: 403 }]);
      await admitAdministrator(principal, 'apps:manage', changes, denied);
      return { tenantId, principal, request };
    },

    async register(m, input) {
      // A backend service acts with a service role over every record of the tenant, which no
      // tenant admin may read (the matrix keeps them from patient records): its registration
      // alone would let an admin mint that reach. It waits for a platform operator (two people,
      // OWASP ASVS 5 V8.2.1 and the separation of duties of NIST SP 800-53 AC-5). Apps used by a
      // person act with that person's role, which caps every token: no approval needed.
      const pending = input.kind === 'backend';
      const { client, clientSecret } = await clients.create(m.tenantId, input, actorOf(m.principal).id, { pending });
      await audit.record(m.tenantId, [appEvent(m, 'app.registered', `app ${client.clientId} (${client.name}, ${client.kind}); scope ${client.scope}${pending ? '; awaiting approval' : ''}`)]);
      return { client, ...(clientSecret === undefined ? {} : { clientSecret }), pending };
    },

    list: (m) => clients.list(m.tenantId),

    async get(m, clientId) {
      const found = await clients.get(m.tenantId, clientId);
      if (found === undefined) throw new OAuthError('client-not-found', 'No such app in this tenant.', { status: 404 });
      return found;
    },

    async setDisabled(m, clientId, disabled) {
      const client = await clients.setDisabled(m.tenantId, clientId, disabled);
      await audit.record(m.tenantId, [appEvent(m, 'app.changed', `app ${client.clientId} ${disabled ? 'disabled' : 'enabled'}`)]);
      return client;
    },

    async renewSecret(m, clientId) {
      const renewed = await clients.renewSecret(m.tenantId, clientId);
      await audit.record(m.tenantId, [appEvent(m, 'app.changed', `app ${renewed.client.clientId} secret renewed`)]);
      return renewed;
    },
  };
}
