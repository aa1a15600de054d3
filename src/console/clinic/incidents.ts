import type { Audit } from '../../audit/index.js';
import { alertPath } from '../../detection/index.js';
import { forbidden, hasCapability } from '../../identity/index.js';
import type { FrozenScopes, IncidentCaller, Incidents } from '../../incidents/index.js';
import { actorOf } from '../../records/index.js';
import { incidentPages, incidentRecorder } from '../incident-pages.js';
import type { PageGuard } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { sendClinicPage } from './clinic-page.js';
import { clinicNoticeSection } from './incident-notices.js';
import type { NoticeDrafts } from '../../notification/index.js';

/**
 * `/tenants/{t}/console/incidents/` (`incidents:read`; notes, tasks, states and opening one need
 * `incidents:manage`): the incidents that affect the tenant, with what concerns it — its own
 * notes and tasks, state changes, the operators' customer updates. A role without the
 * capability gets 403, recorded as `access.denied`.
 */
export function clinicIncidentPages({ guard, realm, audit, incidents, scopes, drafts, now }: { guard: PageGuard; realm: PageRealm; audit: Audit; incidents: Incidents; scopes?: FrozenScopes | undefined; drafts?: NoticeDrafts | undefined; now: () => number }) {
  return incidentPages(incidents, now, {
    ...(scopes === undefined ? {} : { scopes }),
    ...(drafts === undefined ? {} : { extraSection: clinicNoticeSection(drafts) }),
    route: '/tenants/:tenant/console/incidents',
    async admit(request, reply, manage) {
      const who = await guard.person(request, reply, realm);
      if (who === undefined) return undefined;
      const tenant = who.me.realmId;
      const caller: IncidentCaller = { kind: 'tenant', tenant, actor: actorOf(who.principal), ...(who.principal.kind === 'person' ? { accountId: who.principal.id } : {}), requestId: request.id, sourceIp: request.ip, status: 200 };
      const record = incidentRecorder(audit, tenant, caller);
      const need = manage ? 'incidents:manage' : 'incidents:read';
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
    },
  });
}
