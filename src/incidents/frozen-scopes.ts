import type { AuditEventInput, Audit, AuditAction } from '../audit/index.js';
import { BreachError, scopeHash, type BreachScopes, type Scope, type ScopeRequest, type TenantScope } from '../breach/index.js';
import { forbidden } from '../identity/index.js';
import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import { timeOrderedId } from '../platform/time-ordered-id.js';
import { IncidentError, notFound } from './errors.js';
import type { IncidentCaller } from './incidents.js';
import { insertFrozenScope, selectFrozenScope, selectFrozenScopes, type FrozenScopeRow } from './scope-store.js';
import { appendEntry, replaceTenants, selectIncident } from './store.js';
import type { Incident } from './types.js';

/** One frozen scope in a list: who computed it when, its hash and totals (the JSON is fetched apart). */
export interface FrozenScopeSummary {
  readonly id: string;
  readonly computedAt: number;
  readonly computedBy: string;
  readonly hash: string;
  readonly totals: Scope['totals'];
  /** Per tenant: patients, records, attempts, and whether any class went out in clear. */
  readonly tenants: ReadonlyArray<{ readonly tenantId: string; readonly patients: number; readonly records: number; readonly attempts: number; readonly inClear: number; readonly ciphertextOnly: number }>;
}

/** A tenant's part of a frozen scope: its own results and totals, the suspect by kind only. */
export interface TenantScopePart {
  readonly id: string;
  readonly computedAt: number;
  readonly hash: string;
  readonly window: { readonly from: number; readonly to: number };
  readonly suspect: string;
  readonly tenant: TenantScope;
  readonly totals: Scope['totals'];
}

export interface FrozenScopeCheck {
  /** The stored JSON still hashes to the stored hash (no edit since it was frozen). */
  readonly intact: boolean;
  /** Deriving the scope again from the trail gives the stored hash. */
  readonly matchesTrail: boolean;
  readonly recomputedHash: string;
  /** Tenants whose numbers differ from the trail's. */
  readonly differences: readonly string[];
}

export interface FrozenScopes {
  /** Operators: computes a scope (breach service) and freezes it into the incident; audited. */
  freezeScope(caller: IncidentCaller, incidentId: string, request: ScopeRequest): Promise<FrozenScopeSummary & { readonly scope: Scope }>;
  /** Operators: every frozen scope of the incident; a tenant: its part of each. */
  list(caller: IncidentCaller, incidentId: string): Promise<FrozenScopeSummary[] | TenantScopePart[]>;
  /** Operators: the scope JSON exactly as stored. */
  get(caller: IncidentCaller, incidentId: string, scopeId: string): Promise<string>;
  verifyFrozen(caller: IncidentCaller, incidentId: string, scopeId: string): Promise<FrozenScopeCheck>;
}

export interface FrozenScopesDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly audit: Audit;
  readonly breach: Pick<BreachScopes, 'compute' | 'verify'>;
  readonly operatorRealm: string;
}

const idPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const operatorsOnly = () => forbidden('Only the platform operators compute, read whole or verify a breach scope.');
const scopeMissing = () => new IncidentError('incident-scope-not-found', 'No such scope in this incident.', { status: 404, expose: true });

/** A tenant the scope touched: anything disclosed, changed or attempted there. */
const touched = (t: TenantScope) => t.patients.count > 0 || t.records.count > 0 || t.attempts.count > 0 || t.changes.count > 0;

const counts = (t: TenantScope) => `${t.tenantId}: ${t.patients.count} patients, ${t.records.count} records, ${t.attempts.count} attempts`;

function summaryOf(row: FrozenScopeRow, scope: Scope): FrozenScopeSummary {
  return {
    id: row.id,
    computedAt: row.computedAt,
    computedBy: row.computedBy,
    hash: row.hash,
    totals: scope.totals,
    tenants: scope.tenants.map((t) => ({
      tenantId: t.tenantId,
      patients: t.patients.count,
      records: t.records.count,
      attempts: t.attempts.count,
      inClear: t.patients.list.filter((p) => p.disclosure === 'in-clear').length,
      ciphertextOnly: t.patients.list.filter((p) => p.disclosure === 'ciphertext-only').length,
    })),
  };
}

