import type { Audit } from '../../audit/index.js';
import { alertPath, escalatedAlertPath } from '../../detection/index.js';
import { operatorRealm } from '../../identity/index.js';
import type { FrozenScopes, IncidentCaller, Incidents } from '../../incidents/index.js';
import type { DrillReport } from '../../notification/index.js';
import { incidentPages, incidentRecorder } from '../incident-pages.js';
import { incidentDrillNote } from './incident-drill-note.js';
import type { PageGuard } from '../page-guard.js';
import { sectionRole, sendOperatorPage } from './nav.js';

/**
 * `/platform/console/incidents/`: every incident, for the `operator` role, as
 * `/platform/incidents` answers them — with the customer update form and its deliveries.
 */
export function operatorIncidentPages({ guard, audit, incidents, scopes, now, drills }: { guard: PageGuard; audit: Audit; incidents: Incidents; scopes?: FrozenScopes | undefined; now: () => number; drills?: (() => { readonly last?: DrillReport; readonly lastPassed?: DrillReport }) | undefined }) {
  return incidentPages(incidents, now, {
    ...(scopes === undefined ? {} : { scopes }),
    ...(drills === undefined ? {} : { listNote: (page) => incidentDrillNote(page.locale, drills()) }),
    route: '/platform/console/incidents',
    async admit(request, reply) {
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
    },
  });
}
