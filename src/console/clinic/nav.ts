import { hasCapability, mayDo, parseRole, personRoles, type PersonRole } from '../../identity/index.js';
import type { Locale, NavItem, Texts } from '../../platform/pages/index.js';
import { mayReadRopa } from '../../privacy/index.js';

export type ClinicSection = 'home' | 'patients' | 'staff' | 'apps' | 'audit' | 'review' | 'alerts' | 'incidents' | 'requests' | 'erasure' | 'restrictions' | 'privacy' | 'settings';

const text: Texts<ClinicSection | 'account' | 'open'> = {
  en: { home: 'Overview', patients: 'Patients', staff: 'Staff', apps: 'Apps', audit: 'Audit trail', review: 'Break-the-glass review', alerts: 'Alerts', incidents: 'Incidents', requests: 'Privacy requests', erasure: 'Erasure & retention', restrictions: 'Restrictions', privacy: 'Records of processing', settings: 'Settings', account: 'Your account', open: 'open' },
  de: { home: 'Übersicht', patients: 'Patienten', staff: 'Mitarbeitende', apps: 'Apps', audit: 'Protokoll', review: 'Notfallzugriffe prüfen', alerts: 'Warnmeldungen', incidents: 'Vorfälle', requests: 'Datenschutzanfragen', erasure: 'Löschung & Aufbewahrung', restrictions: 'Einschränkungen', privacy: 'Verarbeitungsverzeichnis', settings: 'Einstellungen', account: 'Ihr Konto', open: 'offen' },
};

/**
 * Which console sections a role may use — decided by the permission matrix, never by a list of
 * role names here: a section appears exactly when its services would let the role act, so a page
 * never shows a control the role cannot use.
 */
export function sectionsOf(role: PersonRole): ClinicSection[] {
  const sections: ClinicSection[] = ['home'];
  if (mayDo(role, 'Patient', 'search')) sections.push('patients');
  if (hasCapability(role, 'accounts:manage')) sections.push('staff');
  if (hasCapability(role, 'apps:manage')) sections.push('apps');
  if (hasCapability(role, 'audit:read')) sections.push('audit');
  if (hasCapability(role, 'emergency:review')) sections.push('review');
  if (hasCapability(role, 'alerts:read')) sections.push('alerts');
  if (hasCapability(role, 'incidents:read')) sections.push('incidents');
  if (hasCapability(role, 'privacy:manage')) sections.push('requests');
  if (hasCapability(role, 'privacy:erase')) sections.push('erasure');
  if (hasCapability(role, 'privacy:restrict')) sections.push('restrictions');
  // Records of processing (GDPR Art. 30): the same test as their API (privacy/ropa-routes.ts).
  if (mayReadRopa({ role })) sections.push('privacy');
  if (hasCapability(role, 'accounts:manage')) sections.push('settings');
  return sections;
}

export const sectionPath = (tenantId: string, section: ClinicSection): string => `/tenants/${tenantId}/console/${section === 'home' ? '' : `${section}/`}`;

/** The sections of the role; `openAlerts`, when known, is shown beside the alerts (a count of alerts nobody has acknowledged yet). */
export function clinicNav(tenantId: string, role: string, locale: Locale, openAlerts?: number): NavItem[] {
  const t = text[locale];
  const sections = (personRoles as readonly string[]).includes(role) ? sectionsOf(parseRole(role, personRoles) as PersonRole) : [];
  const label = (section: ClinicSection) => (section === 'alerts' && openAlerts !== undefined && openAlerts > 0 ? `${t.alerts} (${openAlerts >= openAlertsShown ? `${openAlertsShown - 1}+` : openAlerts} ${t.open})` : t[section]);
  return [...sections.map((section) => ({ href: sectionPath(tenantId, section), label: label(section) })), { href: `/tenants/${tenantId}/account/`, label: t.account }];
}

/** The nav counts open alerts up to this (then `99+`): a number to act on, not an inventory. */
export const openAlertsShown = 100;

export const sectionLabel = (section: ClinicSection, locale: Locale): string => text[locale][section];
