import type { FastifyReply, FastifyRequest } from 'fastify';
import { operatorRoles, type OperatorRole } from '../../identity/index.js';
import type { Html, Locale, NavItem, Texts } from '../../platform/pages/index.js';
import type { OperatorCaller } from '../page-guard.js';
import { sendPersonPage } from '../person-page.js';

export type OperatorSection = 'home' | 'tenants' | 'backups' | 'keys' | 'health' | 'alerts' | 'incidents' | 'status' | 'privacy';

const text: Texts<OperatorSection | 'account'> = {
  en: { home: 'Overview', tenants: 'Tenants', backups: 'Backups', keys: 'Keys', health: 'Health', alerts: 'Alerts', incidents: 'Incidents', status: 'Status page', privacy: 'Records of processing', account: 'Your account' },
  de: { home: 'Übersicht', tenants: 'Mandanten', backups: 'Sicherungen', keys: 'Schlüssel', health: 'Zustand', alerts: 'Warnmeldungen', incidents: 'Vorfälle', status: 'Statusseite', privacy: 'Verarbeitungsverzeichnis', account: 'Ihr Konto' },
};

/**
 * The operator role each section needs — the role the JSON routes ask `authenticator.operator`
 * for: tenants as `/platform/tenants…` (operator-routes.ts: `operator`), backups as
 * `/platform/backups…` (backup/routes.ts: `backup-operator`). Keys and health have no JSON route
 * (the host's `tresor keys status`, `/readyz` and `/metrics`); they belong to the platform
 * operator, who runs the deployment — a backup operator reaches backups and nothing else
 * (least privilege, OWASP ASVS 5 V8.2.1).
 */
export const sectionRole: { readonly [S in Exclude<OperatorSection, 'home'>]: OperatorRole } = {
  tenants: 'operator',
  backups: 'backup-operator',
  keys: 'operator',
  health: 'operator',
  // The platform's own alerts (`/platform/alerts`): the platform operator's, who runs the deployment.
  alerts: 'operator',
  // Incidents (`/platform/incidents`): the platform operator's; a backup operator reads them through the API only.
  incidents: 'operator',
  // The public status page's maintenance and notices (`/platform/status/…`): the platform operator's.
  status: 'operator',
  // The deployment's records of processing (`/platform/privacy/ropa`): the platform operator's.
  privacy: 'operator',
};

/** The sections a role sees: the overview, and those whose role it has. */
export function sectionsOf(role: string): OperatorSection[] {
  if (!(operatorRoles as readonly string[]).includes(role)) return [];
  return ['home', ...(Object.keys(sectionRole) as Exclude<OperatorSection, 'home'>[]).filter((s) => sectionRole[s] === role)];
}

export const sectionPath = (section: OperatorSection): string => `/platform/console/${section === 'home' ? '' : `${section}/`}`;
export const sectionLabel = (section: OperatorSection, locale: Locale): string => text[locale][section];

export function operatorNav(role: string, locale: Locale): NavItem[] {
  return [...sectionsOf(role).map((section) => ({ href: sectionPath(section), label: text[locale][section] })), { href: '/platform/account/', label: text[locale].account }];
}

/** An operator console page in the one layout: the platform, the operator, the sections of their role. */
export function sendOperatorPage(
  request: FastifyRequest,
  reply: FastifyReply,
  caller: OperatorCaller,
  page: { readonly section: OperatorSection; readonly title: string; readonly body: Html; readonly notice?: string | undefined; readonly error?: string | undefined; readonly status?: number },
): FastifyReply {
  const { me, locale } = caller;
  return sendPersonPage(request, reply, caller, { ...page, nav: operatorNav(me.account.role, locale), current: sectionPath(page.section), signOut: '/platform/account/sign-out', wide: true });
}

/** A form field's string value ('' when absent or not a string). */
export function field(request: FastifyRequest, name: string): string {
  const value = (request.body as Record<string, unknown> | null | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** A query parameter's string value, if any. */
export function queryValue(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}
