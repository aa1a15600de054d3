import type { Core } from '../app.js';
import type { Config } from '../config/index.js';
import { operatorRealm } from '../identity/index.js';
import type { FrozenScopes, IncidentCaller, Incidents } from '../incidents/index.js';
import { createIncidentDrill, drillDefaults, drillReportFileOf, drillSlots, injectedDrillApi, testServerNotifier, type DrillReport, type DrillStep } from '../notification/index.js';
import { systemClock } from '../platform/clock.js';
import { commandFhirApi } from './command-api.js';
import type { CliIo, CliValues } from './io.js';
import { notificationServices } from './notification-services.js';
import { UsageError } from './usage-error.js';

const countOf = (values: CliValues, name: string, fallback: number, max: number): number => {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new UsageError(`--${name}: a number from 1 to ${max}`);
  return Number(raw);
};

/** `--smtp HOST:PORT`: the test SMTP server the delivery step may mail; nothing else is ever mailed. */
function smtpOf(values: CliValues): { host: string; port: number } | undefined {
  const raw = values['smtp'];
  if (raw === undefined) return undefined;
  const match = typeof raw === 'string' ? /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]{1,253}):(\d{1,5})$/.exec(raw) : null;
  if (match === null || Number(match[2]) < 1 || Number(match[2]) > 65535) throw new UsageError('--smtp: HOST:PORT of a test SMTP server, e.g. 127.0.0.1:2525');
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

const line = (step: DrillStep) => `${step.skipped !== undefined ? 'skip' : step.ok ? 'ok  ' : 'FAIL'}  ${step.seconds.toFixed(2).padStart(7)} s  ${step.name}${step.skipped !== undefined ? ` (${step.skipped})` : step.detail === undefined ? '' : ` — ${step.detail}`}`;

/**
 * `tresor incident drill`: the tested notification procedure, on synthetic tenants only. Exit 0
 * when every step passed, 1 when one failed (the report names it); the report is appended to
 * `<dataDir>/incident-drills.jsonl` either way.
 */
export async function incidentDrillCommand(io: CliIo, core: Core, config: Config, given: { incidents: Incidents; frozen: FrozenScopes; caller: IncidentCaller }, values: CliValues): Promise<number> {
  const patients = countOf(values, 'patients', drillDefaults.patients, 10_000);
  const smtp = smtpOf(values);
  const asJson = values['json'] === true;
  const http = await commandFhirApi(core, config, systemClock);
  const services = { ...notificationServices(core, config, given.incidents, given.frozen), ...given };
  let report: DrillReport;
  try {
    const drill = createIncidentDrill({
      api: injectedDrillApi(http),
      tenants: core.tenants,
      apiKeys: core.apiKeys,
      incidents: services.incidents,
      scopes: services.frozen,
      people: services.people,
      audit: core.audit,
      clock: systemClock,
      operatorRealm,
      reportFile: drillReportFileOf(config.dataDir),
      slots: drillSlots({ assessments: services.assessments, drafts: services.drafts(), draftsMailingThrough: (notifier) => services.drafts(notifier), testServer: testServerNotifier }),
    });
    report = await drill.run({ by: services.caller, patients, read: Math.max(1, Math.round(patients * (drillDefaults.read / drillDefaults.patients))), ...(smtp === undefined ? {} : { smtp }), ...(asJson ? {} : { onStep: (step: DrillStep) => io.stdout(line(step)) }) });
  } finally {
    await http.close();
  }
  if (asJson) io.stdout(JSON.stringify(report, null, 2));
  else {
    io.stdout('');
    io.stdout(`${report.ok ? 'passed' : `FAILED at "${report.failedStep ?? ''}"`} in ${report.totalSeconds.toFixed(1)} s: patients read ${report.counts.patientsRead}, found by the scope ${report.counts.patientsFound}, people resolved ${report.counts.peopleResolved}`);
    io.stdout(`incident ${report.incidentId ?? '(none)'}; tenants ${report.tenants.join(', ') || '(none)'} (disabled); report in ${drillReportFileOf(config.dataDir)}`);
  }
  return report.ok ? 0 : 1;
}
