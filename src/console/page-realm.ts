import type { FastifyRequest } from 'fastify';
import { operatorRealm, type SignInRealm } from '../identity/index.js';
import type { Tenants } from '../tenants/index.js';
import { parseTenantId } from '../tenants/index.js';

/**
 * Where a person's pages live: a tenant's people under `/tenants/{t}/`, platform operators under
 * `/platform/`. The sign-in and account pages are the same code for both; this says what differs
 * (the realm, the paths, whose name the layout shows, where a person lands after signing in).
 */
export interface PageRealm {
  readonly kind: SignInRealm['kind'];
  /** The realm id (tenant id, or the operators' realm) of this request; throws a 404 for a malformed tenant id. */
  of(request: FastifyRequest): string;
  /** Whose space the layout names: the tenant's display name, or "Platform". Undefined: no such active tenant. */
  space(id: string): Promise<string | undefined>;
  /** `/tenants/{t}` or `/platform`: every page path of the realm starts with it. */
  base(id: string): string;
  /** Where a signed-in person lands: the patient portal, the clinic console, the operator console. */
  home(id: string, role: string): string;
}

export function tenantPages(tenants: Tenants): PageRealm {
  return {
    kind: 'tenant',
    of: (request) => parseTenantId((request.params as { tenant: string }).tenant),
    space: async (id) => {
      const tenant = await tenants.get(id);
      return tenant?.status === 'active' ? tenant.name : undefined;
    },
    base: (id) => `/tenants/${id}`,
    home: (id, role) => (role === 'patient' ? `/tenants/${id}/me/` : `/tenants/${id}/console/`),
  };
}

export const operatorPages: PageRealm = {
  kind: 'operators',
  of: () => operatorRealm,
  space: async () => 'Platform',
  base: () => '/platform',
  home: () => '/platform/console/',
};

/**
 * A `next` after sign-in, kept only when it is a path of the same realm (no scheme, no host, no
 * `//` or backslash that a browser could read as another origin): an open redirect would let a
 * phishing link send a person who just signed in anywhere (OWASP ASVS 5 V3.7.2 / unvalidated
 * redirects).
 */
export function safeNext(next: unknown, base: string): string | undefined {
  if (typeof next !== 'string' || next.length > 512) return undefined;
  if (!next.startsWith(`${base}/`) || next.includes('//') || next.includes('\\') || /[\u0000-\u001f\u007f]/.test(next)) return undefined;
  return next;
}
