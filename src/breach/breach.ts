import { operatorEvent, type Actor, type Audit } from '../audit/index.js';
import { operatorRealm } from '../identity/index.js';
import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import type { Tenants } from '../tenants/index.js';
import { addressMatcher, parseAddressRange, type AddressRange } from './address-range.js';
import { BreachError } from './errors.js';
import { parseRequest, parseSuspect, type ScopeInputs, type ScopeRequest, type Suspect } from './inputs.js';
import { rawFilesScope } from './raw-files.js';
import { scopeFormat, scopeHash, totalsOf, type Scope, type TenantScope } from './scope.js';
import { readTrail, selectStoredRecords, type TrailSelection } from './store.js';
import { createTally } from './tally.js';

export const breachDefaults = {
  /**
   * Patients and records listed per tenant; counts stay exact beyond it (`truncated`). A clinic's
   * breach is at most tens of thousands of patients; past this the list belongs in an export,
   * not in one JSON answer.
   */
  listLimit: 100_000,
} as const;

/** Who asks, for the audit events. */
export interface ScopeAct {
  readonly actor: Actor;
  readonly sourceIp: string;
  readonly requestId: string;
}

export interface BreachScopes {
  /**
   * The scope of a suspected breach, from the audit trails (and, for raw files, the stored
   * records). Audited: `breach.scope_computed` in the operators' trail and in each tenant's read,
   * with the inputs and counts, never the patient list.
   */
  compute(request: ScopeRequest, by: ScopeAct): Promise<Scope>;
  /** Derives the scope again from its own inputs; `ok` when both its stored hash and the numbers agree. */
  verify(scope: Scope): Promise<ScopeCheck>;
}

export interface ScopeCheck {
  readonly ok: boolean;
  /** The stored hash matches the scope's own contents (nothing edited since). */
  readonly intact: boolean;
  /** The hash of the scope derived again now. */
  readonly recomputedHash: string;
  /** Tenants whose numbers differ (patients, records, attempts), for a first look at why. */
  readonly differences: readonly string[];
}

export interface BreachDeps {
  readonly storage: Storage;
  readonly tenants: Tenants;
  readonly audit: Audit;
  readonly clock: Clock;
  readonly listLimit?: number;
}

function selectionOf(suspect: Exclude<Suspect, { kind: 'raw-files' }>): { selection: TrailSelection; keep?: (ip: string) => boolean } {
  switch (suspect.kind) {
    case 'api-key':
      return { selection: { kind: 'actors', actorIds: suspect.values, clients: [] } };
    case 'account':
      return { selection: { kind: 'actors', actorIds: suspect.values.map((v) => `account:${v}`), clients: [] } };
    case 'client':
      // A service token acts as `client:<id>`; a person's token issued to the app as the person, through `oauth:<id>`.
      return { selection: { kind: 'actors', actorIds: suspect.values.map((v) => `client:${v}`), clients: suspect.values.map((v) => `oauth:${v}`) } };
    case 'address':
      return { selection: { kind: 'window' }, keep: addressMatcher(suspect.values.map((v) => parseAddressRange(v) as AddressRange)) };
  }
}

