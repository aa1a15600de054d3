import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Audit } from '../../audit/index.js';
import type { RegionBackups } from '../../backup/index.js';
import type { KeyProvider, Keys } from '../../keys/index.js';
import type { ReadinessReport } from '../../platform/http/index.js';
import type { Rotation } from '../../rotation/index.js';
import type { Tenants } from '../../tenants/index.js';
import type { TenantMover } from '../../identity/index.js';
import type { PageGuard } from '../page-guard.js';
import type { Alerts, EscalatedAlerts } from '../../detection/index.js';
import type { FrozenScopes, Incidents } from '../../incidents/index.js';
import type { Assessments } from '../../notification/index.js';
import { operatorAlertPages } from './alerts.js';
import { operatorIncidentPages } from './incidents.js';
import { operatorNoticePages } from './notice-drafts.js';
import type { NoticeDrafts } from '../../notification/index.js';
import { escalatedAlertPages } from './escalated.js';
import { backupPages } from './backups.js';
import { healthPages } from './health.js';
import { operatorHome } from './home.js';
import { keyPages } from './keys.js';
import { operatorTenantPages } from './tenants.js';
import { statusPages } from './status.js';
import { operatorRopaPages } from './ropa.js';
import type { Ropa } from '../../privacy/index.js';
import type { StatusService } from '../../status/index.js';
import type { DrillReport } from '../../notification/index.js';

export { operatorNav, sectionRole, sectionsOf as operatorSectionsOf, type OperatorSection } from './nav.js';

/** What the operator console reads and changes: the same services as `/platform/…`, the CLI and `/readyz`/`/metrics`. */
export interface OperatorConsoleDeps {
  readonly audit: Audit;
  readonly backups: RegionBackups;
  readonly rotation: Rotation;
  readonly keyProvider: KeyProvider;
  /** What `/readyz` answers (platform/http/readiness.ts). */
  readonly readiness: () => Promise<ReadinessReport>;
  /** The registry `/metrics` exports. */
  readonly registry: Registry;
  readonly now: () => number;
  /** Tenant alerts escalated to the operators (detection/escalated.ts). */
  readonly escalated: EscalatedAlerts;
  /** The public status page's maintenance and notices (status/). */
  readonly status: StatusService;
  /** The last notification drill and the last that passed (notification/drill-report.ts). */
  readonly incidentDrills?: () => { readonly last?: DrillReport; readonly lastPassed?: DrillReport };
  /** Moves a tenant to another region while serving (regions/move-tenant.ts); undefined with one region. */
  readonly tenantMove?: TenantMover | undefined;
}

/** The operator console under `/platform/console/`: one plugin per section. */
export function operatorConsole({ guard, tenants, keys, deps, alerts, incidents, scopes, assessments, drafts, ropa }: { guard: PageGuard; tenants: Tenants; keys: Keys; deps: OperatorConsoleDeps; alerts: Alerts; incidents: Incidents; scopes?: FrozenScopes | undefined; assessments?: Assessments | undefined; drafts?: NoticeDrafts | undefined; ropa: Ropa }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    await app.register(operatorHome({ guard }));
    await app.register(operatorTenantPages({ guard, tenants, audit: deps.audit, mover: deps.tenantMove }));
    await app.register(backupPages({ guard, backups: deps.backups, audit: deps.audit, tenants, now: deps.now }));
    await app.register(keyPages({ guard, keys, rotation: deps.rotation, provider: deps.keyProvider }));
    await app.register(healthPages({ guard, readiness: deps.readiness, registry: deps.registry, now: deps.now }));
    await app.register(operatorAlertPages({ guard, audit: deps.audit, alerts }));
    await app.register(escalatedAlertPages({ guard, audit: deps.audit, escalated: deps.escalated }));
    await app.register(operatorIncidentPages({ guard, audit: deps.audit, incidents, scopes, assessments, now: deps.now, drills: deps.incidentDrills }));
    if (drafts !== undefined && scopes !== undefined) await app.register(operatorNoticePages({ guard, audit: deps.audit, drafts, incidents, scopes }));
    await app.register(statusPages({ guard, status: deps.status }));
    await app.register(operatorRopaPages({ guard, audit: deps.audit, ropa }));
  };
}
