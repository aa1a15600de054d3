import type { Audit } from '../audit/index.js';
import { AppError } from '../platform/errors.js';
import type { Storage } from '../platform/db/index.js';
import { accessEvent, type AccessContext, type RecordAccess, type Records } from '../records/index.js';
import { invalidRequest, stateConflict } from './requests-errors.js';
import { rectified } from './requests-rectification.js';
import type { PrivacyRequests } from './requests.js';
import { openStates, type PrivacyRequest, type ProposedChanges, type RequestCaller } from './requests-types.js';

export interface RectificationDeps {
  readonly storage: Storage;
  readonly records: Records;
  readonly access: RecordAccess;
  readonly audit: Audit;
  readonly requests: PrivacyRequests;
}

export interface Rectifications {
  /** The request's proposed values beside the Patient's current ones, read as the caller (permission-checked and audited as `record.read`). */
  compare(ctx: AccessContext, by: RequestCaller, id: string): Promise<{ readonly request: PrivacyRequest; readonly current: Readonly<Record<string, unknown>> | undefined; readonly proposed: ProposedChanges }>;
  /**
   * Accepts a rectification (GDPR Art. 16): writes the proposed values as a new version of the
   * patient's Patient through the records layer as the caller — the guard's `admit` applies, so
   * a role that may not write those elements cannot accept — tagged as a rectification on
   * request; then completes the request and tells the subject.
   */
  accept(ctx: AccessContext, by: RequestCaller, id: string, note: unknown): Promise<PrivacyRequest>;
}

export function createRectifications({ storage, records, access, audit, requests }: RectificationDeps): Rectifications {
  async function proposal(ctx: AccessContext, by: RequestCaller, id: string) {
    const request = await requests.get(ctx.tenantId, by, id);
    if (request.type !== 'rectification') throw invalidRequest('Only a rectification request proposes changes.');
    return { request, proposed: request.texts?.changes ?? {} };
  }

  return {
    async compare(ctx, by, id) {
      const { request, proposed } = await proposal(ctx, by, id);
      let current: Record<string, unknown> | undefined;
      try {
        current = JSON.parse((await access.read(ctx, 'Patient', request.subject.slice('Patient/'.length))).content) as Record<string, unknown>;
      } catch (error) {
        // A role that may not read the Patient sees the proposal alone (the refusal is already audited).
        if (!(error instanceof AppError) || error.status !== 403) throw error;
      }
      return { request, current, proposed };
    },

    async accept(ctx, by, id, note) {
      const { request, proposed } = await proposal(ctx, by, id);
      if (!openStates.includes(request.state)) throw stateConflict(`The request is ${request.state}; only a received or in-progress request can change.`);
      if (Object.keys(proposed).length === 0) throw invalidRequest('This request proposes no structured changes: correct the record itself, then complete the request with a note.');
      const patientId = request.subject.slice('Patient/'.length);
      const t = { tenantId: ctx.tenantId, db: await storage.tenant(ctx.tenantId) };
      const guard = access.guardOf(ctx);
      try {
        // The create handler's order (records/routes.ts): allow → admit (guard) → prepare → one transaction (the version and its audit event).
        guard.allow('Patient', 'update');
        const current = await records.read(t, 'Patient', patientId);
        const admitted = await guard.admit(t, 'Patient', { mode: 'update', id: patientId }, rectified(JSON.parse(current.content) as Record<string, unknown>, proposed));
        const prepared = await records.prepare(ctx.tenantId, 'Patient', admitted.body, { mode: 'update', id: patientId });
        await t.db.transaction(async (tx) => {
          // Pinned to the version read: a change made meanwhile makes this a conflict, not an overwrite.
          const { resource } = await records.updateIn({ tenantId: ctx.tenantId, db: tx }, prepared, admitted.ifMatch ?? `W/"${current.versionId}"`);
          await audit.appendIn(tx, ctx.tenantId, [accessEvent(ctx, 'record.updated', [{ ref: `Patient/${patientId}/_history/${resource.versionId}`, subject: resource.subject, classes: resource.classes }], 200)]);
        });
      } catch (error) {
        if (error instanceof AppError && error.status < 500) throw await access.failed(ctx, 'record.updated', `Patient/${patientId}`, error);
        throw error;
      }
      // The record changed and its event committed; completing the request follows (a failure
      // here leaves an open request whose change is already made: completing it again is safe).
      return requests.complete(ctx.tenantId, id, { by, note, news: 'accepted' });
    },
  };
}
