import type { Core } from '../app.js';
import { cliOperator } from './cli-actor.js';
import type { CliIo, CliValues } from './io.js';
import { UsageError } from './usage-error.js';

/**
 * `tresor privacy check|erase|hold|erasures` and `tresor retention settings|preview|run|reports`:
 * the erasure service's own path (privacy/erasure.ts), as the API and the console call it.
 */
export async function privacyCommand(io: CliIo, core: Core, sub: string | undefined, arg: string | undefined, values: CliValues): Promise<number> {
  const tenantId = await tenantOf(core, values);
  const by = { actor: cliOperator() };
  const json = values['json'] === true;
  const print = (value: unknown, text: () => void) => (json ? io.stdout(JSON.stringify(value, null, 2)) : text());
  if (sub === 'check') {
    const found = await core.erasures.check(tenantId, need(values['patient'], '--patient'));
    print(found, () => {
      io.stdout(`${found.subject}: ${found.erasable ? 'nothing stands in the way of erasure' : 'not erasable now'}`);
      for (const h of found.holds) io.stdout(`  legal hold ${h.id} since ${h.setAt}${h.endsAt === undefined ? '' : ` until ${h.endsAt}`}: ${h.reason}`);
      if (found.duty !== undefined) io.stdout(`  retention duty until ${found.duty.endsAt} (${found.duty.years} years after the last treatment on ${found.duty.lastTreatment}; ${found.duty.basis})`);
    });
    return found.erasable ? 0 : 1;
  }
  if (sub === 'erase') {
    const done = await core.erasures.erase(tenantId, need(values['patient'], '--patient'), { by, reason: need(values['reason'], '--reason'), ...(typeof values['request-id'] === 'string' ? { requestId: values['request-id'] } : {}), source: 'cli' });
    const c = done.counts;
    print(done, () => io.stdout(`${done.subject} erased in tenant ${tenantId} (erasure ${done.id}): ${c.keyVersions} key version(s) destroyed, ${c.records} record(s) erased (${c.consents} Consent), ${c.accounts} account(s), ${c.grants} app grant(s), ${c.requests} request(s); tombstone ${done.tombstone}; confirmation ${done.confirmation}`));
    return done.tombstone === 'pending' ? 1 : 0;
  }
  if (sub === 'erasures') {
    const list = await core.erasures.list(tenantId);
    print(list, () => {
      for (const e of list) io.stdout(`${e.erasedAt}\t${e.subject}\t${e.source}\t${e.approvedBy}\t${e.counts.records} records\ttombstone ${e.tombstone}`);
    });
    return 0;
  }
  if (sub === 'hold') {
    if (arg === 'set') {
      const hold = await core.holds.set(tenantId, { subject: need(values['patient'], '--patient'), reason: need(values['reason'], '--reason'), ...(typeof values['until'] === 'string' ? { endsAt: values['until'] } : {}) }, by);
      print(hold, () => io.stdout(`legal hold ${hold.id} on ${hold.subject} in tenant ${tenantId}${hold.endsAt === undefined ? '' : ` until ${hold.endsAt}`}`));
      return 0;
    }
    if (arg === 'release') {
      const id = need(values['hold'], '--hold');
      const hold = await core.holds.release(tenantId, id, need(values['reason'], '--reason'), by);
      print(hold, () => io.stdout(`legal hold ${hold.id} on ${hold.subject} released`));
      return 0;
    }
    if (arg === 'list') {
      const holds = await core.holds.list(tenantId, { ...(typeof values['patient'] === 'string' ? { subject: values['patient'] } : {}), active: values['all'] !== true });
      print(holds, () => {
        for (const h of holds) io.stdout(`${h.id}\t${h.subject}\t${h.setAt}\t${h.endsAt ?? 'no end'}\t${h.releasedAt === undefined ? 'in force' : `released ${h.releasedAt}`}\t${h.reason}`);
      });
      return 0;
    }
  }
  throw new UsageError(`unknown command: privacy ${[sub, arg].filter(Boolean).join(' ')}`);
}

