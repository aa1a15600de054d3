import type { ClientInfo, Clients } from './clients.js';
import type { Consents } from './consents.js';

/**
 * A person's connected apps: one entry per app, however often they authorised it (each
 * authorisation is a Grant and a consent row of its own). What the app may do is the union of
 * its live consents' scopes; the patients are those of its patient/ consents. An app the clinic
 * switched off or removed stays listed (its grants are still the person's to withdraw) and says so.
 */
export interface ConnectedApp {
  readonly clientId: string;
  /** Undefined: the app was removed from the register. */
  readonly client?: Pick<ClientInfo, 'name' | 'publisher' | 'status'>;
  readonly scopes: readonly string[];
  /** `Patient/<id>` of each patient context, in order of authorisation (newest first). */
  readonly patients: readonly string[];
  /** When it was first and last authorised (ISO 8601). */
  readonly since: string;
  readonly lastAuthorised: string;
  readonly authorisations: number;
}

export async function connectedApps({ clients, consents }: { clients: Clients; consents: Consents }, tenantId: string, accountId: string): Promise<ConnectedApp[]> {
  const known = new Map((await clients.list(tenantId)).map((c) => [c.clientId, c]));
  const byApp = new Map<string, { scopes: Set<string>; patients: Set<string>; since: string; last: string; count: number }>();
  // listOf is newest first: the first row of an app is its last authorisation.
  for (const c of await consents.listOf(tenantId, accountId)) {
    const entry = byApp.get(c.clientId) ?? { scopes: new Set<string>(), patients: new Set<string>(), since: c.grantedAt, last: c.grantedAt, count: 0 };
    for (const s of c.scope.split(' ').filter(Boolean)) entry.scopes.add(s);
    if (c.patient !== undefined) entry.patients.add(c.patient);
    if (c.grantedAt < entry.since) entry.since = c.grantedAt;
    entry.count += 1;
    byApp.set(c.clientId, entry);
  }
  return [...byApp.entries()].map(([clientId, e]) => {
    const client = known.get(clientId);
    return {
      clientId,
      ...(client === undefined ? {} : { client: { name: client.name, publisher: client.publisher, status: client.status } }),
      scopes: [...e.scopes],
      patients: [...e.patients],
      since: e.since,
      lastAuthorised: e.last,
      authorisations: e.count,
    };
  });
}
