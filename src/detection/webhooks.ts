import { hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { operatorEvent, type Audit } from '../audit/index.js';
import { open, seal } from '../keys/envelope.js';
import type { Clock } from '../platform/clock.js';
import type { SqlDatabase, Storage } from '../platform/db/index.js';
import type { Leadership } from '../platform/leadership.js';
import { periodic } from '../platform/periodic.js';
import { realmRounds } from '../platform/realm-rounds.js';
import { walkTenants } from '../platform/walk-tenants.js';
import { alertLink, alertPayload, alertVersion, kindOfState, runbookLink, type AlertPayload } from './alert-payload.js';
import { alertSyslogFrame } from './alert-syslog.js';
import { nextAttemptAt } from './delivery-backoff.js';
import type { DeliveryMetrics } from './delivery-metrics.js';
import type { AlertActor, AlertChange } from './alerts.js';
import { DetectionError } from './errors.js';
import { selectAlert } from './store.js';
import { checkWebhookUrl } from './webhook-address.js';
import type { WebhookSend } from './webhook-send.js';
import { deliveryHeader, signatureHeader, signWebhook, timestampHeader } from './webhook-signature.js';
import { claimDelivery, deleteEndpoint, enqueueDelivery, hasPendingDeliveries, insertEndpoint, pruneDeliveries, recordAttempt, replaceWaiting, selectAlertIdsChangedSince, selectDeliveries, selectDue, selectEndpoints, selectWaiting, targetSince, type AttemptRow, type DeliveryRow, type EndpointRow } from './webhook-store.js';

const defaults = {
  /** Webhook retries: 30 s, then twice as long each time, at most 6 h apart, ±20 % jitter; given up 24 h after the change. */
  webhookFirstRetryMs: 30_000,
  webhookMaxRetryMs: 6 * 3_600_000,
  giveUpMs: 24 * 3_600_000,
  /** Syslog retries sooner (a SIEM link is usually back in seconds): 5 s doubling to 5 min. */
  syslogFirstRetryMs: 5_000,
  syslogMaxRetryMs: 300_000,
  jitter: 0.2,
  /** An attempt holds its delivery this long (another process will not send it meanwhile). */
  leaseMs: 60_000,
  /** Endpoints per realm. */
  maxEndpoints: 10,
  /** Delivered and given-up deliveries stay in the log this long. */
  logRetentionMs: 30 * 24 * 3_600_000,
  /** Deliveries sent per realm and round. */
  batch: 100,
  /** Alerts the scan for missed changes looks at per realm and round. */
  scanLimit: 1000,
};

/** The target name of the syslog sink in the delivery queue (webhook endpoints are UUIDs). */
export const syslogTarget = 'syslog';

/** A registered endpoint as its admins see it: never the secret. */
export interface WebhookEndpoint {
  readonly id: string;
  readonly url: string;
  readonly description: string;
  readonly createdBy: string;
  readonly createdAt: string;
}

export interface WebhookDeliveryView {
  readonly id: string;
  readonly alert: string;
  readonly kind: string;
  readonly state: string;
  readonly attempts: ReadonlyArray<{ attempt: number; at: string; status?: number; error?: string; durationMs: number }>;
  readonly nextAttemptAt?: string;
  readonly createdAt: string;
  readonly doneAt?: string;
}

export interface AlertDeliveryDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly audit: Audit;
  /** The realm's index key, from which the key sealing endpoint secrets is derived (keys module). */
  readonly indexKey: (realm: string) => Promise<Buffer>;
  readonly send: WebhookSend;
  /** The SIEM syslog sink (`audit.sinks.syslog`), when configured. */
  readonly syslog?: { deliver(data: string): Promise<void>; close(): Promise<void> };
  /** Production: HTTPS only, public addresses only. */
  readonly production: boolean;
  readonly publicUrl: string;
  readonly operatorRealm: string;
  /** Jitter source, [0, 1); tests pin it. */
  readonly random?: () => number;
  readonly metrics?: DeliveryMetrics;
}

export interface AlertDelivery {
  listEndpoints(realm: string): Promise<WebhookEndpoint[]>;
  /** Registers an endpoint; the signing secret is in this answer and nowhere else, ever. Audited `alert.webhook_added`. */
  addEndpoint(realm: string, input: { url: unknown; description?: unknown }, by: AlertActor): Promise<{ endpoint: WebhookEndpoint; secret: string }>;
  /** Audited `alert.webhook_removed`; its queue and log go with it. */
  removeEndpoint(realm: string, id: string, by: AlertActor): Promise<void>;
  /** The endpoint's deliveries, newest first, with every attempt (status, error code, duration; never a body). */
  deliveries(realm: string, endpointId: string, limit?: number): Promise<WebhookDeliveryView[]>;
  /** Queues a change for every target of its realm (the alerts' `onChange` listener calls it). */
  enqueue(change: AlertChange): Promise<void>;
  /** Queues changes of the last day a target has not had (a crash between an alert's commit and its enqueue). */
  scan(realm: string): Promise<number>;
  /** Sends what is due in the realm now; resolves with how many attempts it made. */
  deliverDue(realm: string): Promise<number>;
  /** The background job; with a leadership only the leading node sends. */
  run(options: { realms: () => Promise<string[]>; everyMs: number; scanEvery: number; leadership?: Leadership }): { wake(realm: string): void; stop(): Promise<void> };
}

const idPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const notFound = () => new DetectionError('webhook-not-found', 'No such webhook endpoint.', { status: 404 });
const invalid = (message: string) => new DetectionError('webhook-invalid', message, { status: 400, expose: true });
const iso = (ms: number) => new Date(ms).toISOString();
const view = (e: EndpointRow): WebhookEndpoint => ({ id: e.id, url: e.url, description: e.description, createdBy: e.createdBy, createdAt: iso(e.createdAt) });

/**
 * Alert delivery beyond mail (SPEC L4): signed webhooks to endpoints a realm's admins register,
 * and RFC 5424 messages to the SIEM's syslog sink. Each change of an alert becomes one queue
 * row per target in the realm's data set, written right after the change is durable; a scan
 * every few minutes queues what a crash in between lost. A job sends what is due, retries with
 * exponential backoff and jitter, and logs every attempt — status, error code, duration, never
 * a response body. Payloads carry ids, counts and the rule's sentence, never record contents.
 */
export function createAlertDelivery(deps: AlertDeliveryDeps): AlertDelivery {
  const { storage, clock, audit } = deps;
  const random = deps.random ?? Math.random;
  const me = hostname();
  // HKDF (RFC 5869) from the realm's index key, one purpose: sealing webhook secrets (AES-256-GCM).
  const sealKey = async (realm: string) => Buffer.from(hkdfSync('sha256', await deps.indexKey(realm), Buffer.alloc(0), 'tresor/webhook-secret/seal', 32));
  const aad = (realm: string, id: string) => `webhook-secret:${realm}:${id}`;
  const now = () => clock.now().getTime();

  const links = (alert: AlertChange['alert']) => ({ url: alertLink(deps.publicUrl, alert, deps.operatorRealm), runbook: runbookLink(deps.publicUrl, alert.rule) });

  async function targets(db: SqlDatabase): Promise<Array<{ target: string; since: number }>> {
    const list = (await selectEndpoints(db)).map((e) => ({ target: e.id, since: e.createdAt }));
    if (deps.syslog !== undefined) list.push({ target: syslogTarget, since: await targetSince(db, syslogTarget, now()) });
    return list;
  }

  async function enqueueIn(db: SqlDatabase, change: AlertChange, only?: readonly string[]): Promise<number> {
    const payloadOf = (kind: AlertChange['kind']) => JSON.stringify(alertPayload({ ...change, kind }, links(change.alert)));
    const version = alertVersion(change.alert);
    let added = 0;
    for (const { target } of await targets(db)) {
      if (only !== undefined && !only.includes(target)) continue;
      // A finding joining an alert whose delivery is still waiting rides on that delivery: one
      // POST with the newest count, not one per failed sign-in of an attack in progress.
      if (change.kind === 'joined' || change.kind === 'escalated') {
        const waiting = await selectWaiting(db, target, change.alert.id, now());
        if (waiting !== undefined) {
          const kind = waiting.kind === 'raised' ? 'raised' : waiting.kind === 'escalated' ? 'escalated' : change.kind;
          if (waiting.version === version || (await replaceWaiting(db, waiting, { version, kind, payload: payloadOf(kind) }, now()))) continue;
        }
      }
      if (await enqueueDelivery(db, { id: randomUUID(), target, alertId: change.alert.id, version, kind: change.kind, payload: payloadOf(change.kind), createdAt: now() })) added += 1;
    }
    return added;
  }

  const nextAttempt = (d: DeliveryRow, attempt: number, at: number) =>
    nextAttemptAt(
      d.target === syslogTarget
        ? { firstMs: defaults.syslogFirstRetryMs, maxMs: defaults.syslogMaxRetryMs, giveUpMs: defaults.giveUpMs, jitter: defaults.jitter }
        : { firstMs: defaults.webhookFirstRetryMs, maxMs: defaults.webhookMaxRetryMs, giveUpMs: defaults.giveUpMs, jitter: defaults.jitter },
      attempt,
      at,
      d.createdAt,
      random(),
    );

  async function attemptOne(db: SqlDatabase, realm: string, d: DeliveryRow, endpoints: Map<string, EndpointRow>): Promise<void> {
    const at = now();
    if (!(await claimDelivery(db, d, at + defaults.leaseMs))) return;
    const attempt = d.attempts + 1;
    let outcome: Pick<AttemptRow, 'status' | 'error' | 'durationMs'>;
    if (d.target === syslogTarget) {
      const started = performance.now();
      const payload = JSON.parse(d.payload) as AlertPayload;
      outcome = deps.syslog === undefined
        ? { error: 'not-configured', durationMs: 0 }
        : await deps.syslog.deliver(alertSyslogFrame(payload, at, me, process.pid)).then(
            () => ({ durationMs: Math.round(performance.now() - started) }),
            () => ({ error: 'connection', durationMs: Math.round(performance.now() - started) }),
          );
    } else {
      const endpoint = endpoints.get(d.target);
      if (endpoint === undefined) return;
      const secret = open(await sealKey(realm), endpoint.secretSealed, aad(realm, endpoint.id)).toString('utf8');
      const timestamp = Math.floor(at / 1000);
      const sent = await deps.send(endpoint.url, d.payload, { [timestampHeader]: String(timestamp), [signatureHeader]: signWebhook(secret, timestamp, d.payload), [deliveryHeader]: d.id });
      outcome = sent.status !== undefined && (sent.status < 200 || sent.status > 299) ? { status: sent.status, error: sent.status >= 300 && sent.status < 400 ? 'redirect' : 'http-status', durationMs: sent.durationMs } : sent;
    }
    const ok = outcome.error === undefined;
    const retryAt = ok ? undefined : nextAttempt(d, attempt, at);
    const next = ok ? { state: 'delivered' as const, nextAt: at } : retryAt === undefined ? { state: 'failed' as const, nextAt: at } : { state: 'pending' as const, nextAt: retryAt };
    await db.transaction((tx) => recordAttempt(tx, d, { deliveryId: d.id, attempt, at, ...outcome }, next));
    deps.metrics?.attempted(d.target === syslogTarget ? 'syslog' : 'webhook', next.state === 'delivered' ? 'delivered' : next.state === 'pending' ? 'retrying' : 'given-up');
  }

  const service: AlertDelivery = {
    async listEndpoints(realm) {
      return (await selectEndpoints(await storage.tenant(realm))).map(view);
    },
    async addEndpoint(realm, input, by) {
      if (typeof input.url !== 'string') throw invalid('"url" is the endpoint\'s URL.');
      const description = input.description ?? '';
      if (typeof description !== 'string' || description.length > 200 || /[\u0000-\u001f]/.test(description)) throw invalid('"description": at most 200 characters of text.');
      const checked = checkWebhookUrl(input.url, deps.production);
      if ('problem' in checked) {
        throw invalid(
          checked.problem === 'https-required' ? 'Webhook URLs must be https:// in production.' : checked.problem === 'address-refused' ? 'Webhooks may not reach loopback, private or link-local addresses.' : 'Send an absolute http(s) URL without credentials or fragment.',
        );
      }
      const db = await storage.tenant(realm);
      if ((await selectEndpoints(db)).length >= defaults.maxEndpoints) throw new DetectionError('webhook-limit', `At most ${defaults.maxEndpoints} webhook endpoints per tenant.`, { status: 409, expose: true });
      const id = randomUUID();
      // 256 bits from the CSPRNG (NIST SP 800-63B §5.1.x, OWASP ASVS 5 V11.3): shown once, stored sealed.
      const secret = `whsec_${randomBytes(32).toString('base64url')}`;
      const row: EndpointRow = { id, url: checked.url.href, description, secretSealed: seal(await sealKey(realm), Buffer.from(secret, 'utf8'), aad(realm, id)), createdBy: by.actor.id, createdAt: now() };
      await db.transaction(async (tx) => {
        await insertEndpoint(tx, row);
        await audit.appendIn(tx, realm, [{ ...operatorEvent('alert.webhook_added', by.actor, { resources: [`Webhook/${id}`], detail: checked.url.origin }), requestId: by.requestId, sourceIp: by.sourceIp, status: 201 }]);
      });
      return { endpoint: view(row), secret };
    },
    async removeEndpoint(realm, id, by) {
      if (!idPattern.test(id)) throw notFound();
      const db = await storage.tenant(realm);
      await db.transaction(async (tx) => {
        if (!(await deleteEndpoint(tx, id))) throw notFound();
        await audit.appendIn(tx, realm, [{ ...operatorEvent('alert.webhook_removed', by.actor, { resources: [`Webhook/${id}`] }), requestId: by.requestId, sourceIp: by.sourceIp, status: 204 }]);
      });
    },
    async deliveries(realm, endpointId, limit = 50) {
      if (!idPattern.test(endpointId)) throw notFound();
      const db = await storage.tenant(realm);
      if (!(await selectEndpoints(db)).some((e) => e.id === endpointId)) throw notFound();
      const rows = await selectDeliveries(db, endpointId, Math.min(Math.max(limit, 1), 200));
      return rows.map((d) => ({
        id: d.id,
        alert: d.alertId,
        kind: d.kind,
        state: d.state,
        attempts: d.attemptLog.map((a) => ({ attempt: a.attempt, at: iso(a.at), ...(a.status === undefined ? {} : { status: a.status }), ...(a.error === undefined ? {} : { error: a.error }), durationMs: a.durationMs })),
        ...(d.state === 'pending' ? { nextAttemptAt: iso(d.nextAt) } : {}),
        createdAt: iso(d.createdAt),
        ...(d.doneAt === undefined ? {} : { doneAt: iso(d.doneAt) }),
      }));
    },
    async enqueue(change) {
      await enqueueIn(await storage.tenant(change.alert.realm), change);
    },
    async scan(realm) {
      const db = await storage.tenant(realm);
      const list = await targets(db);
      if (list.length === 0) return 0;
      const horizon = now() - defaults.giveUpMs;
      const since = Math.max(horizon, Math.min(...list.map((t) => t.since)));
      let added = 0;
      for (const id of await selectAlertIdsChangedSince(db, since, defaults.scanLimit)) {
        const alert = await selectAlert(db, realm, id);
        if (alert === undefined) continue;
        const changedAt = Math.max(alert.lastAt, alert.acknowledgedAt ?? 0, alert.resolvedAt ?? 0);
        const due = list.filter((t) => changedAt >= Math.max(horizon, t.since)).map((t) => t.target);
        if (due.length > 0) added += await enqueueIn(db, { kind: kindOfState(alert), alert }, due);
      }
      return added;
    },
    async deliverDue(realm) {
      const db = await storage.tenant(realm);
      const due = await selectDue(db, now(), defaults.batch);
      if (due.length === 0) return 0;
      const endpoints = new Map((await selectEndpoints(db)).map((e) => [e.id, e]));
      // Targets side by side, each in the order its changes happened: one receiver timing out
      // (5 s an attempt) does not hold back the others.
      const byTarget = new Map<string, DeliveryRow[]>();
      for (const d of due) byTarget.set(d.target, [...(byTarget.get(d.target) ?? []), d]);
      await Promise.all(
        [...byTarget.values()].map(async (list) => {
          for (const d of list) await attemptOne(db, realm, d, endpoints);
        }),
      );
      return due.length;
    },
    run({ realms, everyMs, scanEvery, leadership }) {
      // Every realm at each scan round (a change this process never heard of, or a crash cut off,
      // is found there); in between only realms with deliveries pending or a change here.
      const rounds = realmRounds(scanEvery);
      let lastPrune = 0;
      const woken = new Set<string>();
      const visit = async (realm: string, scan: boolean, prune: boolean) => {
        if (scan) await service.scan(realm);
        await service.deliverDue(realm);
        const db = await storage.tenant(realm);
        if (prune) await pruneDeliveries(db, now() - defaults.logRetentionMs);
        rounds.settle(realm, await hasPendingDeliveries(db));
      };
      const job = periodic(
        async (stopped, pause) => {
          const { realms: due, full } = rounds.pick(await realms());
          // Pruned on a full round an hour or more after the last: every realm's log, once.
          const prune = full && now() - lastPrune > 3_600_000;
          await walkTenants(storage, due, (realm) => visit(realm, full, prune), { stopped, pause, spreadMs: 0 });
          if (prune) lastPrune = now();
        },
        everyMs,
        0,
        leadership,
      );
      let flushing: Promise<void> = Promise.resolve();
      let timer: NodeJS.Timeout | undefined;
      let stopped = false;
      return {
        // A change in this process: sent within a moment, not at the next round.
        wake(realm) {
          if (stopped) return;
          woken.add(realm);
          rounds.mark(realm);
          if (timer !== undefined) return;
          timer = setTimeout(() => {
            timer = undefined;
            const ids = [...woken];
            woken.clear();
            flushing = flushing.then(async () => {
              if (stopped || (leadership !== undefined && !(await leadership.held()))) return;
              for (const realm of ids) await storage.visitTenant(realm, () => service.deliverDue(realm)).catch(() => undefined);
            });
          }, 100);
          timer.unref();
        },
        async stop() {
          stopped = true;
          clearTimeout(timer);
          await job.stop();
          await flushing;
          await deps.syslog?.close();
        },
      };
    },
  };
  return service;
}
