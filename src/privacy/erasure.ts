import { randomUUID } from 'node:crypto';
import type { Actor, Audit } from '../audit/index.js';
import type { Accounts, Notifier } from '../identity/index.js';
import type { Keys } from '../keys/index.js';
import type { Consents } from '../oauth/index.js';
import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import { isAppError } from '../platform/errors.js';
import type { Records } from '../records/index.js';
import type { Tenants } from '../tenants/index.js';
import { ErasureError } from './erasure-errors.js';
import { privacyEvent, type PrivacyCaller } from './erasure-event.js';
import { erasureMessage } from './erasure-message.js';
import { countConsentRecords, countErasuresOf, subjectHasRecords, insertErasure, selectErasure, selectErasures, selectLastTreatment, updateErasureConfirmation, type ErasureRow } from './erasure-store.js';
import { checkReason, checkSubject, subjectPattern, type Holds, type LegalHold } from './holds.js';
import { addYears, legalBasis } from './retention-classes.js';
import type { RetentionSettings } from './retention-settings.js';

/** A duty to keep the records that overrides an erasure request (GDPR Art. 17(3)(b)). */
export interface RetentionDuty {
  readonly basis: string;
  readonly years: number;
  /** The newest clinical date of the patient's records (erasure-store.ts says which). */
  readonly lastTreatment: string;
  readonly endsAt: string;
}

export interface ErasureCheck {
  readonly subject: string;
  /** Nothing stands in the way. */
  readonly erasable: boolean;
  readonly holds: readonly LegalHold[];
  /** Set while the duty runs. */
  readonly duty?: RetentionDuty;
  /** Erasures already recorded for this subject (a second one finds nothing left but is allowed). */
  readonly erasedBefore: number;
}

/** What proves an erasure happened — and nothing else: no name, no address, no contents. */
export interface ErasureRecord {
  readonly id: string;
  readonly subject: string;
  readonly erasedAt: string;
  readonly approvedBy: string;
  readonly approvedRole: string;
  /** `api`, `console`, `cli` (`tresor privacy erase` or `tresor keys shred`), `retention` (the job), `restore` (recorded again after a restore that predated it). */
  readonly source: string;
  readonly reason: string;
  readonly requestId?: string;
  readonly counts: { readonly keyVersions: number; readonly records: number; readonly consents: number; readonly accounts: number; readonly grants: number; readonly requests: number };
  /** `recorded` in the backup repository's tombstone list, `pending` (the next backup adds it), `not-configured` (no backups). */
  readonly tombstone: 'recorded' | 'pending' | 'not-configured';
  /** `sent`, `failed` (the erasure stands), `no-address` (no account to write to). */
  readonly confirmation: 'sent' | 'failed' | 'no-address';
  /** Set when an operator erased despite the medical-records duty (`tresor keys shred`): when it would have ended. */
  readonly dutyOverriddenUntil?: string;
}

export interface EraseInput {
  readonly by: PrivacyCaller;
  readonly reason: string;
  /** The data-subject request this erasure fulfils. */
  readonly requestId?: string;
  /** Where the erasure was approved; `api` when not given (the request register's own path). */
  readonly source?: 'api' | 'console' | 'cli' | 'retention';
  /**
   * The operator's tool (`tresor keys shred`) erases despite a retention duty (recorded in the
   * erasure record and the audit event); a legal hold stops it all the same.
   */
  readonly overrideDuty?: boolean;
}

export interface Erasures {
  /** What stands in the way of erasing `subject` now: legal holds in force, a retention duty still running. */
  check(tenantId: string, subject: string): Promise<ErasureCheck>;
  /**
   * Erases the patient (GDPR Art. 17), refused with 409 `erasure-held` / `erasure-retention` when
   * `check` finds anything; audited as `privacy.erased` or `privacy.erasure_refused`.
   */
  erase(tenantId: string, subject: string, input: EraseInput): Promise<ErasureRecord>;
  /** The tenant's erasure records, newest first. */
  list(tenantId: string, limit?: number): Promise<ErasureRecord[]>;
  /**
   * After a restore older than some erasures (applied again from the tombstone list): a subject
   * whose erasure record the restore took away gets one again, with source `restore`.
   */
  reapplied(tenantId: string, subjects: readonly string[], by: Actor): Promise<number>;
}

export interface ErasureDeps {
  readonly storage: Storage;
  readonly keys: Pick<Keys, 'shred'>;
  readonly records: Pick<Records, 'erase'>;
  readonly accounts: Pick<Accounts, 'list' | 'eraseOfPatient'>;
  /** Withdraws every OAuth grant of an account (their tokens end); how many. */
  readonly grants: { withdrawOf(tenantId: string, accountId: string): Promise<number> };
  readonly consents: Pick<Consents, 'eraseOf'>;
  /** The backups of the tenant's region: its repository's tombstone list takes the erasure (never another region's). */
  readonly backups: { forTenant(tenantId: string): Promise<{ readonly configured: boolean; recordErasures(): Promise<number> }> };
  readonly notifier: Notifier;
  readonly tenants: Pick<Tenants, 'get'>;
  readonly audit: Audit;
  readonly clock: Clock;
  readonly holds: Holds;
  readonly settings: RetentionSettings;
  /**
   * Called after the key is gone, with the tenant and subject: what else holds the person's data
   * (their pending data-subject requests) erases it; each returns how many items it erased.
   */
  readonly afterErase?: ReadonlyArray<(tenantId: string, subject: string) => Promise<number>>;
  /** Where the CLI reports what did not work while the erasure stood (a tombstone, the confirmation). */
  readonly warn?: (message: string) => void;
}

