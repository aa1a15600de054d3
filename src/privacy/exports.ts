import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Actor, Audit, AuditEventInput, PurposeOfUse } from '../audit/index.js';
import { hasCapability, type Principal } from '../identity/index.js';
import { KeyError, open, seal, type Keys } from '../keys/index.js';
import type { Clock } from '../platform/clock.js';
import { constantTimeEqual } from '../platform/constant-time-equal.js';
import type { Storage, SqlDatabase } from '../platform/db/index.js';
import { AppError } from '../platform/errors.js';
import { hashToken, randomToken } from '../platform/random-token.js';
import { timeOrderedId } from '../platform/time-ordered-id.js';
import type { AccessEntry, RecordAccess, Records, StoredResource } from '../records/index.js';
import { compartmentTypes } from './everything.js';
import {
  attachRequest,
  failStale,
  insertExport,
  markExpired,
  markFailed,
  markReady,
  selectExpired,
  selectExport,
  selectExportsOf,
  setTokenHash,
  updateProgress,
  type ExportFile,
  type ExportRow,
  type ExportState,
} from './exports-store.js';
import { humanName, observationRow, conceptText, summaryHtml, summaryPdf, summaryTexts, type SubjectSummary } from './exports-summary.js';

const defaults = {
  /** Records read per step (one transaction-free page of the compartment). */
  pageSize: 500,
  /** Access-log entries read per step, and the most the download lists. */
  accessPage: 1000,
  accessMax: 100_000,
  /** Days a finished download's links and files live. */
  linkDays: 7,
  /** Another process's download without progress for this long is failed (a restart, a crash). */
  staleMs: 120_000,
} as const;

export type ExportErrorCode = 'export-not-found' | 'export-not-ready' | 'export-expired' | 'export-forbidden' | 'export-token-invalid' | 'export-erased' | 'export-file-unknown' | 'export-busy';
export class ExportError extends AppError<ExportErrorCode> {}

/** The files of a download, in the order they are listed (several files behind one download: see docs/privacy-exports.md). */
export const exportFiles = [
  { name: 'records.json', mediaType: 'application/fhir+json' },
  { name: 'summary.pdf', mediaType: 'application/pdf' },
  { name: 'summary.html', mediaType: 'text/html; charset=utf-8' },
  { name: 'account.json', mediaType: 'application/json' },
  { name: 'consents.json', mediaType: 'application/json' },
  { name: 'access-log.json', mediaType: 'application/json' },
] as const;
export type ExportFileName = (typeof exportFiles)[number]['name'];

/** What a caller sees of a download: state and progress, the files once ready; never the token. */
export interface ExportView {
  readonly id: string;
  readonly patient: string;
  readonly state: ExportState;
  readonly done: number;
  readonly total: number;
  readonly createdAt: string;
  readonly finishedAt: string | undefined;
  /** When the links stop working and the files are removed. */
  readonly expiresAt: string;
  readonly files: ReadonlyArray<{ readonly name: string; readonly mediaType: string; readonly bytes: number }>;
  readonly error: string | undefined;
}

/** Who asks, from which request: the audit events' context. */
export interface ExportCaller {
  /** Who asked: the patient themself (purpose PATRQT), or staff for them (HOPERAT). */
  readonly role: Principal['role'] | 'system';
  readonly actor: Actor;
  readonly requestId: string;
  readonly sourceIp: string;
}

/** A person's account as the download lists it: never a password hash, factor secret or token. */
export interface SubjectAccount {
  readonly email: string;
  readonly role: string;
  readonly status: string;
  readonly createdAt: string;
  readonly factors: { readonly totp: boolean; readonly passkey: boolean };
  readonly apps: ReadonlyArray<{ readonly clientId: string; readonly name: string; readonly publisher: string; readonly scopes: readonly string[]; readonly since: string; readonly lastAuthorised: string }>;
}

