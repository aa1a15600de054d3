import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Audit } from '../audit/index.js';
import type { Authenticator } from '../identity/index.js';
import { HttpError } from '../platform/http/index.js';
import type { Tenants } from '../tenants/index.js';
import { createBackupDesk, parseSnapshotId, type BackupAct } from './operator-backups.js';
import type { RegionBackups } from './region-backups.js';

/**
 * The backup operators' API under `/platform/backups` (issue #7.3: only the `backup-operator`
 * role — and the CLI on the host — may list, verify or restore). A backup operator signs in at
 * `/platform/auth/*` like every operator (always two factors) and reaches nothing else; a
 * platform operator (role `operator`) does not reach this. Every call is in the operators'
 * audit trail; a restore is also in the tenant's (as a signed restore mark and an event).
 * Errors are problem+json (RFC 9457) naming what failed; never a credential or a location's secret.
 * Each region has its own repository: `?region=<name>` picks it (default: the home region); a
 * tenant is restored from its own region's repository.
 */
export function backupRoutes({ authenticator, backups, audit, tenants }: { authenticator: Authenticator; backups: RegionBackups; audit: Audit; tenants: Tenants }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const desk = createBackupDesk({ backups, audit, tenants });
    async function caller(request: FastifyRequest): Promise<BackupAct> {
      const operator = await authenticator.operator(request, 'backup-operator');
      return { operatorId: operator.id, sourceIp: request.ip, requestId: request.id };
    }
    const regionOf = (request: FastifyRequest): string => {
      const value = (request.query as { region?: unknown } | undefined)?.region;
      if (value !== undefined && typeof value !== 'string') throw new HttpError('request-invalid', 'Name one region: ?region=<name>.', { status: 400 });
      return desk.regionOf(value);
    };
    /** The region's backups, for a caller who passed the operator check (a region without a repository: 409). */
    const backupsOf = async (request: FastifyRequest) => {
      const by = await caller(request);
      const region = regionOf(request);
      return { by, region, of: desk.backupsOf(region) };
    };
    const snapshotOf = (request: FastifyRequest): string => parseSnapshotId((request.params as { id: string }).id);

    app.get('/backups', async (request, reply) => {
      const by = await caller(request);
      const region = regionOf(request);
      const { snapshots: summaries, status } = await desk.list(by, region);
      return reply.send({
        region,
        regions: desk.regions.map((name) => ({ name, configured: desk.configured(name) })),
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
      const { by, region, of } = await backupsOf(request);
      const report = await of.run({ actor: desk.actorOf(by), reason: 'manual' });
      return reply.status(201).send({ region, id: report.manifest.id, takenAt: new Date(report.manifest.takenAt).toISOString(), added: report.manifest.added, tombstones: report.tombstones, pruned: report.pruned ?? null });
    });

    app.post('/backups/:id/verify', async (request, reply) => {
      const { by, region, of } = await backupsOf(request);
      const report = await of.verify(snapshotOf(request), { actor: desk.actorOf(by) });
      return reply.send({ region, id: report.id, dataSets: report.dataSets, bytes: report.bytes, seconds: report.seconds });
    });

    app.post('/backups/:id/restore', { bodyLimit: 4096 }, async (request, reply) => {
      const by = await caller(request);
      const body = request.body as { tenant?: unknown; region?: unknown } | null;
      const tenant = body !== null && typeof body === 'object' ? body.tenant : undefined;
      const named = body !== null && typeof body === 'object' ? body.region : undefined;
      if (typeof tenant !== 'string' || (named !== undefined && typeof named !== 'string')) {
        throw new HttpError('body-invalid', 'Send {"tenant": "<id>"}: one tenant is restored into the running system, from its own region\'s snapshots (a whole deployment is restored with the CLI into a new directory).', { status: 400 });
      }
      const region = named ?? (request.query as { region?: unknown } | undefined)?.region;
      const result = await desk.restoreTenant(by, snapshotOf(request), tenant, typeof region === 'string' ? region : undefined);
      return reply.send({ tenant, restoredTo: result.manifest.id, takenAt: new Date(result.manifest.takenAt).toISOString(), preRestoreSnapshot: result.preRestoreSnapshot, keysDestroyed: result.keysDestroyed, seconds: result.seconds });
    });
  };
}
