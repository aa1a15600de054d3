import { hasCapability } from '../../identity/index.js';
import type { Audit } from '../../audit/index.js';
import { admitTenant, type Alerts } from '../../detection/index.js';
import { alertPages } from '../alerts-pages.js';
import type { PageGuard } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { sendClinicPage } from './clinic-page.js';

export interface ClinicAlertPagesDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
  readonly audit: Audit;
  readonly alerts: Alerts;
}

/**
 * `/tenants/{t}/console/alerts/` (`alerts:read`; acknowledging, resolving and the settings need
 * `alerts:manage`): the tenant's alerts, through the same admission as `GET /tenants/{t}/alerts`
 * — a role without the capability gets 403, recorded as `access.denied`.
 */
export function clinicAlertPages({ guard, realm, audit, alerts }: ClinicAlertPagesDeps) {
  return alertPages(alerts, {
    route: '/tenants/:tenant/console/alerts',
    async admit(request, reply, need) {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return undefined;
      const tenantId = caller.me.realmId;
      const admitted = await admitTenant(audit, request, tenantId, caller.principal, need);
      return {
        admitted,
        locale: caller.locale,
        csrf: caller.me.csrf,
        mayManage: hasCapability(caller.principal.role, 'alerts:manage'),
        base: `/tenants/${tenantId}/console/alerts/`,
        ...(hasCapability(caller.principal.role, 'incidents:manage') ? { newIncident: `/tenants/${tenantId}/console/incidents/new` } : {}),
        send: (page) => sendClinicPage(request, reply, caller, { section: 'alerts', ...page }),
      };
    },
  });
}
