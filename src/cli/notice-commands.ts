import { writeFileSync } from 'node:fs';
import type { Core } from '../app.js';
import type { Config } from '../config/index.js';
import type { FrozenScopes, IncidentCaller, Incidents } from '../incidents/index.js';
import { noticeFormats, type DraftRow, type NoticeFormat } from '../notification/index.js';
import type { CliIo, CliValues } from './io.js';
import { notificationServices } from './notification-services.js';
import { formatTable } from './table.js';
import { UsageError } from './usage-error.js';

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
const string = (values: CliValues, name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);

const row = (d: DraftRow) => [d.id, d.kind, d.tenantId, d.state, `v${d.version}`, d.editedBy, d.approvedBy ?? '-', iso(d.sentAt)];

/**
 * `tresor incident drafts <id>`: the breach notices drafted for an incident, for the operator
 * on the host — list them; with `--draft D` show one (`--format text|html|pdf`, `--out FILE`;
 * `--patient Patient/x` for one letter, `--batch post` for the print batch), `--approve` it or
 * `--send` it. Recorded as `cli:<os user>`: with four eyes (the default), the CLI approves what
 * someone else drafted or edited. Editing the free text is the console's and the API's.
 */
export async function noticeDraftCommand(io: CliIo, core: Core, config: Config, incidents: Incidents, frozen: FrozenScopes, caller: IncidentCaller, incidentId: string, values: CliValues): Promise<number> {
  const drafts = notificationServices(core, config, incidents, frozen).drafts();
  const draftId = string(values, 'draft');
  const asJson = values['json'] === true;
  if (draftId === undefined) {
    if (values['approve'] === true || values['send'] === true) throw new UsageError('--approve and --send need --draft ID');
    const list = await drafts.list(caller, incidentId);
    if (asJson) io.stdout(JSON.stringify(list, null, 2));
    else io.stdout(formatTable(['id', 'kind', 'tenant', 'state', 'version', 'edited by', 'approved by', 'sent'], list.map(row)).join('\n'));
    return 0;
  }
  if (values['approve'] === true && values['send'] === true) throw new UsageError('--approve or --send, one at a time: a person reads the approved text before it goes out');
  if (values['approve'] === true) {
    const draft = await drafts.approve(caller, incidentId, draftId);
    io.stdout(`approved ${draft.kind} ${draft.id} (version ${draft.version - 1}) for ${draft.tenantId}`);
    return 0;
  }
  if (values['send'] === true) {
    const { draft, tally } = await drafts.send(caller, incidentId, draftId);
    io.stdout(asJson ? JSON.stringify({ draft: draft.id, tally }, null, 2) : `sent ${draft.kind} ${draft.id}: ${tally.email} mailed, ${tally.failed} failed, ${tally.post} to print, ${tally.unreachable} unreachable, ${tally.filed} filed, ${tally.skipped} done before`);
    return tally.failed > 0 ? 1 : 0;
  }
  const format = string(values, 'format');
  if (format === undefined && !asJson) {
    const draft = await drafts.get(caller, incidentId, draftId);
    io.stdout(formatTable(['id', 'kind', 'tenant', 'state', 'version', 'edited by', 'approved by', 'sent'], [row(draft)]).join('\n'));
    for (const r of (await drafts.deliveries(caller, incidentId, draftId))) io.stdout(`${r.channel}\t${r.status}\t${r.recipient}\t${r.code ?? ''}\t${r.messageId ?? ''}\t${iso(r.at)}`);
    return 0;
  }
  if (format === undefined) {
    io.stdout(JSON.stringify(await drafts.get(caller, incidentId, draftId), null, 2));
    return 0;
  }
  if (!(noticeFormats as readonly string[]).includes(format)) throw new UsageError(`--format: one of ${noticeFormats.join(', ')}`);
  const out = string(values, 'out');
  if (format === 'pdf' && out === undefined) throw new UsageError('--format pdf needs --out FILE');
  const batch = string(values, 'batch');
  if (batch !== undefined && batch !== 'post') throw new UsageError('--batch: post');
  const patient = string(values, 'patient');
  const rendered = await drafts.render(caller, incidentId, draftId, { format: format as NoticeFormat, ...(patient === undefined ? {} : { recipient: patient }), ...(batch === undefined ? {} : { batch: 'post' as const }) });
  if (out === undefined) io.stdout(String(rendered.body));
  else {
    // Letters name patients: readable by the file's owner only.
    writeFileSync(out, typeof rendered.body === 'string' ? rendered.body : Buffer.from(rendered.body), { mode: 0o600 });
    io.stdout(`${out}: ${rendered.count} notice(s), ${rendered.contentType.split(';')[0] ?? ''}`);
  }
  return 0;
}