export async function retentionCommand(io: CliIo, core: Core, sub: string | undefined, values: CliValues): Promise<number> {
  const tenantId = await tenantOf(core, values);
  const json = values['json'] === true;
  if (sub === 'settings') {
    const periods = await core.retentionSettings.of(tenantId);
    if (json) io.stdout(JSON.stringify(periods, null, 2));
    else {
      const years = (y: number | null) => (y === null ? 'no limit' : `${y} years`);
      io.stdout(`medical records duty: ${years(periods.medicalRecordsYears)} after the last treatment${periods.own.includes('medicalRecords') ? '' : ' (default)'}`);
      for (const [c, y] of Object.entries(periods.years)) io.stdout(`${c}: ${years(y)} after the last activity${periods.own.includes(c) ? '' : ' (default)'}`);
    }
    return 0;
  }
  if (sub === 'set') {
    const name = need(values['class'], '--class');
    const given = need(values['years'], '--years');
    const setting = name === 'medical-records' ? 'medicalRecords' : name;
    if (!['medicalRecords', 'personal', 'health', 'payment'].includes(setting)) throw new UsageError('--class is medical-records, personal, health or payment');
    const years = given === 'none' ? null : given === 'default' ? 'default' : /^\d{1,3}$/.test(given) ? Number(given) : undefined;
    if (years === undefined) throw new UsageError('--years is a whole number, none or default');
    await core.retentionSettings.set(tenantId, { [setting]: years }, cliOperator());
    return retentionCommand(io, core, 'settings', values);
  }
  if (sub === 'preview') {
    const days = typeof values['days'] === 'string' ? Number(values['days']) : 90;
    if (!Number.isInteger(days) || days < 0) throw new UsageError('--days is a whole number');
    const expiring = await core.retention.preview(tenantId, { withinDays: days });
    if (json) io.stdout(JSON.stringify(expiring, null, 2));
    else for (const s of expiring) io.stdout(`${s.subject}\tlast activity ${s.lastActivity}\t${s.classes.map((c) => `${c.class} (${c.records}) ${c.expiresAt}`).join(', ')}${s.erasedWholeAt === undefined ? '' : `\terased whole ${s.erasedWholeAt}`}${s.held ? '\ton legal hold' : ''}`);
    return 0;
  }
  if (sub === 'run') {
    const report = await core.retention.run(tenantId, { actor: cliOperator() });
    if (json) io.stdout(JSON.stringify(report, null, 2));
    else {
      io.stdout(`retention run ${report.id} in tenant ${tenantId}: ${report.subjectsErased} patient(s) erased; records erased ${Object.entries(report.recordsErased).map(([c, n]) => `${c} ${n}`).join(', ')}; ${report.held.length} held; ${report.failures.length} failed`);
      for (const h of report.held) io.stdout(`  held: ${h.subject} (${h.why}; ${h.classes.join(', ')})`);
      for (const f of report.failures) io.stdout(`  failed: ${f.subject} (${f.code})`);
    }
    return report.failures.length === 0 ? 0 : 1;
  }
  if (sub === 'reports') {
    const reports = await core.retention.reports(tenantId);
    io.stdout(JSON.stringify(reports, null, 2));
    return 0;
  }
  throw new UsageError(`unknown command: retention ${sub ?? ''}`);
}

async function tenantOf(core: Core, values: CliValues): Promise<string> {
  const tenantId = need(values['tenant'], '--tenant');
  if ((await core.tenants.get(tenantId)) === undefined) throw new UsageError(`no tenant ${tenantId}`);
  return tenantId;
}

function need(value: string | boolean | string[] | undefined, what: string): string {
  if (typeof value !== 'string' || value === '') throw new UsageError(`missing ${what}`);
  return value;
}