export interface SubjectExportsDeps {
  readonly records: Records;
  readonly access: RecordAccess;
  readonly storage: Storage;
  readonly keys: Keys;
  readonly audit: Audit;
  readonly clock: Clock;
  /** The accounts bound to a patient, with their factors and connected apps (wired in app.ts from identity and oauth). */
  readonly accountsOf: (tenantId: string, patient: string) => Promise<SubjectAccount[]>;
  /** Where sealed files are written: `<dir>/<tenant>/<export id>/`. A region moves it. */
  readonly dir: string | ((tenantId: string) => string);
  readonly linkDays?: number;
  readonly publicUrl?: string | undefined;
  readonly log?: { error(obj: object, msg: string): void };
  /**
   * A download prepared for a data subject's request (`requestRef`) is ready, or could not be
   * prepared: the request completes, or stays open with a note (privacy/fulfilments.ts). Never
   * fails a download: its errors are logged.
   */
  readonly onSettled?: (tenantId: string, settled: { readonly exportId: string; readonly requestRef: string; readonly state: 'ready' | 'failed'; readonly error?: string }) => Promise<void>;
}

export interface SubjectExports {
  /** Who may do what (the routes and the pages ask the same). Throws 403 `export-forbidden`. */
  admit(principal: Principal, patient: string, action: 'start' | 'status' | 'download'): void;
  /** Starts preparing a download off the request path; returns at once with its id. */
  start(tenantId: string, patient: string, options: { readonly by: ExportCaller; readonly requestRef?: string; readonly locale?: 'en' | 'de' }): Promise<ExportView>;
  status(tenantId: string, id: string): Promise<ExportView>;
  /** A patient's downloads, newest first. */
  list(tenantId: string, patient: string): Promise<ExportView[]>;
  /**
   * Fresh links for a ready download: a new random token (256 bits) whose SHA-256 replaces the
   * previous one — earlier links stop working. Only the patient themself gets links.
   */
  links(tenantId: string, id: string): Promise<{ readonly token: string; readonly expiresAt: string }>;
  /** One file, opened: the token must match, the download be ready and unexpired; audited. */
  download(tenantId: string, id: string, file: string, token: string, by: ExportCaller): Promise<{ readonly body: Buffer; readonly mediaType: string; readonly name: string }>;
  /** Removes the files of downloads whose links expired. */
  sweep(tenantIds: readonly string[]): Promise<number>;
  /** Resolves when no download is being prepared (tests, shutdown). */
  idle(): Promise<void>;
}

const viewOf = (row: ExportRow): ExportView => ({
  id: row.id,
  patient: row.patient,
  state: row.state,
  done: row.done,
  total: row.total,
  createdAt: new Date(row.createdAt).toISOString(),
  finishedAt: row.finishedAt === undefined ? undefined : new Date(row.finishedAt).toISOString(),
  expiresAt: new Date(row.expiresAt).toISOString(),
  files: row.files.map((f) => ({ name: f.name, mediaType: f.mediaType, bytes: f.bytes })),
  error: row.error,
});

const idPattern = /^[A-Za-z0-9-]{1,64}$/;
const forbidden = (message: string) => new ExportError('export-forbidden', message, { status: 403, expose: true });
const notFound = () => new ExportError('export-not-found', 'No such download.', { status: 404, expose: true });

/** Binds a sealed file to its tenant, download and name: a moved or swapped file does not open. */
const aadOf = (tenantId: string, id: string, name: string) => `tresor:privacy-export:${tenantId}:${id}:${name}`;

/**
 * The personal download (GDPR Art. 15 right of access, Art. 20 portability): everything Tresor
 * holds about a patient, prepared off the request path, sealed at rest under the patient's own
 * data key (so erasing the patient erases the download too), downloadable by the patient with a
 * short-lived link until it expires.
 */
