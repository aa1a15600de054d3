import { randomUUID } from 'node:crypto';
import type { Audit } from '../audit/index.js';
import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import { ErasureError } from './erasure-errors.js';
import { privacyEvent, type PrivacyCaller } from './erasure-event.js';
import { insertHold, releaseHold, selectHold, selectHolds, type HoldRow } from './erasure-store.js';

/**
 * Legal holds (GDPR Art. 17(3)(e): data needed for legal claims): a patient on hold is not
 * erased — neither on request nor by the retention job — until the hold is released or ends.
 * Set and released by staff with `privacy:erase` (or the CLI's operator), with a reason; audited.
 */
export interface LegalHold {
  readonly id: string;
  readonly subject: string;
  readonly reason: string;
  readonly setBy: string;
  readonly setAt: string;
  readonly endsAt?: string;
  readonly releasedAt?: string;
  readonly releasedBy?: string;
  readonly releaseReason?: string;
}

export interface Holds {
  set(tenantId: string, input: { subject: string; reason: string; endsAt?: string }, by: PrivacyCaller): Promise<LegalHold>;
  release(tenantId: string, id: string, reason: string, by: PrivacyCaller): Promise<LegalHold>;
  /** Holds of the tenant (of one subject), newest first; `active`: only those in force now. */
  list(tenantId: string, filter?: { subject?: string; active?: boolean }): Promise<LegalHold[]>;
}

export const subjectPattern = /^Patient\/[A-Za-z0-9\-.]{1,64}$/;
const reasonMax = 500;

export function checkSubject(subject: string): string {
  if (!subjectPattern.test(subject)) throw new ErasureError('subject-invalid', 'The subject is Patient/<id>.', { status: 400 });
  return subject;
}

export function checkReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.trim() === '') throw new ErasureError('reason-required', 'Give a reason.', { status: 400 });
  if (reason.length > reasonMax) throw new ErasureError('reason-required', `The reason is at most ${reasonMax} characters.`, { status: 400 });
  return reason.trim();
}

const iso = (ms: number | string | null) => (ms === null ? undefined : new Date(Number(ms)).toISOString());

const toHold = (r: HoldRow): LegalHold => ({
  id: r.id,
  subject: r.subject,
  reason: r.reason,
  setBy: r.set_by,
  setAt: iso(r.set_at) as string,
  ...(r.ends_at === null ? {} : { endsAt: iso(r.ends_at) as string }),
  ...(r.released_at === null ? {} : { releasedAt: iso(r.released_at) as string, releasedBy: r.released_by ?? '', releaseReason: r.release_reason ?? '' }),
});

export function createHolds({ storage, audit, clock }: { storage: Storage; audit: Audit; clock: Clock }): Holds {
  return {
    async set(tenantId, input, by) {
      const subject = checkSubject(input.subject);
      const reason = checkReason(input.reason);
      const now = clock.now().getTime();
      let endsAt: number | null = null;
      if (input.endsAt !== undefined) {
        endsAt = Date.parse(input.endsAt);
        if (!Number.isFinite(endsAt) || endsAt <= now) throw new ErasureError('hold-invalid', '"endsAt" is a date and time in the future (ISO 8601).', { status: 400 });
      }
      const id = randomUUID();
      const db = await storage.tenant(tenantId);
      await db.transaction(async (tx) => {
        await insertHold(tx, { id, subject, reason, set_by: by.actor.id, set_at: now, ends_at: endsAt });
        await audit.appendIn(tx, tenantId, [privacyEvent(by, 'privacy.hold_set', { subjects: [subject], resources: [`LegalHold/${id}`], detail: `hold ${id}${endsAt === null ? '' : ` until ${new Date(endsAt).toISOString()}`}` })]);
      });
      return toHold((await selectHold(db, id)) as HoldRow);
    },
    async release(tenantId, id, reasonGiven, by) {
      const reason = checkReason(reasonGiven);
      const db = await storage.tenant(tenantId);
      const found = /^[0-9a-f-]{36}$/.test(id) ? await selectHold(db, id) : undefined;
      if (found === undefined || found.released_at !== null) throw new ErasureError('hold-not-found', 'No such legal hold in force.', { status: 404 });
      await db.transaction(async (tx) => {
        if (!(await releaseHold(tx, id, clock.now().getTime(), by.actor.id, reason))) throw new ErasureError('hold-not-found', 'No such legal hold in force.', { status: 404 });
        await audit.appendIn(tx, tenantId, [privacyEvent(by, 'privacy.hold_released', { subjects: [found.subject], resources: [`LegalHold/${id}`], detail: `hold ${id}` })]);
      });
      return toHold((await selectHold(db, id)) as HoldRow);
    },
    async list(tenantId, filter = {}) {
      const db = await storage.tenant(tenantId);
      const rows = await selectHolds(db, { ...(filter.subject === undefined ? {} : { subject: filter.subject }), ...(filter.active === true ? { activeAt: clock.now().getTime() } : {}) });
      return rows.map(toHold);
    },
  };
}
