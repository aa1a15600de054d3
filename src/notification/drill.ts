import { randomBytes } from 'node:crypto';
import type { Audit } from '../audit/index.js';
import type { Scope, ScopeAct } from '../breach/index.js';
import type { ApiKeys } from '../identity/index.js';
import type { FrozenScopes, IncidentCaller, Incidents } from '../incidents/index.js';
import type { Clock } from '../platform/clock.js';
import type { Tenants } from '../tenants/index.js';
import { syntheticPatient, syntheticPerson, type SyntheticPerson } from './drill-data.js';
import { appendDrillReport, drillFormat, type DrillReport, type DrillStep } from './drill-report.js';
import type { AffectedPeople, AffectedPerson } from './people.js';

export const drillDefaults = {
  /** Synthetic patients per drill tenant. */
  patients: 25,
  /** Of those, read by the "stolen" key: fewer than all, so the scope must leave some out. */
  read: 20,
  /** Two tenants: the scope has to span them. */
  tenants: 2,
  /**
   * Where the simulated attacker calls from: TEST-NET-3 (RFC 5737), an address no real client
   * has, so the drill's reads never blend with anyone's.
   */
  attackerAddress: '203.0.113.250',
} as const;

/** The HTTP API in process (`app.inject`): the drill uses the key as an attacker would. */
export interface DrillApi {
  request(input: { readonly method: 'GET' | 'POST'; readonly url: string; readonly key: string; readonly body?: unknown; readonly remoteAddress: string }): Promise<{ readonly status: number; readonly body: string }>;
}

/** What a plugged-in step gets: the drill's incident, its frozen scope and the people it resolved. */
export interface DrillContext {
  readonly caller: IncidentCaller;
  readonly incidentId: string;
  readonly scope: Scope;
  readonly scopeId: string;
  readonly people: readonly AffectedPerson[];
  /** The synthetic people the stolen key read, as the drill made them: what the step's results should name. */
  readonly expected: readonly SyntheticPerson[];
  /** The test SMTP server of `--smtp`; without it the drill mails no one. */
  readonly smtp?: { readonly host: string; readonly port: number };
}

/** A step run by another part of notification: returns a line for the report, throws to fail the drill. */
export type DrillStepRun = (context: DrillContext) => Promise<string | undefined>;

/**
 * The drill's slots for the notification assessment, the drafts and their delivery: empty until
 * those are wired (app.ts and the CLI pass them), reported as skipped meanwhile.
 */
export interface DrillSlots {
  readonly assess?: DrillStepRun;
  readonly drafts?: DrillStepRun;
  readonly deliver?: DrillStepRun;
}

export interface IncidentDrillDeps {
  readonly api: DrillApi;
  readonly tenants: Pick<Tenants, 'create' | 'disable'>;
  readonly apiKeys: Pick<ApiKeys, 'create' | 'revoke'>;
  readonly incidents: Pick<Incidents, 'open' | 'transition'>;
  readonly scopes: Pick<FrozenScopes, 'freezeScope' | 'verifyFrozen'>;
  readonly people: AffectedPeople;
  readonly audit: Pick<Audit, 'record'>;
  readonly clock: Clock;
  readonly operatorRealm: string;
  /** `<dataDir>/incident-drills.jsonl`. */
  readonly reportFile: string;
  readonly slots?: DrillSlots;
}

export interface DrillOptions {
  readonly by: IncidentCaller;
  readonly patients?: number;
  readonly read?: number;
  readonly smtp?: { readonly host: string; readonly port: number };
  /** Called as each step ends (the CLI prints progress). */
  readonly onStep?: (step: DrillStep) => void;
}

export interface IncidentDrill {
  /**
   * A tabletop of a credential compromise on synthetic data, timed step by step; the report is
   * appended to the report file and the run audited (`incident.drill_run`). Never throws for a
   * failed step: the report says which failed.
   */
  run(options: DrillOptions): Promise<DrillReport>;
}

class StepFailed extends Error {}

function fail(message: string): never {
  throw new StepFailed(message);
}

interface DrillTenant {
  readonly id: string;
  readonly writer: { readonly key: string; readonly id: string };
  readonly reader: { readonly key: string; readonly id: string };
  /** Patient id → the synthetic person. */
  readonly made: Map<string, SyntheticPerson>;
  /** `Patient/<id>` the reader received in clear. */
  readonly seen: Set<string>;
}

