import type { Core } from '../app.js';
import type { Config } from '../config/index.js';
import { operatorRealm, type Notifier } from '../identity/index.js';
import type { FrozenScopes, Incidents } from '../incidents/index.js';
import { createAffectedPeople, createAssessments, createNoticeDrafts, type AffectedPeople, type Assessments, type NoticeDrafts } from '../notification/index.js';
import { systemClock } from '../platform/clock.js';

export interface NotificationServices {
  readonly people: AffectedPeople;
  readonly assessments: Assessments;
  /** The breach notices, mailing through `notifier` (default: the configured one). */
  drafts(notifier?: Notifier): NoticeDrafts;
}

/**
 * The breach notification services as the server builds them, for the commands on the host
 * (`tresor incident assess | drafts | drill`): the same settings, the operating system's clock.
 */
export function notificationServices(core: Core, config: Config, incidents: Incidents, scopes: FrozenScopes): NotificationServices {
  const people = createAffectedPeople({ storage: core.storage, records: core.records, audit: core.audit });
  const assessments = createAssessments({ storage: core.storage, clock: systemClock, audit: core.audit, incidents, scopes, people, settings: { role: config.notification.role, regimes: config.notification.regimes }, operatorRealm });
  return {
    people,
    assessments,
    drafts: (notifier = core.notifier) =>
      createNoticeDrafts({
        storage: core.storage,
        clock: systemClock,
        audit: core.audit,
        operatorRealm,
        fourEyes: config.notices.fourEyes,
        fallbackLanguage: config.notices.fallbackLanguage,
        defaultContact: config.security.contact[0]?.replace(/^(mailto|tel):/, ''),
        incidents,
        scopes,
        people,
        tenants: core.tenants,
        accounts: core.accounts,
        alerts: core.alerts,
        notifier,
      }),
  };
}
