import type { Core } from '../app.js';
import type { Config } from '../config/index.js';
import { createEscalatedAlerts, severities, type Severity } from '../detection/index.js';
import { operatorRealm } from '../identity/index.js';
import { createBreachScopes } from '../breach/index.js';
import { createFrozenScopes, createIncidents, incidentDetailJson, incidentJson, isIncidentState, parseAlertRef, type FrozenScopeSummary, type IncidentCaller, type IncidentDetail } from '../incidents/index.js';
import { systemClock } from '../platform/clock.js';
import { printScope, scopeRequestOf } from './breach-commands.js';
import { cliOperator } from './cli-actor.js';
import type { CliIo, CliValues } from './io.js';
import { formatTable } from './table.js';
import { UsageError } from './usage-error.js';

const string = (values: CliValues, name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
const iso = (ms: number | undefined) => (ms === undefined ? '' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
const age = (from: number, now: number): string => {
  const minutes = Math.max(0, Math.floor((now - from) / 60_000));
  return minutes < 60 ? `${minutes} min` : minutes < 48 * 60 ? `${Math.floor(minutes / 60)} h` : `${Math.floor(minutes / 1440)} d`;
};

function severityOf(values: CliValues): Severity | undefined {
  const value = string(values, 'severity');
  if (value === undefined) return undefined;
  if (!(severities as readonly string[]).includes(value)) throw new UsageError(`--severity: one of ${severities.join(', ')}`);
  return value as Severity;
}

function timeOf(values: CliValues, name: string): number | undefined {
  const value = string(values, name);
  if (value === undefined) return undefined;
  const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) throw new UsageError(`--${name}: an ISO 8601 date-time with a zone, e.g. 2026-01-31T12:00:00Z`);
  return at;
}

function printDetail(io: CliIo, detail: IncidentDetail, asJson: boolean, scopes: readonly FrozenScopeSummary[] = []): void {
  if (asJson) {
    io.stdout(JSON.stringify({ ...incidentDetailJson(detail), scopes }, null, 2));
    return;
  }
  const i = detail.incident;
  io.stdout(`${i.id}  ${i.state}  ${i.severity}  ${i.title}`);
  io.stdout(`opened ${iso(i.openedAt)} by ${i.openedBy}; aware since ${iso(i.awareAt)}; owner ${i.owner.accountId === '' ? '(none)' : `${i.owner.realm}/${i.owner.accountId}`}`);
  io.stdout(`tenants: ${i.tenants.length === 0 ? '(platform only)' : i.tenants.join(', ')}`);
  for (const a of detail.alerts) io.stdout(`alert ${a.realm}/${a.alertId}  ${a.severity}  ${a.rule}: ${a.summary}`);
  for (const t of detail.tasks) io.stdout(`task ${t.doneAt === undefined ? '[ ]' : '[x]'} ${t.title}${t.dueAt === undefined ? '' : ` (due ${iso(t.dueAt)})`}`);
  for (const s of scopes) io.stdout(`scope ${s.id}  ${iso(s.computedAt)}  by ${s.computedBy}  ${s.totals.patients} patients in ${s.totals.tenants} tenant(s)  hash ${s.hash}`);
  io.stdout('');
  io.stdout(formatTable(['#', 'at', 'kind', 'by', 'text'], detail.timeline.map((e) => [String(e.seq), iso(e.at), e.kind === 'state' ? `${String(e.data['from'])}→${String(e.data['to'])}` : e.kind, e.by, e.text.split('\n')[0] ?? ''])).join('\n'));
}

/**
 * `tresor incident list|open|show|update|close`: the incidents API for the operator on the host,
 * recorded as `cli:<os user>` in the operators' trail and each affected tenant's (incidents.ts).
 * Customer updates and public updates are the console's and the API's: they want a person's
 * reading of the text before it is mailed.
 */
export async function incidentCommand(io: CliIo, core: Core, config: Config, sub: string | undefined, arg: string | undefined, values: CliValues): Promise<number> {
  const incidents = createIncidents({
    storage: core.storage,
    clock: systemClock,
    audit: core.audit,
    accounts: core.accounts,
    tenants: core.tenants,
    alerts: core.alerts,
    escalated: createEscalatedAlerts({ storage: core.storage, alerts: core.alerts, audit: core.audit, operatorRealm }),
    notifier: core.notifier,
    publicUrl: config.server.publicUrl,
    operatorRealm,
  });
  const caller: IncidentCaller = { kind: 'operator', actor: cliOperator(), requestId: '', sourceIp: 'local', status: 0 };
  const frozen = createFrozenScopes({ storage: core.storage, clock: systemClock, audit: core.audit, breach: createBreachScopes({ storage: core.storage, tenants: core.tenants, audit: core.audit, clock: systemClock }), operatorRealm });
  const scopesOf = async (id: string) => (await frozen.list(caller, id)) as FrozenScopeSummary[];
  const asJson = values['json'] === true;
  const idOf = () => {
    if (arg === undefined) throw new UsageError(`tresor incident ${sub ?? ''} takes the incident's id`);
    return arg;
  };

  if (sub === 'list') {
    const state = string(values, 'state');
    if (state !== undefined && state !== 'open' && !isIncidentState(state)) throw new UsageError('--state: open, or one of triage, contained, eradicated, recovered, closed');
    const severity = severityOf(values);
    const tenant = string(values, 'tenant');
    const list = await incidents.list(caller, {
      limit: 500,
      ...(state === 'open' ? { open: true } : state === undefined ? {} : { state: state as never }),
      ...(severity === undefined ? {} : { severity }),
      ...(tenant === undefined ? {} : { tenant }),
    });
    if (asJson) io.stdout(JSON.stringify(list.map(incidentJson), null, 2));
    else {
      const now = systemClock.now().getTime();
      io.stdout(formatTable(['id', 'state', 'severity', 'age', 'owner', 'tenants', 'title'], list.map((i) => [i.id, i.state, i.severity, age(i.openedAt, now), i.owner.accountId === '' ? '-' : `${i.owner.realm}/${i.owner.accountId}`, i.tenants.join(',') || '-', i.title])).join('\n'));
    }
    return 0;
  }
  if (sub === 'open') {
    const title = string(values, 'title');
    if (title === undefined || title.trim() === '') throw new UsageError('tresor incident open needs --title');
    const fromAlert = values['from-alert'];
    const refs = (Array.isArray(fromAlert) ? fromAlert : typeof fromAlert === 'string' ? [fromAlert] : []).map((ref) => parseAlertRef(ref, '--from-alert'));
    const tenants = string(values, 'tenant')?.split(',').map((t) => t.trim()).filter((t) => t !== '');
    const awareAt = timeOf(values, 'aware-at');
    const note = string(values, 'note');
    const detail = await incidents.open(caller, {
      title: title.trim(),
      severity: severityOf(values) ?? 'medium',
      alerts: refs,
      ...(tenants === undefined ? {} : { tenants }),
      ...(awareAt === undefined ? {} : { awareAt }),
      ...(note === undefined ? {} : { note }),
    });
    if (asJson) printDetail(io, detail, true);
    else io.stdout(detail.incident.id);
    return 0;
  }
  if (sub === 'show') {
    const detail = await incidents.get(caller, idOf());
    printDetail(io, detail, asJson, await scopesOf(detail.incident.id));
    return 0;
  }
  if (sub === 'scope') {
    // Computed and frozen into the incident as the API does (incident.scope_frozen, by the operating-system account).
    const result = await frozen.freezeScope(caller, idOf(), scopeRequestOf(values, 'tresor incident scope'));
    if (asJson) io.stdout(JSON.stringify(result.scope, null, 2));
    else {
      printScope(io, result.scope);
      io.stdout(`frozen into the incident as scope ${result.id}`);
    }
    return 0;
  }
  if (sub === 'assess') return (await import('./assess-command.js')).assessCommand(io, core, config, incidents, frozen, caller, idOf(), values);
  if (sub === 'update') {
    const id = idOf();
    const to = string(values, 'to');
    const reason = string(values, 'reason');
    const note = string(values, 'note');
    const severity = severityOf(values);
    const title = string(values, 'title');
    const awareAt = timeOf(values, 'aware-at');
    if (to === undefined && note === undefined && severity === undefined && title === undefined && awareAt === undefined) throw new UsageError('tresor incident update needs --to, --note, --severity, --title or --aware-at');
    let detail = await incidents.get(caller, id);
    if (severity !== undefined || title !== undefined || awareAt !== undefined) {
      detail = await incidents.change(caller, id, { ...(severity === undefined ? {} : { severity }), ...(title === undefined ? {} : { title }), ...(awareAt === undefined ? {} : { awareAt }), ...(reason === undefined ? {} : { reason }) });
    }
    if (note !== undefined) detail = await incidents.note(caller, id, note);
    if (to !== undefined) {
      if (!isIncidentState(to)) throw new UsageError('--to: one of triage, contained, eradicated, recovered, closed');
      detail = await incidents.transition(caller, id, to, reason ?? '');
    }
    printDetail(io, detail, asJson);
    return 0;
  }
  if (sub === 'drafts') {
    const { noticeDraftCommand } = await import('./notice-commands.js');
    return noticeDraftCommand(io, core, config, incidents, frozen, caller, idOf(), values);
  }
  if (sub === 'close') {
    const note = string(values, 'note');
    if (note === undefined || note.trim() === '') throw new UsageError('tresor incident close needs --note: the resolution (what happened, what was done)');
    printDetail(io, await incidents.transition(caller, idOf(), 'closed', note), asJson);
    return 0;
  }
  if (sub === 'drill') {
    if (arg !== undefined) throw new UsageError(`tresor incident drill takes no argument (${arg})`);
    const { incidentDrillCommand } = await import('./incident-drill-command.js');
    return incidentDrillCommand(io, core, config, { incidents, frozen, caller }, values);
  }
  throw new UsageError(sub === undefined ? 'tresor incident takes list, open, show, scope, assess, update, drafts, close or drill' : `no command incident ${sub}`);
}
