import { randomUUID } from 'node:crypto';
import type { Actor, Audit } from '../audit/index.js';
import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import { isAppError } from '../platform/errors.js';
import type { Records } from '../records/index.js';
import { privacyEvent, type PrivacyCaller } from './erasure-event.js';
import { insertRetentionRun, selectLastTreatment, selectPatientActivity, selectRetentionRuns } from './erasure-store.js';
import type { Erasures } from './erasure.js';
import type { Holds } from './holds.js';
import { addYears, classOfType, retentionClasses, typesOfClass, type RetentionClass } from './retention-classes.js';
import type { RetentionSettings } from './retention-settings.js';

/**
 * Retention by class (GDPR Art. 5(1)(e) storage limitation): records of a class are kept for the
 * tenant's period after the patient's last activity (the newest lastUpdated of their records).
 * When every class a patient has records in has expired, the patient is crypto-shredded through
 * the erasure service (holds and the medical-records duty apply); when only some have, those
 * records are erased one by one while the key stays. A patient on legal hold is reported, not
 * touched; health records are not erased while the medical-records duty runs.
 */
export interface ExpiringClass {
  readonly class: RetentionClass;
  readonly records: number;
  readonly expiresAt: string;
}

export interface ExpiringSubject {
  readonly subject: string;
  readonly lastActivity: string;
  /** Classes with records and a limit, soonest first. */
  readonly classes: readonly ExpiringClass[];
  /** When every class with records has expired: the whole patient is crypto-shredded then. */
  readonly erasedWholeAt?: string;
  readonly held: boolean;
}

export interface RetentionReport {
  readonly id: string;
  readonly tenantId: string;
  readonly ranAt: string;
  readonly by: string;
  /** Patients crypto-shredded (every class expired). */
  readonly subjectsErased: number;
  /** Records erased per class: by whole-patient erasure and record by record. */
  readonly recordsErased: Readonly<Record<RetentionClass, number>>;
  /** Expired but kept: a legal hold, or the medical-records duty. */
  readonly held: ReadonlyArray<{ readonly subject: string; readonly why: 'legal-hold' | 'retention-duty'; readonly classes: readonly RetentionClass[] }>;
  readonly failures: ReadonlyArray<{ readonly subject: string; readonly code: string }>;
}

export interface Retention {
  /** Patients with a class expired by `asOf` + `withinDays` (default: 90 days from now), soonest first. */
  preview(tenantId: string, options?: { withinDays?: number }): Promise<ExpiringSubject[]>;
  /** Erases what has expired now; the report is stored (the last 30 kept) and audited as `retention.run`. */
  run(tenantId: string, by: PrivacyCaller): Promise<RetentionReport>;
  /** The tenant's last reports, newest first. */
  reports(tenantId: string, limit?: number): Promise<RetentionReport[]>;
}

export const retentionJobActor: Actor = { id: 'system:retention', role: 'system', client: 'tresor' };
const keepReports = 30;
const iso = (ms: number) => new Date(ms).toISOString();

