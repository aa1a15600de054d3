import type { Clock } from '../../platform/clock.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccessContext, RecordAccess } from '../../records/index.js';
import type { PrivacyRequests, SubjectExports } from '../../privacy/index.js';
import { html, seeOther, type Html, type Locale, type NavItem, type Texts } from '../../platform/pages/index.js';
import type { PageGuard, StaffCaller } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { sendPersonPage } from '../person-page.js';

export type PortalSection = 'records' | 'access' | 'requests' | 'data' | 'consents';

export interface PortalDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
  readonly access: RecordAccess;
  /** The deployment's clock: "the last 30 days" end where the audit trail's times do. */
  readonly clock: Clock;
  /** Data subjects' requests (privacy/): the portal's "My requests" page. */
  readonly privacyRequests?: PrivacyRequests | undefined;
  /** The personal download ("Download your data"); without it the page is not offered. */
  readonly exports?: SubjectExports;
}

const text: Texts<PortalSection | 'apps' | 'account'> = {
  en: { records: 'My records', access: 'Who accessed my data', requests: 'My requests', data: 'Download my data', consents: 'My consents', apps: 'Connected apps', account: 'My account' },
  de: { records: 'Meine Daten', access: 'Wer hat meine Daten gesehen', requests: 'Meine Anfragen', data: 'Meine Daten herunterladen', consents: 'Meine Einwilligungen', apps: 'Verbundene Apps', account: 'Mein Konto' },
};

export const portalPath = (tenantId: string, section: PortalSection): string => `/tenants/${tenantId}/me/${section === 'records' ? '' : section}`;

/** The portal's navigation: the patient's records, who accessed them, their apps and their account. */
export function portalNav(tenantId: string, locale: Locale): NavItem[] {
  const t = text[locale];
  return [
    { href: portalPath(tenantId, 'records'), label: t.records },
    { href: portalPath(tenantId, 'access'), label: t.access },
    { href: portalPath(tenantId, 'requests'), label: t.requests },
    { href: portalPath(tenantId, 'data'), label: t.data },
    { href: portalPath(tenantId, 'consents'), label: t.consents },
    { href: `/tenants/${tenantId}/account/apps`, label: t.apps },
    { href: `/tenants/${tenantId}/account/`, label: t.account },
  ];
}

export const portalTitle = (section: PortalSection, locale: Locale): string => text[locale][section];

/**
 * The page's reads go through the records service as this patient, with the purpose the API
 * gives a patient by default (PATRQT): permission-checked and audited as the same read over FHIR.
 */
export const portalContext = (request: FastifyRequest, caller: StaffCaller): AccessContext => ({
  tenantId: caller.me.realmId,
  principal: caller.principal,
  purpose: 'PATRQT',
  requestId: request.id,
  sourceIp: request.ip,
});

export function sendPortalPage(request: FastifyRequest, reply: FastifyReply, caller: StaffCaller, page: { readonly section: PortalSection; readonly body: Html; readonly status?: number }): FastifyReply {
  const { me, locale } = caller;
  return sendPersonPage(request, reply, caller, {
    title: portalTitle(page.section, locale),
    body: page.body,
    nav: portalNav(me.realmId, locale),
    current: portalPath(me.realmId, page.section),
    signOut: `/tenants/${me.realmId}/account/sign-out`,
    wide: true,
    status: page.status,
  });
}

const unlinked: Texts<'text'> = {
  en: { text: 'Your account is not linked to a patient record yet. Please ask your clinic to link it.' },
  de: { text: 'Ihr Konto ist noch mit keiner Patientenakte verknüpft. Bitte bitten Sie Ihre Praxis, es zu verknüpfen.' },
};

/**
 * The portal's caller: a signed-in patient with their own Patient. Staff are sent to the clinic
 * console (the portal is the patient's view of their own compartment; staff read records there).
 * Undefined: already answered (sign-in, enrolment, console, or the "not linked" page).
 */
export async function portalCaller(
  guard: PageGuard,
  realm: PageRealm,
  request: FastifyRequest,
  reply: FastifyReply,
  section: PortalSection,
): Promise<{ caller: StaffCaller; patient: string } | undefined> {
  const caller = await guard.person(request, reply, realm);
  if (caller === undefined) return undefined;
  if (caller.principal.role !== 'patient') {
    await seeOther(reply, `/tenants/${caller.me.realmId}/console/`);
    return undefined;
  }
  const patient = caller.principal.patient;
  if (patient === undefined) {
    await sendPortalPage(request, reply, caller, { section, body: html`<p>${unlinked[caller.locale].text}</p>` });
    return undefined;
  }
  return { caller, patient };
}