export function createSubjectExports(deps: SubjectExportsDeps): SubjectExports {
  const { records, access, storage, keys, audit, clock } = deps;
  const linkMs = (deps.linkDays ?? defaults.linkDays) * 86_400_000;
  const now = () => clock.now().getTime();
  const running = new Map<string, Promise<void>>();
  const dirOf = (tenantId: string, id: string) => join(typeof deps.dir === 'string' ? deps.dir : deps.dir(tenantId), tenantId, id);
  const db = (tenantId: string): Promise<SqlDatabase> => storage.tenant(tenantId);
  // This process's name on the downloads it prepares (random: a restarted process is another one).
  const owner = randomToken(12);
  /** Tells the request a download was prepared for (if any) that it is ready or failed; never throws. */
  const settled = async (tenantId: string, exportId: string, requestRef: string | undefined, state: 'ready' | 'failed', error?: string): Promise<void> => {
    if (requestRef === undefined || deps.onSettled === undefined) return;
    await deps.onSettled(tenantId, { exportId, requestRef, state, ...(error === undefined ? {} : { error }) }).catch((failure: unknown) => {
      deps.log?.error({ event: 'privacy.request_unsettled', tenantId, exportId, code: failure instanceof AppError ? failure.code : 'internal' }, 'the request a download was prepared for could not be updated');
    });
  };
  /** The tenant's data set, after failing downloads another process left unfinished. */
  const current = async (tenantId: string): Promise<SqlDatabase> => {
    const data = await db(tenantId);
    for (const failed of await failStale(data, now(), now() - defaults.staleMs, owner)) await settled(tenantId, failed.id, failed.requestRef, 'failed', 'interrupted');
    return data;
  };

  const event = (by: ExportCaller, action: AuditEventInput['action'], patient: string, classes: readonly string[], detail: string, status = 200, outcome: 'success' | 'failure' = 'success'): AuditEventInput => ({
    action,
    outcome,
    status,
    actor: by.actor,
    purpose: (by.role === 'patient' ? 'PATRQT' : 'HOPERAT') satisfies PurposeOfUse,
    resources: [patient],
    subjects: [patient],
    classes: [...new Set(classes)].sort(),
    requestId: by.requestId,
    sourceIp: by.sourceIp,
    detail,
  });

  async function writeSealed(tenantId: string, id: string, name: string, key: { key: Buffer }, body: Uint8Array): Promise<void> {
    const dir = dirOf(tenantId, id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `${name}.sealed`);
    await writeFile(`${file}.partial`, seal(key.key, body, aadOf(tenantId, id, name)), { mode: 0o600 });
    await rename(`${file}.partial`, file);
  }

  /** The access log, oldest page last, read as the download's own system reader (auditor role, audited). */
  async function accessEntries(tenantId: string, id: string, patient: string, by: ExportCaller): Promise<AccessEntry[]> {
    const principal: Principal = { kind: 'service-account', id: `privacy-export:${id}`, tenantId, role: 'auditor', label: 'personal download' };
    const ctx = { tenantId, principal, purpose: 'PATRQT' as const, requestId: by.requestId, sourceIp: by.sourceIp };
    const entries: AccessEntry[] = [];
    let before: number | undefined;
    do {
      const log = await access.accessLog(ctx, patient, { count: defaults.accessPage, ...(before === undefined ? {} : { before }) });
      entries.push(...log.entries);
      before = log.next;
    } while (before !== undefined && entries.length < defaults.accessMax);
    return entries;
  }

  async function prepare(tenantId: string, id: string, patient: string, by: ExportCaller, locale: 'en' | 'de'): Promise<void> {
    const data = await db(tenantId);
    const t = { tenantId, db: data };
    const total = await records.countCompartment(t, patient, compartmentTypes);
    await updateProgress(data, id, { state: 'running', done: 0, total, at: now() });
    const key = await keys.dataKeyFor(tenantId, patient);
    const entries: string[] = [];
    const classes = new Set<string>();
    const resources: StoredResource[] = [];
    let after: { type: string; id: string } | undefined;
    let done = 0;
    for (;;) {
      const page = await records.compartment(t, patient, { types: compartmentTypes, count: defaults.pageSize, ...(after === undefined ? {} : { after }) });
      if (page.length === 0) break;
      // Each page read is an export of those records, audited before they go into the file (fail closed).
      await audit.record(tenantId, [{ ...event(by, 'record.exported', patient, page.flatMap((r) => r.classes), `privacy-export:${id}`), resources: page.map((r) => `${r.type}/${r.id}/_history/${r.versionId}`) }]);
      for (const r of page) {
        const fullUrl = deps.publicUrl === undefined ? '' : `"fullUrl":${JSON.stringify(`${deps.publicUrl}/tenants/${tenantId}/fhir/${r.type}/${r.id}`)},`;
        entries.push(`{${fullUrl}"resource":${r.content}}`);
        for (const c of r.classes) classes.add(c);
        if (r.type !== 'Observation' || resources.length < 20_000) resources.push(r);
      }
      done += page.length;
      await updateProgress(data, id, { state: 'running', done, total: Math.max(total, done), at: now() });
      const last = page.at(-1) as StoredResource;
      after = { type: last.type, id: last.id };
      if (page.length < defaults.pageSize) break;
    }
    const generatedAt = clock.now().toISOString();
    // R4 Bundle type `collection`: the records as they are stored, each once (Art. 20: structured, machine-readable).
    const bundle = `{"resourceType":"Bundle","id":"${id}","meta":{"lastUpdated":"${generatedAt}"},"type":"collection","timestamp":"${generatedAt}","entry":[${entries.join(',')}]}`;
    const accounts = await deps.accountsOf(tenantId, patient);
    const log = await accessEntries(tenantId, id, patient, by);
    await updateProgress(data, id, { state: 'running', done, total: Math.max(total, done), at: now() });
    const parsed = resources.map((r) => JSON.parse(r.content) as Record<string, unknown>);
    const ofType = (type: string) => parsed.filter((r) => r['resourceType'] === type);
    const self = ofType('Patient')[0] ?? {};
    const summary: SubjectSummary = {
      name: humanName(self),
      birthDate: typeof self['birthDate'] === 'string' ? self['birthDate'] : '',
      generatedAt,
      observations: ofType('Observation').map(observationRow).sort((a, b) => a.date.localeCompare(b.date)),
      appointments: ofType('Appointment').map((a) => ({ start: String(a['start'] ?? ''), status: String(a['status'] ?? ''), description: String(a['description'] ?? conceptText((a['serviceType'] as unknown[] | undefined)?.[0])) })),
      consents: ofType('Consent').map((c) => ({ date: String(c['dateTime'] ?? ''), status: String(c['status'] ?? ''), about: conceptText(c['scope']) || conceptText((c['category'] as unknown[] | undefined)?.[0]) })),
      invoices: ofType('Invoice').map((i) => {
        const gross = (i['totalGross'] ?? i['totalNet']) as { value?: number; currency?: string } | undefined;
        return { date: String(i['date'] ?? ''), status: String(i['status'] ?? ''), total: gross === undefined ? '' : `${gross.value ?? ''} ${gross.currency ?? ''}`.trim() };
      }),
      apps: accounts.flatMap((a) => a.apps.map((app) => ({ name: app.name, since: app.since, scopes: app.scopes.join(' ') }))),
      accesses: log.length,
    };
    const texts = summaryTexts[locale];
    const files: Array<[ExportFileName, Uint8Array, readonly string[]]> = [
      ['records.json', Buffer.from(bundle, 'utf8'), [...classes]],
      ['summary.pdf', await summaryPdf(summary, texts), [...classes]],
      ['summary.html', Buffer.from(summaryHtml(summary, texts, locale), 'utf8'), [...classes]],
      ['account.json', Buffer.from(JSON.stringify({ patient, accounts: accounts.map(({ apps: _apps, ...account }) => account) }, null, 2), 'utf8'), ['personal']],
      [
        'consents.json',
        Buffer.from(JSON.stringify({ patient, consents: parsed.filter((r) => r['resourceType'] === 'Consent'), connectedApps: accounts.flatMap((a) => a.apps) }, null, 2), 'utf8'),
        ['health', 'personal'],
      ],
      ['access-log.json', Buffer.from(JSON.stringify({ patient, entries: log.map((e) => ({ at: new Date(e.at).toISOString(), action: e.action, outcome: e.outcome, who: e.who, types: e.types, purpose: e.purpose, ...(e.reason === undefined ? {} : { reason: e.reason }) })) }, null, 2), 'utf8'), ['internal']],
    ];
    const written: ExportFile[] = [];
    for (const [name, body, fileClasses] of files) {
      await writeSealed(tenantId, id, name, key, body);
      const spec = exportFiles.find((f) => f.name === name) as (typeof exportFiles)[number];
      written.push({ name, mediaType: spec.mediaType, bytes: body.length, classes: [...new Set(['internal', ...fileClasses])].sort() });
    }
    const finishedAt = now();
    await markReady(data, id, { finishedAt, expiresAt: finishedAt + linkMs, key: { id: key.keyId, version: key.version }, files: written });
  }

  /** The request the download answers is read when it ends (a request may have been attached meanwhile). */
  const settledNow = async (tenantId: string, id: string, state: 'ready' | 'failed', error?: string): Promise<void> => {
    const row = await selectExport(await db(tenantId), id).catch(() => undefined);
    await settled(tenantId, id, row?.requestRef, state, error);
  };

  function run(tenantId: string, id: string, patient: string, by: ExportCaller, locale: 'en' | 'de'): void {
    // One download at a time per tenant: a large record does not starve the server's other work.
    const previous = running.get(tenantId) ?? Promise.resolve();
    const next = previous
      .then(() => prepare(tenantId, id, patient, by, locale))
      .then(
        () => settledNow(tenantId, id, 'ready'),
        async (error: unknown) => {
          const code = error instanceof AppError ? error.code : 'internal';
          deps.log?.error({ event: 'privacy.export_failed', tenantId, exportId: id, code }, 'a personal download could not be prepared');
          await markFailed(await db(tenantId), id, now(), code).catch(() => undefined);
          if (code !== 'audit-unavailable') {
            await audit.record(tenantId, [event(by, 'privacy.export_failed', patient, [], `privacy-export:${id}`, 500, 'failure')]).catch(() => undefined);
          }
          await settledNow(tenantId, id, 'failed', code);
        },
      )
      .finally(() => {
        if (running.get(tenantId) === next) running.delete(tenantId);
      });
    running.set(tenantId, next);
  }

  async function found(tenantId: string, id: string): Promise<ExportRow> {
    if (!idPattern.test(id)) throw notFound();
    const row = await selectExport(await current(tenantId), id);
    if (row === undefined) throw notFound();
    return row;
  }

  return {
    admit(principal, patient, action) {
      const own = principal.role === 'patient' && principal.patient === patient && principal.smart === undefined;
      if (own) return;
      // Staff with privacy:manage start and follow a download for a request made by letter, over
      // Tresor's own sign-in; the contents are the patient's alone (docs/privacy-exports.md).
      if (action !== 'download' && hasCapability(principal.role, 'privacy:manage') && principal.smart === undefined && principal.kind === 'person') return;
      throw forbidden(action === 'download' ? 'Only the patient downloads their own data.' : `Your role (${principal.role}) may not prepare this patient's download (privacy:manage).`);
    },
    async start(tenantId, patient, { by, requestRef, locale = 'en' }) {
      if (!/^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(patient)) throw new ExportError('export-not-found', 'A patient is Patient/<id>.', { status: 400, expose: true });
      const data = await current(tenantId);
      const subject = await records.peek({ tenantId, db: data }, 'Patient', patient.slice(8));
      if (subject === undefined) throw new ExportError('export-not-found', `${patient} does not exist.`, { status: 404, expose: true });
      if (subject.deleted) throw new ExportError('export-erased', `${patient} was deleted or erased.`, { status: 410, expose: true });
      // One unfinished download per patient is enough — unless it was started for another request,
      // which must hear of its own (a download started by the patient takes the request on).
      const unfinished = (await selectExportsOf(data, patient, 5)).find((e) => (e.state === 'queued' || e.state === 'running') && (requestRef === undefined || e.requestRef === undefined || e.requestRef === requestRef));
      if (unfinished !== undefined) {
        if (requestRef !== undefined && unfinished.requestRef === undefined && (await attachRequest(data, unfinished.id, requestRef))) {
          const attached = await found(tenantId, unfinished.id);
          // Finished between the look and the attachment: the request is settled now.
          if (attached.state === 'ready' || attached.state === 'failed') await settled(tenantId, attached.id, requestRef, attached.state, attached.error ?? undefined);
          return viewOf(attached);
        }
        return viewOf(unfinished);
      }
      const id = timeOrderedId(now());
      const createdAt = now();
      await data.transaction(async (tx) => {
        await insertExport(tx, { id, patient, requestedBy: by.actor.id, requestedRole: by.actor.role, requestRef, createdAt, expiresAt: createdAt + linkMs }, owner);
        await audit.appendIn(tx, tenantId, [event(by, 'privacy.export_started', patient, [], requestRef === undefined ? `privacy-export:${id}` : `privacy-export:${id} request:${requestRef}`, 202)]);
      });
      run(tenantId, id, patient, by, locale);
      return viewOf(await found(tenantId, id));
    },
    async status(tenantId, id) {
      return viewOf(await found(tenantId, id));
    },
    async list(tenantId, patient) {
      return (await selectExportsOf(await current(tenantId), patient, 10)).map(viewOf);
    },
    async links(tenantId, id) {
      const row = await found(tenantId, id);
      if (row.state !== 'ready') throw new ExportError('export-not-ready', 'The download is not ready.', { status: 409, expose: true });
      if (row.expiresAt <= now()) throw new ExportError('export-expired', 'The download has expired; prepare a new one.', { status: 410, expose: true });
      const token = randomToken();
      await setTokenHash(await db(tenantId), id, hashToken(token).toString('hex'));
      return { token, expiresAt: new Date(row.expiresAt).toISOString() };
    },
    async download(tenantId, id, file, token, by) {
      const row = await found(tenantId, id);
      const spec = exportFiles.find((f) => f.name === file);
      const entry = row.files.find((f) => f.name === file);
      if (spec === undefined) throw new ExportError('export-file-unknown', `No such file; the files are ${exportFiles.map((f) => f.name).join(', ')}.`, { status: 404, expose: true });
      if (row.state === 'expired' || row.expiresAt <= now()) throw new ExportError('export-expired', 'This link has expired; prepare a new download.', { status: 410, expose: true });
      if (row.state !== 'ready' || entry === undefined || row.key === undefined) throw new ExportError('export-not-ready', 'The download is not ready.', { status: 409, expose: true });
      // The stored hash against the presented token's, in constant time (OWASP ASVS 5 V11.5).
      const expected = Buffer.from(row.tokenHash ?? '', 'hex');
      if (row.tokenHash === undefined || !constantTimeEqual(hashToken(token), expected)) throw new ExportError('export-token-invalid', 'This link is not valid (a newer one replaced it, or it was mistyped).', { status: 403, expose: true });
      let key;
      try {
        key = await keys.dataKey(tenantId, row.key.id, row.key.version);
      } catch (error) {
        if (error instanceof KeyError && error.code === 'key-shredded') throw new ExportError('export-erased', 'This patient was erased; their download went with them.', { status: 410, expose: true });
        throw error;
      }
      const body = open(key.key, await readFile(join(dirOf(tenantId, id), `${file}.sealed`)), aadOf(tenantId, id, file));
      // The download leaves the vault: audited before a byte is sent (fail closed).
      await audit.record(tenantId, [event(by, 'privacy.export_downloaded', row.patient, entry.classes, `privacy-export:${id} file:${file}`)]);
      return { body, mediaType: spec.mediaType, name: file };
    },
    async sweep(tenantIds) {
      let removed = 0;
      for (const tenantId of tenantIds) {
        const data = await db(tenantId);
        for (const id of await selectExpired(data, now())) {
          if (running.has(tenantId)) continue;
          await rm(dirOf(tenantId, id), { recursive: true, force: true });
          await markExpired(data, id);
          removed++;
        }
      }
      return removed;
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running.values()]);
    },
  };
}
