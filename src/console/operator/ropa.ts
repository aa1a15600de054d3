import type { FastifyInstance } from 'fastify';
import { operatorEvent, type Audit } from '../../audit/index.js';
import { operatorRealm } from '../../identity/index.js';
import type { Texts } from '../../platform/pages/index.js';
import type { Ropa } from '../../privacy/index.js';
import type { PageGuard } from '../page-guard.js';
import { ropaBody } from '../ropa-body.js';
import { sectionRole, sendOperatorPage } from './nav.js';

const text: Texts<'title'> = { en: { title: 'Records of processing' }, de: { title: 'Verzeichnis von Verarbeitungstätigkeiten' } };

/**
 * `/platform/console/privacy/` (role `operator`, as `GET /platform/privacy/ropa`): the
 * deployment's records of processing as processor for every tenant (GDPR Art. 30(2)), generated
 * now; a `ropa.generated` event in the operators' trail.
 */
export function operatorRopaPages({ guard, audit, ropa }: { guard: PageGuard; audit: Audit; ropa: Ropa }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/platform/console/privacy/', async (request, reply) => {
      const caller = await guard.operator(request, reply, sectionRole.privacy);
      if (caller === undefined) return reply;
      const doc = await ropa.platform();
      const actor = { id: `operator:${caller.principal.id}`, role: caller.principal.role, client: 'session' };
      await audit.record(operatorRealm, [{ ...operatorEvent('ropa.generated', actor, { detail: 'format=html' }), requestId: request.id, sourceIp: request.ip }]);
      return sendOperatorPage(request, reply, caller, { section: 'privacy', title: text[caller.locale].title, body: ropaBody(doc, caller.locale, '/platform/privacy/ropa') });
    });
  };
}
