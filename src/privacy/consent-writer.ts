import type { Audit } from '../audit/index.js';
import type { Storage } from '../platform/db/index.js';
import { accessEvent, type AccessContext, type RecordAccess, type Records, type StoredResource } from '../records/index.js';

export interface ConsentWriterDeps {
  readonly records: Records;
  readonly storage: Storage;
  readonly audit: Audit;
  readonly access: RecordAccess;
}

/** Writes a person's Consent from the pages exactly as the FHIR API's create and update do. */
export interface ConsentWriter {
  /** A new Consent (`id` undefined) or a new version of one; the matrix and the guard decide, the change and its event commit together. */
  save(ctx: AccessContext, body: Record<string, unknown>, id?: string): Promise<StoredResource>;
}

export function createConsentWriter({ records, storage, audit, access }: ConsentWriterDeps): ConsentWriter {
  return {
    async save(ctx, body, id) {
      const guard = access.guardOf(ctx);
      const t = { tenantId: ctx.tenantId, db: await storage.tenant(ctx.tenantId) };
      // The FHIR create handler's order (records/routes.ts): admit → prepare → reach → one transaction → disclose.
      guard.allow('Consent', id === undefined ? 'create' : 'update');
      const target = id === undefined ? ({ mode: 'create' } as const) : ({ mode: 'update', id } as const);
      const admitted = await guard.admit(t, 'Consent', target, body);
      const prepared = await records.prepare(t.tenantId, 'Consent', admitted.body, target);
      await guard.reach(t, prepared.keySubject, `Consent/${prepared.id}`, { action: id === undefined ? 'create' : 'update' });
      const stored = await t.db.transaction(async (tx) => {
        const view = { tenantId: t.tenantId, db: tx };
        const written = id === undefined ? await records.createIn(view, prepared) : (await records.updateIn(view, prepared, admitted.ifMatch)).resource;
        const disclosed = [{ ref: `Consent/${written.id}/_history/${written.versionId}`, subject: written.subject, classes: written.classes }];
        await audit.appendIn(tx, t.tenantId, [accessEvent(ctx, id === undefined ? 'record.created' : 'record.updated', disclosed, id === undefined ? 201 : 200)]);
        return written;
      });
      return guard.disclose(t, stored, { inScope: true });
    },
  };
}