/** The tenant's own results; the suspect by its kind (another tenant's key ids are not its business) and no other tenant's name. */
export function tenantPartOf(row: FrozenScopeRow, scope: Scope, tenantId: string): TenantScopePart | undefined {
  const tenant = scope.tenants.find((t) => t.tenantId === tenantId);
  if (tenant === undefined) return undefined;
  const { suspect } = scope.inputs;
  return {
    id: row.id,
    computedAt: row.computedAt,
    hash: row.hash,
    window: { from: scope.inputs.from, to: scope.inputs.to },
    suspect: suspect.kind === 'raw-files' ? `raw-files keysExposed=${String(suspect.keysExposed)}` : `${suspect.kind} (${suspect.values.length})`,
    tenant,
    totals: { tenants: touched(tenant) ? 1 : 0, patients: tenant.patients.count, records: tenant.records.count, attempts: tenant.attempts.count, inClear: tenant.classes.inClear.length > 0 },
  };
}

/**
 * Breach scopes frozen into an incident: the scope as computed, inputs included, with its
 * SHA-256, stored append-only, so the numbers behind a notification can be derived again and
 * compared later (GDPR Art. 33(5): the controller documents the facts of a breach; HIPAA
 * 164.530(j): the documentation is kept). Only operators compute and verify: a scope spans
 * tenants. A tenant's admins read their own tenant's part: they are the data controller who
 * notifies their patients (GDPR Art. 34), and nothing of other tenants.
 */
