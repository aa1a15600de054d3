import type { Audit } from '../../audit/index.js';
import { admitOperator, type Alerts } from '../../detection/index.js';
import { alertPages } from '../alerts-pages.js';
import type { PageGuard } from '../page-guard.js';
import { alertTabs } from './escalated.js';
import { sectionRole, sendOperatorPage } from './nav.js';

/**
 * `/platform/console/alerts/`: the platform's own alerts (the operators' realm) for the
 * `operator` role, as `/platform/alerts` answers them; a backup operator is refused (403). A
 * tab beside the list leads to the tenant alerts escalated to the operators (escalated.ts).
 */
export function operatorAlertPages({ guard, audit, alerts }: { guard: PageGuard; audit: Audit; alerts: Alerts }) {
  return alertPages(alerts, {
    route: '/platform/console/alerts',
    tabs: (locale) => alertTabs(locale, 'platform'),
    async admit(request, reply) {
      const caller = await guard.operator(request, reply, sectionRole.alerts);
      if (caller === undefined) return undefined;
      return {
        admitted: admitOperator(audit, request, caller.principal),
        locale: caller.locale,
        csrf: caller.me.csrf,
        mayManage: true,
        base: '/platform/console/alerts/',
        newIncident: '/platform/console/incidents/new',
        send: (page) => sendOperatorPage(request, reply, caller, { section: 'alerts', ...page }),
      };
    },
  });
}
