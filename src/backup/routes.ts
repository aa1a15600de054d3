import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Audit } from '../audit/index.js';
import type { Authenticator } from '../identity/index.js';
import { HttpError } from '../platform/http/index.js';
import type { Tenants } from '../tenants/index.js';
import { backupNotConfigured, createBackupDesk, parseSnapshotId, type BackupAct } from './operator-backups.js';
import type { Backups } from './service.js';

/**
 * The backup operators' API under `/platform/backups` (issue #7.3: only the `backup-operator`
 * role — and the CLI on the host — may list, verify or restore). A backup operator signs in at
 * `/platform/auth/*` like every operator (always two factors) and reaches nothing else; a
 * platform operator (role `operator`) does not reach this. Every call is in the operators'
 * audit trail; a restore is also in the tenant's (as a signed restore mark and an event).
 * Errors are problem+json (RFC 9457) naming what failed; never a credential or a location's secret.
 */
export function backupRoutes({ authenticator, backups, audit, tenants }: { authenticator: Authenticator; backups: Backups; audit: Audit; tenants: Tenants }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const desk = createBackupDesk({ backups, audit, tenants });
    async function caller(request: FastifyRequest): Promise<BackupAct> {
      const operator = await authenticator.operator(request, 'backup-operator');
      if (!backups.configured) throw backupNotConfigured();
      return { operatorId: operator.id, sourceIp: request.ip, requestId: request.id };
    }
    const snapshotOf = (request: FastifyRequest): string => parseSnapshotId((request.params as { id: string }).id);

    app.get('/backups', async (request, reply) => {
      const { snapshots: summaries, status } = await desk.list(await caller(request));
      return reply.send({
        snapshots: summaries.map(({ manifest: m, verified }) => ({
          id: m.id,
          takenAt: new Date(m.takenAt).toISOString(),
          dataSets: m.dataSets.map((d) => ({ kind: d.kind, id: d.id, bytes: d.bytes })),
          bytes: m.dataSets.reduce((n, d) => n + d.bytes, 0),
          added: m.added,
          tresorVersion: m.tresorVersion,
          ...(verified === undefined ? {} : { verified: { at: new Date(verified.verifiedAt).toISOString(), seconds: verified.seconds } }),
        })),
        lastDrill: status.lastDrill ?? null,
        ...(status.newestVerifiedTakenAt === undefined ? {} : { newestVerifiedAt: new Date(status.newestVerifiedTakenAt).toISOString() }),
      });
    });

    app.post('/backups', async (request, reply) => {
      const actor = desk.actorOf(await caller(request));
      const report = await backups.run({ actor, reason: 'manual' });
      return reply.status(201).send({ id: report.manifest.id, takenAt: new Date(report.manifest.takenAt).toISOString(), added: report.manifest.added, tombstones: report.tombstones, pruned: report.pruned ?? null });
    });

    app.post('/backups/:id/verify', async (request, reply) => {
      const actor = desk.actorOf(await caller(request));
      const report = await backups.verify(snapshotOf(request), { actor });
      return reply.send({ id: report.id, dataSets: report.dataSets, bytes: report.bytes, seconds: report.seconds });
    });

    app.post('/backups/:id/restore', { bodyLimit: 4096 }, async (request, reply) => {
      const by = await caller(request);
      const body = request.body as { tenant?: unknown } | null;
      const tenant = body !== null && typeof body === 'object' ? body.tenant : undefined;
      if (typeof tenant !== 'string') throw new HttpError('body-invalid', 'Send {"tenant": "<id>"}: one tenant is restored into the running system (a whole deployment is restored with the CLI into a new directory).', { status: 400 });
      const result = await desk.restoreTenant(by, snapshotOf(request), tenant);
      return reply.send({ tenant, restoredTo: result.manifest.id, takenAt: new Date(result.manifest.takenAt).toISOString(), preRestoreSnapshot: result.preRestoreSnapshot, keysDestroyed: result.keysDestroyed, seconds: result.seconds });
    });
  };
}