const iso = (ms: number) => new Date(ms).toISOString();

const toRecord = (r: ErasureRow): ErasureRecord => ({
  id: r.id,
  subject: r.subject,
  erasedAt: iso(Number(r.erased_at)),
  approvedBy: r.approved_by,
  approvedRole: r.approved_role,
  source: r.source,
  reason: r.reason,
  ...(r.request_id === null ? {} : { requestId: r.request_id }),
  counts: { keyVersions: Number(r.key_versions), records: Number(r.records), consents: Number(r.consents), accounts: Number(r.accounts), grants: Number(r.grants), requests: Number(r.requests) },
  tombstone: r.tombstone as ErasureRecord['tombstone'],
  confirmation: r.confirmation as ErasureRecord['confirmation'],
  ...(r.duty_overridden_until === null ? {} : { dutyOverriddenUntil: iso(Number(r.duty_overridden_until)) }),
});

export function createErasures(deps: ErasureDeps): Erasures {
  const { storage, keys, records, accounts, audit, clock, holds, settings } = deps;

  async function dutyOf(tenantId: string, subject: string, now: number): Promise<RetentionDuty | undefined> {
    const years = (await settings.of(tenantId)).medicalRecordsYears;
    if (years === null || years === 0) return undefined;
    const last = await selectLastTreatment(await storage.tenant(tenantId), subject);
    if (last === undefined) return undefined;
    const ends = addYears(last, years);
    return ends > now ? { basis: legalBasis.medicalRecords, years, lastTreatment: iso(last), endsAt: iso(ends) } : undefined;
  }

  const check: Erasures['check'] = async (tenantId, given) => {
    const subject = checkSubject(given);
    if ((await deps.tenants.get(tenantId)) === undefined) throw new ErasureError('tenant-not-found', `No tenant ${tenantId}.`, { status: 404 });
    const now = clock.now().getTime();
    const [inForce, duty, erasedBefore] = await Promise.all([holds.list(tenantId, { subject, active: true }), dutyOf(tenantId, subject, now), countErasuresOf(await storage.tenant(tenantId), subject)]);
    return { subject, erasable: inForce.length === 0 && duty === undefined, holds: inForce, ...(duty === undefined ? {} : { duty }), erasedBefore };
  };

  return {
    check,
    async erase(tenantId, given, input) {
      const reason = checkReason(input.reason);
      const found = await check(tenantId, given);
      const { subject } = found;
      const refuse = async (error: ErasureError) => {
        await audit.record(tenantId, [privacyEvent(input.by, 'privacy.erasure_refused', { subjects: [subject], outcome: 'failure', status: 409, detail: `${error.code}${found.duty === undefined ? '' : ` until ${found.duty.endsAt}`}${input.requestId === undefined ? '' : `; request ${input.requestId}`}` })]);
        throw error;
      };
      const hold = found.holds[0];
      if (hold !== undefined) await refuse(new ErasureError('erasure-held', `${subject} is under a legal hold (set ${hold.setAt.slice(0, 10)}${hold.endsAt === undefined ? '' : `, until ${hold.endsAt.slice(0, 10)}`}): ${hold.reason}`, { status: 409 }));
      if (found.duty !== undefined && input.overrideDuty !== true) {
        await refuse(new ErasureError('erasure-retention', `${subject}'s medical records must be kept until ${found.duty.endsAt.slice(0, 10)} (${found.duty.years} years after the last treatment on ${found.duty.lastTreatment.slice(0, 10)}; ${found.duty.basis}).`, { status: 409 }));
      }
      const db = await storage.tenant(tenantId);
      const tenant = await deps.tenants.get(tenantId);

      // 1. The address to confirm to, in memory only: it goes with the account below.
      const own = (await accounts.list(tenantId)).filter((a) => a.patient === subject);
      // A mistyped id erases nothing (and leaves no record claiming it did).
      if (own.length === 0 && !(await subjectHasRecords(db, subject))) throw new ErasureError('subject-not-found', `Tresor holds nothing about ${subject} in this tenant.`, { status: 404 });
      const address = own.find((a) => a.status !== 'disabled') ?? own[0];
      const consents = await countConsentRecords(db, subject);
      // 2. The key first: once it is gone the data is unreadable, whatever fails after it.
      const keyVersions = await keys.shred(tenantId, subject);
      // 3. The records marked erased (410), out of the search index.
      const erased = await records.erase({ tenantId, db }, subject);
      // 4. The account(s): sessions, factors, tokens, the sealed address.
      const accountIds = await accounts.eraseOfPatient({ tenantId, patient: subject, by: input.by.actor });
      // 5. Connected apps: every grant withdrawn (its tokens end), then the rows themselves.
      // These two steps reach other modules: a failure is reported and the erasure goes on (the key
      // is gone already); erasing the subject again finishes them (every step is idempotent).
      const unfinished: string[] = [];
      let grants = 0;
      try {
        for (const id of accountIds) grants += await deps.grants.withdrawOf(tenantId, id);
        await deps.consents.eraseOf(tenantId, accountIds, subject);
      } catch (error) {
        unfinished.push('app grants');
        deps.warn?.(`The app grants of ${subject} could not all be withdrawn (${isAppError(error) ? error.code : 'failed'}); erase the subject again to finish.`);
      }
      // 6. What else holds the person's data: their pending requests.
      let requests = 0;
      for (const hook of deps.afterErase ?? []) {
        try {
          requests += await hook(tenantId, subject);
        } catch (error) {
          unfinished.push('requests');
          deps.warn?.(`The pending requests of ${subject} could not be erased (${isAppError(error) ? error.code : 'failed'}); erase the subject again to finish.`);
        }
      }
      // 7. The tombstone outside the database at once: a point-in-time restore to before this
      // moment must not bring the key back. Unreachable: the erasure stands, the next backup adds it.
      let tombstone: ErasureRecord['tombstone'] = 'not-configured';
      const backups = await deps.backups.forTenant(tenantId);
      if (backups.configured) {
        try {
          await backups.recordErasures();
          tombstone = 'recorded';
        } catch (error) {
          tombstone = 'pending';
          deps.warn?.(`The erasure is not yet in the backup repository's tombstone list (${isAppError(error) ? error.message : 'unreachable'}); the next backup adds it. Until then a point-in-time restore to an earlier time would bring the key back: run \`tresor backup run\` once the repository is reachable.`);
        }
      }
      // 8. The erasure record and its audit event, together.
      const id = randomUUID();
      const now = clock.now().getTime();
      const dutyOverriddenUntil = found.duty === undefined ? null : Date.parse(found.duty.endsAt);
      await db.transaction(async (tx) => {
        await insertErasure(tx, {
          id,
          subject,
          erased_at: now,
          approved_by: input.by.actor.id,
          approved_role: input.by.actor.role,
          source: input.source ?? 'api',
          reason,
          request_id: input.requestId ?? null,
          key_versions: keyVersions,
          records: erased,
          consents,
          accounts: accountIds.length,
          grants,
          requests,
          tombstone,
          confirmation: address === undefined ? 'no-address' : 'failed',
          duty_overridden_until: dutyOverriddenUntil,
        });
        await audit.appendIn(tx, tenantId, [
          privacyEvent(input.by, 'privacy.erased', {
            subjects: [subject],
            ...(unfinished.length === 0 ? {} : { outcome: 'failure' as const }),
            resources: [`Erasure/${id}`],
            ...(input.requestId === undefined ? {} : { purpose: 'PATRQT' as const }),
            detail: `${keyVersions} key versions destroyed, ${erased} records (${consents} Consent) erased, ${accountIds.length} accounts, ${grants} app grants, ${requests} requests; tombstone ${tombstone}${unfinished.length === 0 ? '' : `; unfinished: ${unfinished.join(', ')}`}${input.requestId === undefined ? '' : `; request ${input.requestId}`}${dutyOverriddenUntil === null ? '' : `; retention duty until ${found.duty?.endsAt ?? ''} overridden`}`,
          }),
        ]);
      });
      // 9. The confirmation to the captured address, which is then forgotten (it lives only in this call).
      if (address !== undefined) {
        try {
          await deps.notifier.send(erasureMessage({ tenantId, tenantName: tenant?.name ?? tenantId, accountId: address.id, to: address.email, erasedAt: iso(now) }));
          await updateErasureConfirmation(db, id, 'sent');
        } catch (error) {
          deps.warn?.(`The confirmation could not be sent (${isAppError(error) ? error.code : 'the relay refused it'}); the erasure stands.`);
        }
      }
      return toRecord((await selectErasure(db, id)) as ErasureRow);
    },
    async reapplied(tenantId, subjects, by) {
      const db = await storage.tenant(tenantId);
      let added = 0;
      for (const subject of subjects) {
        if (!subjectPattern.test(subject) || (await countErasuresOf(db, subject)) > 0) continue;
        await insertErasure(db, {
          id: randomUUID(),
          subject,
          erased_at: clock.now().getTime(),
          approved_by: by.id,
          approved_role: by.role,
          source: 'restore',
          reason: 'erasure applied again after a restore that predates it (the tombstone list)',
          request_id: null,
          key_versions: 0,
          records: 0,
          consents: 0,
          accounts: 0,
          grants: 0,
          requests: 0,
          tombstone: 'recorded',
          confirmation: 'no-address',
          duty_overridden_until: null,
        });
        added += 1;
      }
      return added;
    },
    async list(tenantId, limit = 100) {
      return (await selectErasures(await storage.tenant(tenantId), Math.min(Math.max(1, limit), 1000))).map(toRecord);
    },
  };
}