export function createRetention({ storage, records, erasures, holds, settings, audit, clock }: { storage: Storage; records: Pick<Records, 'eraseTypes'>; erasures: Erasures; holds: Holds; settings: RetentionSettings; audit: Audit; clock: Clock }): Retention {
  async function survey(tenantId: string, horizon: number): Promise<ExpiringSubject[]> {
    const periods = (await settings.of(tenantId)).years;
    const onHold = new Set((await holds.list(tenantId, { active: true })).map((h) => h.subject));
    const out: ExpiringSubject[] = [];
    for (const s of await selectPatientActivity(await storage.tenant(tenantId))) {
      const byClass = new Map<RetentionClass, number>();
      for (const [type, n] of s.types) {
        const c = classOfType[type];
        if (c !== undefined) byClass.set(c, (byClass.get(c) ?? 0) + n);
      }
      const classes: ExpiringClass[] = [];
      let whole: number | undefined = 0;
      for (const c of retentionClasses) {
        const n = byClass.get(c);
        if (n === undefined) continue;
        const years = periods[c];
        if (years === null) {
          whole = undefined;
          continue;
        }
        const at = addYears(s.lastActivity, years);
        classes.push({ class: c, records: n, expiresAt: iso(at) });
        if (whole !== undefined) whole = Math.max(whole, at);
      }
      if (classes.length === 0) continue;
      classes.sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
      if ((classes[0] as ExpiringClass).expiresAt > iso(horizon)) continue;
      out.push({ subject: s.subject, lastActivity: iso(s.lastActivity), classes, ...(whole === undefined || whole === 0 ? {} : { erasedWholeAt: iso(whole) }), held: onHold.has(s.subject) });
    }
    return out.sort((a, b) => (a.classes[0] as ExpiringClass).expiresAt.localeCompare((b.classes[0] as ExpiringClass).expiresAt));
  }

  return {
    async preview(tenantId, options = {}) {
      return survey(tenantId, clock.now().getTime() + (options.withinDays ?? 90) * 86_400_000);
    },
    async run(tenantId, by) {
      const now = clock.now().getTime();
      const nowIso = iso(now);
      const periods = await settings.of(tenantId);
      const db = await storage.tenant(tenantId);
      const recordsErased: Record<RetentionClass, number> = { personal: 0, health: 0, payment: 0 };
      const held: Array<RetentionReport['held'][number]> = [];
      const failures: Array<RetentionReport['failures'][number]> = [];
      let subjectsErased = 0;
      for (const s of await survey(tenantId, now)) {
        const expired = s.classes.filter((c) => c.expiresAt <= nowIso);
        if (expired.length === 0) continue;
        const names = expired.map((c) => c.class);
        if (s.held) {
          held.push({ subject: s.subject, why: 'legal-hold', classes: names });
          continue;
        }
        try {
          if (s.erasedWholeAt !== undefined && s.erasedWholeAt <= nowIso) {
            await erasures.erase(tenantId, s.subject, { by, reason: 'retention period ended', source: 'retention' });
            subjectsErased += 1;
            for (const c of s.classes) recordsErased[c.class] += c.records;
            continue;
          }
          // Health records stay while the medical-records duty runs (BGB § 630f(3)).
          let dutyRuns = false;
          if (names.includes('health') && periods.medicalRecordsYears !== null && periods.medicalRecordsYears > 0) {
            const last = await selectLastTreatment(db, s.subject);
            dutyRuns = last !== undefined && addYears(last, periods.medicalRecordsYears) > now;
          }
          const erasable = expired.filter((c) => !(c.class === 'health' && dutyRuns));
          if (dutyRuns) held.push({ subject: s.subject, why: 'retention-duty', classes: ['health'] });
          for (const c of erasable) recordsErased[c.class] += await records.eraseTypes({ tenantId, db }, s.subject, typesOfClass(c.class));
        } catch (error) {
          const code = isAppError(error) ? error.code : 'internal';
          if (code === 'erasure-held' || code === 'erasure-retention') held.push({ subject: s.subject, why: code === 'erasure-held' ? 'legal-hold' : 'retention-duty', classes: names });
          else failures.push({ subject: s.subject, code });
        }
      }
      const report: RetentionReport = { id: randomUUID(), tenantId, ranAt: nowIso, by: by.actor.id, subjectsErased, recordsErased, held, failures };
      await db.transaction(async (tx) => {
        await insertRetentionRun(tx, report.id, now, JSON.stringify(report), keepReports);
        await audit.appendIn(tx, tenantId, [
          privacyEvent(by, 'retention.run', {
            subjects: [...held.map((h) => h.subject), ...failures.map((f) => f.subject)],
            outcome: failures.length === 0 ? 'success' : 'failure',
            detail: `${subjectsErased} patients erased; records erased ${retentionClasses.map((c) => `${c} ${recordsErased[c]}`).join(', ')}; ${held.length} held; ${failures.length} failed`,
          }),
        ]);
      });
      return report;
    },
    async reports(tenantId, limit = 10) {
      return (await selectRetentionRuns(await storage.tenant(tenantId), Math.min(Math.max(1, limit), keepReports))).map((r) => JSON.parse(r) as RetentionReport);
    },
  };
}
