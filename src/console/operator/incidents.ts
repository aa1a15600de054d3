import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Audit } from '../../audit/index.js';
import { alertPath, escalatedAlertPath } from '../../detection/index.js';
import { operatorRealm } from '../../identity/index.js';
import type { FrozenScopes, IncidentCaller, Incidents } from '../../incidents/index.js';
import type { Assessments, DrillReport } from '../../notification/index.js';
import { assessmentPages } from '../assessment-pages.js';
import { incidentPages, incidentRecorder, type IncidentPage } from '../incident-pages.js';
import { incidentDrillNote } from './incident-drill-note.js';
import type { PageGuard } from '../page-guard.js';
import { sectionRole, sendOperatorPage } from './nav.js';

const route = '/platform/console/incidents';

/**
 * `/platform/console/incidents/`: every incident, for the `operator` role, as
 * `/platform/incidents` answers them — with the customer update form and its deliveries, and
 * each incident's notification checklist (`…/{id}/assessment`).
 */
export function operatorIncidentPages({ guard, audit, incidents, scopes, assessments, now, drills }: { guard: PageGuard; audit: Audit; incidents: Incidents; scopes?: FrozenScopes | undefined; assessments?: Assessments | undefined; now: () => number; drills?: (() => { readonly last?: DrillReport; readonly lastPassed?: DrillReport }) | undefined }) {
  async function admit(request: FastifyRequest, reply: FastifyReply): Promise<IncidentPage | undefined> {
    const who = await guard.operator(request, reply, sectionRole.incidents);
    if (who === undefined) return undefined;
    const caller: IncidentCaller = { kind: 'operator', actor: { id: `operator:${who.principal.id}`, role: who.principal.role, client: 'session' }, accountId: who.principal.id, requestId: request.id, sourceIp: request.ip, status: 200 };
    return {
      caller,
      locale: who.locale,
      csrf: who.me.csrf,
      mayManage: true,
      base: '/platform/console/incidents/',
      alertHref: (realm, alertId) => (realm === operatorRealm ? alertPath({ id: alertId, realm }, true) : escalatedAlertPath({ id: alertId, realm })),
      record: incidentRecorder(audit, operatorRealm, caller),
      send: (page) => sendOperatorPage(request, reply, who, { section: 'incidents', ...page }),
    };
  }
  const pages = incidentPages(incidents, now, {
    ...(scopes === undefined ? {} : { scopes }),
    ...(drills === undefined ? {} : { listNote: (page: IncidentPage) => incidentDrillNote(page.locale, drills()) }),
    route,
    admit,
    assessment: assessments !== undefined,
  });
  return async function plugin(app: FastifyInstance): Promise<void> {
    await pages(app);
    if (assessments !== undefined) await assessmentPages({ route, admit, assessments, scopes, now })(app);
  };
}