const dateLabel = (at: number) => new Date(at).toISOString().slice(0, 10).replace(/-/g, '');

export function createIncidentDrill(deps: IncidentDrillDeps): IncidentDrill {
  const { api, clock } = deps;

  async function call(tenant: DrillTenant, key: string, method: 'GET' | 'POST', path: string, body?: unknown) {
    const response = await api.request({ method, url: `/tenants/${tenant.id}/fhir${path}`, key, remoteAddress: drillDefaults.attackerAddress, ...(body === undefined ? {} : { body }) });
    return { status: response.status, json: () => JSON.parse(response.body) as Record<string, unknown> };
  }

  /** Synthetic patients through a transaction Bundle (one request per hundred). */
  async function fill(tenant: DrillTenant, label: string, offset: number, count: number): Promise<void> {
    for (let done = 0; done < count; done += 100) {
      const people = Array.from({ length: Math.min(100, count - done) }, (_, i) => syntheticPerson(label, offset + done + i));
      const entry = people.map((person) => ({ request: { method: 'POST', url: 'Patient' }, resource: syntheticPatient(person) }));
      const response = await call(tenant, tenant.writer.key, 'POST', '', { resourceType: 'Bundle', type: 'transaction', entry });
      if (response.status !== 200) fail(`creating synthetic patients in ${tenant.id}: HTTP ${response.status}`);
      const entries = (response.json()['entry'] ?? []) as Array<{ response?: { location?: string } }>;
      entries.forEach((e, i) => tenant.made.set(String(e.response?.location ?? '').split('/')[1] ?? '', people[i] as SyntheticPerson));
    }
  }

  /** The stolen key at work: reads one by one, a search, and two refused attempts. */
  async function compromise(tenant: DrillTenant, read: number): Promise<void> {
    const ids = [...tenant.made.keys()].slice(0, read);
    const half = Math.ceil(ids.length / 2);
    for (const id of ids.slice(0, half)) {
      const response = await call(tenant, tenant.reader.key, 'GET', `/Patient/${id}`);
      if (response.status !== 200) fail(`reading Patient/${id} of ${tenant.id}: HTTP ${response.status}`);
      tenant.seen.add(`Patient/${String(response.json()['id'])}`);
    }
    for (let i = half; i < ids.length; i += 20) {
      const response = await call(tenant, tenant.reader.key, 'GET', `/Patient?_id=${ids.slice(i, i + 20).join(',')}&_count=50`);
      if (response.status !== 200) fail(`searching patients of ${tenant.id}: HTTP ${response.status}`);
      for (const e of (response.json()['entry'] ?? []) as Array<{ resource?: { id?: string } }>) tenant.seen.add(`Patient/${String(e.resource?.id)}`);
    }
    // Refused: a reading key cannot write; an id that does not exist discloses nothing.
    if ((await call(tenant, tenant.reader.key, 'POST', '/Patient', syntheticPatient(syntheticPerson('refused', 0)))).status !== 403) fail('a reading key was allowed to write');
    if ((await call(tenant, tenant.reader.key, 'GET', '/Patient/drill-does-not-exist')).status !== 404) fail('a read of an unknown id did not answer 404');
  }

  return {
    async run(options) {
      const started = clock.now().getTime();
      const wall = performance.now();
      const by = options.by;
      const act: ScopeAct = { actor: by.actor, sourceIp: by.sourceIp, requestId: by.requestId };
      const patients = options.patients ?? drillDefaults.patients;
      const read = Math.min(options.read ?? drillDefaults.read, patients);
      const label = `drill-${dateLabel(started)}-${randomBytes(3).toString('hex')}`;
      const steps: DrillStep[] = [];
      const made: DrillTenant[] = [];
      // Everything made, as soon as it exists: the clean-up also undoes a half-finished preparation.
      const createdTenants: string[] = [];
      const createdKeys: string[] = [];
      let incidentId: string | undefined;
      let scope: Scope | undefined;
      let scopeId = '';
      let people: AffectedPerson[] = [];
      let failedStep: string | undefined;
      let error: string | undefined;

      const step = async (name: string, work: () => Promise<string | undefined>, skipped?: string): Promise<void> => {
        if (failedStep !== undefined) return;
        if (skipped !== undefined) {
          const done: DrillStep = { name, ok: true, seconds: 0, skipped };
          steps.push(done);
          options.onStep?.(done);
          return;
        }
        const t0 = performance.now();
        let done: DrillStep;
        try {
          const detail = await work();
          done = { name, ok: true, seconds: (performance.now() - t0) / 1000, ...(detail === undefined ? {} : { detail }) };
        } catch (cause) {
          failedStep = name;
          // A check that failed says what; anything else by its class only (a message may quote data).
          error = cause instanceof StepFailed ? cause.message : `${cause instanceof Error ? cause.name : 'error'}${typeof (cause as { code?: unknown })?.code === 'string' ? ` (${(cause as { code: string }).code})` : ''}`;
          done = { name, ok: false, seconds: (performance.now() - t0) / 1000, detail: error };
        }
        steps.push(done);
        options.onStep?.(done);
      };
      const context = (): DrillContext => ({
        caller: by,
        incidentId: incidentId as string,
        scope: scope as Scope,
        scopeId,
        people,
        expected: made.flatMap((t) => [...t.seen].map((p) => t.made.get(p.slice('Patient/'.length)) as SyntheticPerson)),
        ...(options.smtp === undefined ? {} : { smtp: options.smtp }),
      });
      const slot = (name: keyof DrillSlots) => deps.slots?.[name];

      await step('prepare synthetic tenants', async () => {
        for (const suffix of ['a', 'b'].slice(0, drillDefaults.tenants)) {
          const id = `${label}-${suffix}`;
          await deps.tenants.create(id, `Incident drill ${label} (synthetic data)`);
          createdTenants.push(id);
          const writer = await deps.apiKeys.create({ tenantId: id, role: 'service', label: 'incident drill: synthetic data' });
          createdKeys.push(writer.info.id);
          const reader = await deps.apiKeys.create({ tenantId: id, role: 'service-reader', label: 'incident drill: the simulated stolen key' });
          createdKeys.push(reader.info.id);
          const tenant: DrillTenant = { id, writer: { key: writer.key, id: writer.info.id }, reader: { key: reader.key, id: reader.info.id }, made: new Map(), seen: new Set() };
          made.push(tenant);
          await fill(tenant, label, made.length * patients, patients);
        }
        return `${made.length} tenants, ${patients} patients each`;
      });
      const windowFrom = clock.now().getTime();
      await step('simulate credential compromise', async () => {
        for (const tenant of made) await compromise(tenant, read);
        return `${made.reduce((n, t) => n + t.seen.size, 0)} patients read in clear, 4 refused attempts`;
      });
      await step('open incident', async () => {
        const detail = await deps.incidents.open(by, {
          title: `Drill ${label}: simulated compromise of an API key`,
          severity: 'high',
          tenants: made.map((t) => t.id),
          note: 'Tabletop exercise on synthetic data (tresor incident drill). No real patient is affected.',
        });
        incidentId = detail.incident.id;
        return incidentId;
      });
      await step('compute and freeze scope', async () => {
        const frozen = await deps.scopes.freezeScope(by, incidentId as string, { from: windowFrom, to: clock.now().getTime(), suspect: { kind: 'api-key', values: made.map((t) => t.reader.id) }, tenants: made.map((t) => t.id) });
        scope = frozen.scope;
        scopeId = frozen.id;
        for (const tenant of made) {
          const found = frozen.scope.tenants.find((t) => t.tenantId === tenant.id);
          const listed = found?.patients.list.map((p) => p.patient) ?? [];
          const expected = [...tenant.seen].sort();
          if (listed.length !== expected.length || listed.some((p, i) => p !== expected[i])) fail(`the scope names ${listed.length} patients of ${tenant.id}; the key read ${expected.length} (or others)`);
          if (found === undefined || found.attempts.count !== 2) fail(`the scope counts ${found?.attempts.count ?? 0} refused attempts in ${tenant.id}, not 2`);
          if (found.patients.list.some((p) => p.disclosure !== 'in-clear')) fail(`the scope says ${tenant.id}'s reads were not in clear`);
        }
        return `${frozen.scope.totals.patients} patients in ${frozen.scope.totals.tenants} tenants, hash ${frozen.hash.slice(0, 12)}`;
      });
      await step('resolve affected people', async () => {
        people = [];
        for (const tenant of made) {
          const resolved = await deps.people.resolve(scope as Scope, tenant.id, act, 'en');
          for (const person of resolved) {
            const expected = tenant.made.get(person.patient.slice('Patient/'.length));
            if (expected === undefined || person.name !== expected.name || person.email !== expected.email || person.state !== expected.state || person.language !== expected.language) {
              fail(`${person.patient} of ${tenant.id} was not resolved as the drill created it`);
            }
          }
          people.push(...resolved);
        }
        return `${people.length} people`;
      });
      // The integrator's slots (assessment, drafts, delivery): reported as skipped until wired.
      const assess = slot('assess');
      await step('assess notification duties', async () => (assess as DrillStepRun)(context()), assess === undefined ? 'no assessment step in this version' : undefined);
      const drafts = slot('drafts');
      await step('generate drafts', async () => (drafts as DrillStepRun)(context()), drafts === undefined ? 'no drafts step in this version' : undefined);
      const deliver = slot('deliver');
      await step(
        'deliver to test SMTP server',
        async () => (deliver as DrillStepRun)(context()),
        deliver === undefined ? 'no delivery step in this version' : options.smtp === undefined ? 'no --smtp test server given: the drill mails no one' : undefined,
      );
      await step('verify frozen scope', async () => {
        const check = await deps.scopes.verifyFrozen(by, incidentId as string, scopeId);
        if (!check.intact || !check.matchesTrail) fail(`the frozen scope does not verify (intact ${String(check.intact)}, matches the trail ${String(check.matchesTrail)})`);
        return 'intact and matches the trail';
      });
      await step('close incident', async () => {
        await deps.incidents.transition(by, incidentId as string, 'closed', `Drill finished: every step ran; see the drill report of ${new Date(started).toISOString()}.`);
        return undefined;
      });
      // Always, also after a failure: the stolen key and the tenants stop working.
      const failedBefore = failedStep;
      const errorBefore = error;
      failedStep = undefined;
      await step('remove drill tenants', async () => {
        if (failedBefore !== undefined && incidentId !== undefined) {
          await deps.incidents.transition(by, incidentId, 'closed', `Drill failed at "${failedBefore}"; see the drill report of ${new Date(started).toISOString()}.`).catch(() => undefined);
        }
        for (const key of createdKeys) await deps.apiKeys.revoke(key);
        for (const id of createdTenants) await deps.tenants.disable(id);
        return `${createdTenants.length} tenants disabled, their keys revoked`;
      });
      if (failedBefore !== undefined) {
        failedStep = failedBefore;
        error = errorBefore;
      }

      const patientsRead = made.reduce((n, t) => n + t.seen.size, 0);
      const report: DrillReport = {
        format: drillFormat,
        at: new Date(started).toISOString(),
        ok: failedStep === undefined,
        ...(failedStep === undefined ? {} : { failedStep, ...(error === undefined ? {} : { error }) }),
        steps,
        totalSeconds: (performance.now() - wall) / 1000,
        tenants: made.map((t) => t.id),
        ...(incidentId === undefined ? {} : { incidentId }),
        ...(scope === undefined ? {} : { scopeHash: (scope as Scope).hash }),
        counts: { patientsRead, patientsFound: (scope as Scope | undefined)?.totals.patients ?? 0, peopleResolved: people.length },
      };
      appendDrillReport(deps.reportFile, report);
      await deps.audit.record(deps.operatorRealm, [
        {
          action: 'incident.drill_run',
          outcome: report.ok ? 'success' : 'failure',
          status: by.status,
          actor: by.actor,
          purpose: 'SYSADMIN',
          resources: incidentId === undefined ? [] : [`Incident/${incidentId}`],
          subjects: [],
          classes: [],
          requestId: by.requestId,
          sourceIp: by.sourceIp,
          detail: `drill ${label} ok=${String(report.ok)}${failedStep === undefined ? '' : ` failed="${failedStep}"`} read=${patientsRead} found=${report.counts.patientsFound} seconds=${report.totalSeconds.toFixed(1)}`,
        },
      ]);
      return report;
    },
  };
}
