import type { Audit } from '../audit/index.js';
import { operatorEvent, type Actor } from '../audit/index.js';
import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import { ErasureError } from './erasure-errors.js';
import { deleteRetentionSetting, selectRetentionSettings, upsertRetentionSetting } from './erasure-store.js';
import { retentionClasses, type RetentionClass } from './retention-classes.js';

/** Years; null: no limit (no duty). */
export interface RetentionPeriods {
  /** How long medical records must be kept after the last treatment: a duty that overrides erasure (GDPR Art. 17(3)(b)). */
  readonly medicalRecordsYears: number | null;
  /** How long records of each class are kept after the patient's last activity. */
  readonly years: Readonly<Record<RetentionClass, number | null>>;
}

export interface RetentionSettings {
  /** The tenant's periods: its own where it set one, else the deployment's defaults. */
  of(tenantId: string): Promise<RetentionPeriods & { readonly own: readonly string[] }>;
  /** Sets (a number or null) or resets to the default (`'default'`) some of the periods; audited `retention.settings_changed`. */
  set(tenantId: string, changes: Partial<Record<'medicalRecords' | RetentionClass, number | null | 'default'>>, by: Actor): Promise<RetentionPeriods>;
}

const names = ['medicalRecords', ...retentionClasses] as const;

export function createRetentionSettings({ storage, defaults, audit, clock }: { storage: Storage; defaults: RetentionPeriods; audit: Audit; clock: Clock }): RetentionSettings {
  const of: RetentionSettings['of'] = async (tenantId) => {
    const stored = await selectRetentionSettings(await storage.tenant(tenantId));
    const pick = (name: string, fallback: number | null) => (stored.has(name) ? (stored.get(name) ?? null) : fallback);
    return {
      medicalRecordsYears: pick('medicalRecords', defaults.medicalRecordsYears),
      years: Object.fromEntries(retentionClasses.map((c) => [c, pick(c, defaults.years[c])])) as Record<RetentionClass, number | null>,
      own: [...stored.keys()],
    };
  };
  return {
    of,
    async set(tenantId, changes, by) {
      const entries = Object.entries(changes);
      for (const [name, value] of entries) {
        if (!(names as readonly string[]).includes(name)) throw new ErasureError('retention-invalid', `Unknown retention setting "${name}"; known: ${names.join(', ')}.`, { status: 400 });
        if (value !== null && value !== 'default' && (typeof value !== 'number' || !Number.isInteger(value) || value < (name === 'medicalRecords' ? 0 : 1) || value > 100)) {
          throw new ErasureError('retention-invalid', `"${name}" is a whole number of years (1–100), null for no limit, or "default".`, { status: 400 });
        }
      }
      const db = await storage.tenant(tenantId);
      const at = clock.now().getTime();
      await db.transaction(async (tx) => {
        for (const [name, value] of entries) {
          if (value === 'default') await deleteRetentionSetting(tx, name);
          else await upsertRetentionSetting(tx, name, value ?? null, at, by.id);
        }
        await audit.appendIn(tx, tenantId, [operatorEvent('retention.settings_changed', by, { detail: entries.map(([n, v]) => `${n} ${v === null ? 'no limit' : String(v)}`).join(', ') })]);
      });
      return of(tenantId);
    },
  };
}
