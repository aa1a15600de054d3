import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Audit } from '../../audit/index.js';
import { alertPath } from '../../detection/index.js';
import { forbidden, hasCapability, type Capability } from '../../identity/index.js';
import type { FrozenScopes, IncidentCaller, Incidents } from '../../incidents/index.js';
import type { Assessments } from '../../notification/index.js';
import { actorOf } from '../../records/index.js';
import { assessmentPages } from '../assessment-pages.js';
import { incidentPages, incidentRecorder, type IncidentPage } from '../incident-pages.js';
import type { PageGuard } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { sendClinicPage } from './clinic-page.js';
import { clinicNoticeSection } from './incident-notices.js';
import type { NoticeDrafts } from '../../notification/index.js';

const route = '/tenants/:tenant/console/incidents';

/**
 * `/tenants/{t}/console/incidents/` (`incidents:read`; notes, tasks, states and opening one need
 * `incidents:manage`): the incidents that affect the tenant, with what concerns it — its own
 * notes and tasks, state changes, the operators' customer updates — and, read-only, the
 * tenant's own items of each incident's notification checklist (`notification:read`). A role
 * without the capability gets 403, recorded as `access.denied`.
 */
export function clinicIncidentPages({ guard, realm, audit, incidents, scopes, assessments, drafts, now }: { guard: PageGuard; realm: PageRealm; audit: Audit; incidents: Incidents; scopes?: FrozenScopes | undefined; assessments?: Assessments | undefined; drafts?: NoticeDrafts | undefined; now: () => number }) {
  const admitFor = (needOf: (manage: boolean) => Capability) =>
    async function admit(request: FastifyRequest, reply: FastifyReply, manage: boolean): Promise<IncidentPage | undefined> {
      const who = await guard.person(request, reply, realm);
      if (who === undefined) return undefined;
      const tenant = who.me.realmId;
      const caller: IncidentCaller = { kind: 'tenant', tenant, actor: actorOf(who.principal), ...(who.principal.kind === 'person' ? { accountId: who.principal.id } : {}), requestId: request.id, sourceIp: request.ip, status: 200 };
      const record = incidentRecorder(audit, tenant, caller);
      const need = needOf(manage);
      if (!hasCapability(who.principal.role, need)) {
        const error = forbidden(`Your role (${who.principal.role}) does not allow this (${need}).`);
        await record('access.denied', [], error);
        throw error;
      }
      return {
        caller,
        locale: who.locale,
        csrf: who.me.csrf,
        mayManage: hasCapability(who.principal.role, 'incidents:manage'),
        base: `/tenants/${tenant}/console/incidents/`,
        alertHref: (alertRealm, alertId) => (alertRealm === tenant ? alertPath({ id: alertId, realm: tenant }, false) : undefined),
        record,
        send: (page) => sendClinicPage(request, reply, who, { section: 'incidents', ...page }),
      };
    };
  const pages = incidentPages(incidents, now, {
    ...(scopes === undefined ? {} : { scopes }),
    ...(drafts === undefined ? {} : { extraSection: clinicNoticeSection(drafts) }),
    route,
    admit: admitFor((manage) => (manage ? 'incidents:manage' : 'incidents:read')),
    assessment: assessments !== undefined,
  });
  return async function plugin(app: FastifyInstance): Promise<void> {
    await pages(app);
    // The checklist is read here; changing it is the operators' (the page refuses a form's POST).
    if (assessments !== undefined) await assessmentPages({ route, admit: admitFor(() => 'notification:read'), assessments, readOnly: true, now })(app);
  };
}
