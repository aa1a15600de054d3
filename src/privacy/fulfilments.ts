import { forbidden, hasCapability } from '../identity/index.js';
import { defaultPurpose } from '../records/index.js';
import type { Erasures } from './erasure.js';
import type { SubjectExports } from './exports.js';
import { restrictionGroundFor } from './restriction-ground.js';
import type { Restrictions } from './restrictions.js';
import type { Fulfilment, PrivacyRequests } from './requests.js';

/**
 * An erasure request (GDPR Art. 17) fulfilled from the request queue: the erasure itself, by a
 * person who may erase (`privacy:erase`) — the same checks as everywhere (a legal hold or a
 * retention duty refuses it with its reason, and the request stays open to be rejected with that
 * reason, Art. 12(4)); its record names the request.
 */
export function erasureFulfilment(erasures: Erasures): Fulfilment {
  return async (tenantId, request, by) => {
    if (by.role === 'system' || !hasCapability(by.role, 'privacy:erase')) {
      throw forbidden(`Erasing a patient needs privacy:erase (tenant admins); your role (${by.role}) can record and reject the request, not carry it out.`);
    }
    const record = await erasures.erase(tenantId, request.subject, { by: { actor: by.actor, requestId: by.requestId, sourceIp: by.sourceIp }, reason: `erasure request ${request.id}`, requestId: request.id, source: 'api' });
    return { note: `Erased on ${record.erasedAt.slice(0, 10)} (erasure record ${record.id}): the data keys are destroyed, so the records can no longer be read, also in backups.` };
  };
}

/**
 * An access or portability request (GDPR Art. 15, 20) fulfilled from the queue: the patient's
 * personal download is prepared for them (the export names the request). The request stays in
 * progress, with a note for staff, until the download is ready — then `downloadSettlement`
 * completes it and the completion mail sends the patient to the portal; a download that could not
 * be prepared leaves the request open with a note, to be fulfilled again. Staff never see the
 * download itself.
 */
export function downloadFulfilment(exports: SubjectExports): Fulfilment {
  return async (tenantId, request, by) => {
    const started = await exports.start(tenantId, request.subject, { by: { role: by.role, actor: by.actor, requestId: by.requestId, sourceIp: by.sourceIp }, requestRef: request.id });
    return { pending: `Download ${started.id} is being prepared; the request completes by itself when it is ready, and the patient is told.` };
  };
}

/** What a download prepared for a request does to the request when it ends (wired to the exports' `onSettled`). */
export function downloadSettlement(requests: Pick<PrivacyRequests, 'settle'>, linkDays: number) {
  return async (tenantId: string, settled: { readonly exportId: string; readonly requestRef: string; readonly state: 'ready' | 'failed'; readonly error?: string }): Promise<void> => {
    await requests.settle(
      tenantId,
      settled.requestRef,
      settled.state === 'ready'
        ? { done: { note: `Your download (${settled.exportId}) is ready in the portal under "Download my data"; each link works for ${linkDays} days.`, link: `/tenants/${tenantId}/me/data` } }
        : { failed: `Download ${settled.exportId} could not be prepared (${settled.error ?? 'failed'}): fulfil the request again.` },
    );
  };
}

/**
 * A restriction request (GDPR Art. 18) fulfilled from the queue: the patient is restricted, by a
 * person who may restrict (`privacy:restrict`, tenant admins) — anyone else is refused and the
 * request stays open. The ground follows the patient's other open requests
 * (restriction-ground.ts); the allowed roles are the default (tenant admins only, Art. 18(2));
 * the restriction names the request. A patient already restricted stays restricted as they are. Lifting it later is the tenant admin's act, after telling
 * the patient (Art. 18(3)).
 */
export function restrictionFulfilment(restrictions: Restrictions, requests: Pick<PrivacyRequests, 'list'>): Fulfilment {
  return async (tenantId, request, by) => {
    if (by.role === 'system' || !hasCapability(by.role, 'privacy:restrict')) {
      throw forbidden(`Restricting a patient needs privacy:restrict (tenant admins); your role (${by.role}) can record and reject the request, not carry it out.`);
    }
    // Already restricted (by staff, or an earlier request): the restriction in force stays as it is
    // — its ground and allowed roles were chosen deliberately, and a default must not narrow them.
    const existing = await restrictions.get(tenantId, request.subject);
    if (existing !== undefined) return { note: `Your data has been restricted since ${new Date(existing.at).toISOString().slice(0, 10)}: we keep it, but do not otherwise use it. We will tell you before the restriction is lifted.` };
    const open = await requests.list(tenantId, by, { open: true, type: 'rectification' });
    const ground = restrictionGroundFor(open.filter((r) => r.subject === request.subject && r.id !== request.id).map((r) => r.type));
    await restrictions.restrict(tenantId, request.subject, { by: { actor: by.actor, purpose: defaultPurpose[by.role], requestId: by.requestId, sourceIp: by.sourceIp }, ground, requestId: request.id });
    return {
      note:
        ground === 'accuracy-contested'
          ? 'Your data is now restricted while we check its accuracy (GDPR Art. 18(1)(a)): we keep it, but do not otherwise use it. We will tell you before the restriction is lifted.'
          : 'Your data is now restricted while your objection is considered (GDPR Art. 18(1)(d)): we keep it, but do not otherwise use it. We will tell you before the restriction is lifted.',
    };
  };
}