export function createBreachScopes({ storage, tenants, audit, clock, listLimit = breachDefaults.listLimit }: BreachDeps): BreachScopes {
  async function resolveTenants(wanted: 'all' | string[]): Promise<string[]> {
    if (wanted === 'all') return (await tenants.list()).map((t) => t.id).sort();
    for (const id of wanted) if ((await tenants.get(id)) === undefined) throw new BreachError('tenant-not-found', `No tenant ${id}.`, { status: 404 });
    return wanted;
  }

  async function scopeOfTenant(tenantId: string, inputs: ScopeInputs): Promise<TenantScope> {
    const db = await storage.tenant(tenantId);
    const { suspect } = inputs;
    if (suspect.kind === 'raw-files') return rawFilesScope(tenantId, await selectStoredRecords(db, inputs.to), suspect.keysExposed, listLimit);
    // PostgreSQL: events committed but not yet chained are part of the trail too.
    await audit.settle(tenantId);
    const tally = createTally(tenantId, listLimit);
    const { selection, keep } = selectionOf(suspect);
    await readTrail(db, inputs.from, inputs.to, selection, (row) => tally.add(row), keep);
    return tally.finish();
  }

  async function derive(inputs: ScopeInputs): Promise<Omit<Scope, 'computedAt' | 'durationMs' | 'hash'>> {
    const results: TenantScope[] = [];
    for (const tenantId of inputs.tenants) results.push(await scopeOfTenant(tenantId, inputs));
    return { format: scopeFormat, inputs, tenants: results, totals: totalsOf(results) };
  }

  return {
    async compute(request, by) {
      const started = performance.now();
      const computedAt = clock.now().getTime();
      const parsed = parseRequest(request, computedAt);
      const inputs: ScopeInputs = { from: parsed.from, to: parsed.to, suspect: parsed.suspect, tenants: await resolveTenants(parsed.tenants) };
      const derived = await derive(inputs);
      const scope: Scope = { ...derived, computedAt, durationMs: Math.round(performance.now() - started), hash: scopeHash(derived) };
      // The inputs and counts, never which patients (GDPR Art. 5(1)(c)): the scope itself is the
      // place for the list, and whoever holds it is accountable for it.
      const { suspect } = scope.inputs;
      const window = `${new Date(inputs.from).toISOString()}..${new Date(inputs.to).toISOString()}`;
      const event = (detail: string, resources: string[]) => ({ ...operatorEvent('breach.scope_computed', by.actor, { resources, detail: detail.slice(0, 2000) }), sourceIp: by.sourceIp, requestId: by.requestId });
      const named = suspect.kind === 'raw-files' ? `raw-files keysExposed=${String(suspect.keysExposed)}` : `${suspect.kind} ${suspect.values.join(',')}`;
      await audit.record(operatorRealm, [event(`${window} ${named} tenants=${inputs.tenants.length} patients=${scope.totals.patients} records=${scope.totals.records} attempts=${scope.totals.attempts} hash=${scope.hash}`, [])]);
      // A tenant's trail names the kind of suspect, not its values: another tenant's key ids or
      // accounts are none of this tenant's business.
      const kind = suspect.kind === 'raw-files' ? named : `${suspect.kind} (${suspect.values.length})`;
      for (const tenant of scope.tenants) {
        await audit.record(tenant.tenantId, [event(`${window} ${kind} patients=${tenant.patients.count} records=${tenant.records.count} attempts=${tenant.attempts.count} hash=${scope.hash}`, [`Tenant/${tenant.tenantId}`])]);
      }
      return scope;
    },
    async verify(scope) {
      const intact = scopeHash(scope) === scope.hash;
      // A scope read back from a file or an incident is checked like a request before its inputs are used.
      const { from, to, suspect, tenants: wanted } = scope.inputs ?? {};
      if (scope.format !== scopeFormat || !Number.isSafeInteger(from) || !Number.isSafeInteger(to) || !Array.isArray(wanted) || wanted.length === 0) throw new BreachError('scope-invalid', `Not a ${scopeFormat} scope.`, { status: 400 });
      const inputs: ScopeInputs = { from, to, suspect: parseSuspect(suspect), tenants: await resolveTenants(parseRequest({ from, to: to + 1, suspect, tenants: wanted }, to + 1).tenants as string[]) };
      const again = await derive(inputs);
      const recomputedHash = scopeHash(again);
      const differences: string[] = [];
      for (const tenant of scope.tenants) {
        const now = again.tenants.find((t) => t.tenantId === tenant.tenantId);
        const fields = ['patients', 'records', 'attempts'] as const;
        const changed = fields.filter((f) => now === undefined || now[f].count !== tenant[f].count);
        if (changed.length > 0) differences.push(`${tenant.tenantId}: ${changed.join(', ')}`);
      }
      return { ok: intact && recomputedHash === scope.hash, intact, recomputedHash, differences };
    },
  };
}