export function createFrozenScopes({ storage, clock, audit, breach, operatorRealm }: FrozenScopesDeps): FrozenScopes {
  const db = storage.platform;

  async function load(caller: IncidentCaller, id: string): Promise<Incident> {
    if (!idPattern.test(id)) throw notFound();
    const incident = await selectIncident(db, id);
    if (incident === undefined || (caller.kind === 'tenant' && !incident.tenants.includes(caller.tenant as string))) throw notFound();
    return incident;
  }

  async function record(caller: IncidentCaller, realm: string, action: AuditAction, resources: readonly string[], detail: string, outcome: 'success' | 'failure' = 'success'): Promise<void> {
    const event: AuditEventInput = { action, outcome, status: caller.status, actor: caller.actor, purpose: caller.kind === 'operator' ? 'SYSADMIN' : 'HOPERAT', resources, subjects: [], classes: [], requestId: caller.requestId, sourceIp: caller.sourceIp, detail: detail.slice(0, 2000) };
    await audit.record(realm, [event]);
  }

  async function stored(incidentId: string, scopeId: string): Promise<FrozenScopeRow> {
    if (!idPattern.test(scopeId)) throw scopeMissing();
    const row = await selectFrozenScope(db, incidentId, scopeId);
    if (row === undefined) throw scopeMissing();
    return row;
  }

  return {
    async freezeScope(caller, incidentId, request) {
      if (caller.kind !== 'operator') throw operatorsOnly();
      const incident = await load(caller, incidentId);
      const scope = await breach.compute(request, { actor: caller.actor, sourceIp: caller.sourceIp, requestId: caller.requestId });
      const at = clock.now().getTime();
      const row: FrozenScopeRow = { incidentId, id: timeOrderedId(at), computedAt: scope.computedAt, computedBy: caller.actor.id, hash: scope.hash, json: JSON.stringify(scope) };
      // A tenant with any disclosure, change or refused attempt is affected: its admins get the
      // incident's customer updates and see their part (GDPR Art. 33(2): the processor informs
      // the controller). Tenants read but untouched are not added.
      const added = scope.tenants.filter(touched).map((t) => t.tenantId).filter((t) => !incident.tenants.includes(t));
      const tenants = [...incident.tenants, ...added].sort();
      const prefix = scope.hash.slice(0, 12);
      const perTenant = scope.tenants.filter(touched).map(counts);
      const text = `Breach scope ${prefix}: ${perTenant.length === 0 ? 'nothing disclosed or attempted' : perTenant.join('; ')}${added.length === 0 ? '' : ` (affected tenants +${added.join(' +')})`}`;
      await db.transaction(async (tx) => {
        await insertFrozenScope(tx, row);
        if (added.length > 0) await replaceTenants(tx, incidentId, tenants);
        // Counts and the hash prefix only: the timeline is no place for who the patients are.
        await appendEntry(tx, incidentId, { kind: 'scope', at, by: caller.actor.id, visibleTo: 'operators', text, data: { scopeId: row.id, hash: scope.hash } });
        for (const tenant of scope.tenants.filter(touched)) {
          await appendEntry(tx, incidentId, { kind: 'scope', at, by: caller.actor.id, visibleTo: `tenant:${tenant.tenantId}`, text: `Breach scope ${prefix}: ${counts(tenant)}`, data: { scopeId: row.id, hash: scope.hash } });
        }
      });
      const resources = [`Incident/${incidentId}`];
      await record(caller, operatorRealm, 'incident.scope_frozen', resources, `scope ${row.id} tenants=${scope.totals.tenants} patients=${scope.totals.patients} records=${scope.totals.records} attempts=${scope.totals.attempts} hash=${scope.hash}`);
      // Each tenant's trail: that tenant's counts only.
      for (const tenant of scope.tenants.filter((t) => touched(t) || tenants.includes(t.tenantId))) {
        await record(caller, tenant.tenantId, 'incident.scope_frozen', resources, `scope ${row.id} patients=${tenant.patients.count} records=${tenant.records.count} attempts=${tenant.attempts.count} hash=${scope.hash}`);
      }
      return { ...summaryOf(row, scope), scope };
    },

    async list(caller, incidentId) {
      await load(caller, incidentId);
      const rows = await selectFrozenScopes(db, incidentId);
      if (caller.kind === 'operator') return rows.map((row) => summaryOf(row, JSON.parse(row.json) as Scope));
      return rows.flatMap((row) => tenantPartOf(row, JSON.parse(row.json) as Scope, caller.tenant as string) ?? []);
    },

    async get(caller, incidentId, scopeId) {
      if (caller.kind !== 'operator') throw operatorsOnly();
      await load(caller, incidentId);
      return (await stored(incidentId, scopeId)).json;
    },

    async verifyFrozen(caller, incidentId, scopeId) {
      if (caller.kind !== 'operator') throw operatorsOnly();
      await load(caller, incidentId);
      const row = await stored(incidentId, scopeId);
      let scope: Scope;
      try {
        scope = JSON.parse(row.json) as Scope;
      } catch {
        await record(caller, operatorRealm, 'incident.scope_verified', [`Incident/${incidentId}`], `scope ${scopeId} unreadable`, 'failure');
        return { intact: false, matchesTrail: false, recomputedHash: '', differences: ['the stored scope is not JSON'] };
      }
      // Intact: the row's hash, the scope's own hash field and the hash of its contents agree.
      const intact = scope.hash === row.hash && scopeHash(scope) === row.hash;
      let result: FrozenScopeCheck;
      try {
        const check = await breach.verify(scope);
        result = { intact, matchesTrail: check.recomputedHash === row.hash, recomputedHash: check.recomputedHash, differences: check.differences };
      } catch (error) {
        // Edited inputs may no longer make a scope at all: that is a finding, not a bad request.
        if (!(error instanceof BreachError)) throw error;
        result = { intact: false, matchesTrail: false, recomputedHash: '', differences: [`the stored inputs are not a scope: ${error.message}`] };
      }
      await record(caller, operatorRealm, 'incident.scope_verified', [`Incident/${incidentId}`], `scope ${scopeId} intact=${String(result.intact)} matchesTrail=${String(result.matchesTrail)}`, result.intact && result.matchesTrail ? 'success' : 'failure');
      return result;
    },
  };
}
