import type { Actor, Audit, AuditEventInput } from '../audit/index.js';
import { IdentityError, type Principal } from '../identity/index.js';
import type { Storage } from '../platform/db/index.js';
import type { AppError } from '../platform/errors.js';
import { createGuard } from './guard.js';
import type { Records, StoredResource } from './records.js';
import { defaultPurpose } from './routes.js';

/** Who reads, from where: a page's request, as the API would see it. */
export interface PersonAccess {
  readonly principal: Principal;
  readonly sourceIp: string;
  readonly requestId: string;
  /** How the person came: `session` for pages, `oauth:<client>` for a consent page of that app. */
  readonly client: string;
}

/** A search match as the person may see it (redacted to their role's data classes). */
export interface PersonMatch {
  readonly id: string;
  readonly versionId: number;
  readonly content: string;
}

/**
 * Records read by a person on a page, through the same permission matrix and the same audit
 * events as the FHIR API (`GET /{type}/{id}` and `GET /{type}?…`): the guard decides the reach
 * and redacts, the event is durable before anything is shown (fail closed), and a refusal is an
 * `access.denied` event. No break-the-glass here: pages that need it say so with the API.
 */
export interface PersonRecords {
  read(tenantId: string, access: PersonAccess, type: string, id: string): Promise<StoredResource>;
  search(tenantId: string, access: PersonAccess, type: string, params: ReadonlyArray<readonly [string, string]>): Promise<PersonMatch[]>;
}

export function createPersonRecords({ records, storage, audit }: { records: Records; storage: Storage; audit: Audit }): PersonRecords {
  const event = (access: PersonAccess, action: AuditEventInput['action'], disclosed: ReadonlyArray<{ ref: string; subject: string; classes: readonly string[] }>, status: number, failure?: AppError): AuditEventInput => {
    const p = access.principal;
    const actor: Actor = { id: p.kind === 'person' ? `account:${p.id}` : p.id, role: p.role, client: access.client };
    return {
      action,
      outcome: failure === undefined ? 'success' : 'failure',
      status,
      actor,
      purpose: defaultPurpose[p.role],
      resources: disclosed.map((d) => d.ref),
      subjects: [...new Set(disclosed.map((d) => d.subject).filter((s) => s.startsWith('Patient/')))],
      classes: [...new Set(disclosed.flatMap((d) => d.classes))].sort(),
      requestId: access.requestId,
      sourceIp: access.sourceIp,
      detail: failure?.code ?? '',
    };
  };

  /** A refusal is an event too (what detection looks for), then the refusal itself. */
  async function denied<T>(tenantId: string, access: PersonAccess, ref: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof IdentityError && error.status === 403) await audit.record(tenantId, [event(access, 'access.denied', [{ ref, subject: '_tenant', classes: [] }], 403, error)]);
      throw error;
    }
  }

  const guardOf = (access: PersonAccess) =>
    createGuard(records, access.principal, {
      onEmergency: () => Promise.reject(new IdentityError('forbidden', 'No break-the-glass on pages.', { status: 403, expose: true })),
    });

  return {
    async read(tenantId, access, type, id) {
      return denied(tenantId, access, `${type}/${id}`, async () => {
        const guard = guardOf(access);
        guard.allow(type, 'read');
        const t = { tenantId, db: await storage.tenant(tenantId) };
        const stored = await guard.disclose(t, await records.read(t, type, id));
        await audit.record(tenantId, [event(access, 'record.read', [{ ref: `${type}/${stored.id}/_history/${stored.versionId}`, subject: stored.subject, classes: stored.classes }], 200)]);
        return stored;
      });
    },
    async search(tenantId, access, type, params) {
      return denied(tenantId, access, type, async () => {
        const guard = guardOf(access);
        guard.allow(type, 'search');
        guard.checkSearch(type, params);
        const t = { tenantId, db: await storage.tenant(tenantId) };
        const result = await records.search(t, type, params, true, guard.scopeOf(type));
        const matches = await guard.discloseAll(t, result.matches.map((m) => ({ ...m, type })));
        await audit.record(tenantId, [event(access, 'record.searched', matches.map((m) => ({ ref: `${type}/${m.id}/_history/${m.versionId}`, subject: m.subject, classes: m.classes })), 200)]);
        return matches.map((m) => ({ id: m.id, versionId: m.versionId, content: m.content }));
      });
    },
  };
}
