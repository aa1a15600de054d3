import type { FastifyInstance } from 'fastify';
import type { Audit } from '../../audit/index.js';
import type { Texts } from '../../platform/pages/index.js';
import { ropaEvent, type Ropa } from '../../privacy/index.js';
import type { PageGuard } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { pageAccessContext } from '../page-access.js';
import { ropaBody } from '../ropa-body.js';
import { sendClinicPage } from './clinic-page.js';
import { requireSection } from './section-access.js';

const text: Texts<'title'> = { en: { title: 'Records of processing' }, de: { title: 'Verzeichnis von Verarbeitungstätigkeiten' } };

export interface RopaPagesDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
  readonly audit: Audit;
  readonly ropa: Ropa;
}

/**
 * `/tenants/{t}/console/privacy/` (`privacy:records` or `audit:read`): the tenant's records of
 * processing (GDPR Art. 30(1)) generated now, with links to download them from the API. Viewing
 * is a `ropa.generated` event, as every download is.
 */
export function ropaPages({ guard, realm, audit, ropa }: RopaPagesDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/tenants/:tenant/console/privacy/', async (request, reply) => {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      requireSection(caller, 'privacy');
      const tenantId = caller.me.realmId;
      const doc = await ropa.tenant(tenantId);
      await audit.record(tenantId, [ropaEvent(pageAccessContext(request, caller), 'html')]);
      return sendClinicPage(request, reply, caller, { section: 'privacy', title: text[caller.locale].title, body: ropaBody(doc, caller.locale, `/tenants/${tenantId}/privacy/ropa`) });
    });
  };
}
