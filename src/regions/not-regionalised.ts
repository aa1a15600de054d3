import { homeRegion, type Config } from '../config/index.js';
import type { Residency } from './open-regions.js';

/** What of Tresor does not stay in a tenant's region, and why (the stable ids the console translates). */
export type SharedComponentId =
  | 'server-processes'
  | 'platform-registry'
  | 'operators-realm'
  | 'platform-signing-keys'
  | 'oauth-issuer'
  | 'status-page'
  | 'mail-relay'
  | 'siem-file'
  | 'siem-syslog'
  | 'alert-webhooks'
  | 'backups';

export interface SharedComponent {
  readonly id: SharedComponentId;
  /** Where it runs or is kept: a host, an address, a path, or "the home region (<label>)". */
  readonly where: string;
  /** What of the tenant's it holds or sees, in English (the console has its own texts). */
  readonly holds: string;
}

export interface RegionReport {
  readonly tenant: string;
  readonly region: { readonly name: string; readonly label: string; readonly location: string | undefined; readonly home: boolean };
  /** Kept in the tenant's region. */
  readonly regionalised: readonly string[];
  /** Not kept in the tenant's region: each with where it is. GDPR Art. 13(1)(f), 30(1)(e): the controller is told of transfers. */
  readonly notRegionalised: readonly SharedComponent[];
}

const hostOf = (url: string | undefined): string | undefined => {
  if (url === undefined) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
};

/**
 * Every component that is not regionalised, with where it runs, from the configuration: the
 * list is derived, never maintained by hand, so a relay or sink configured tomorrow appears in
 * it tomorrow. The tenant's own region is left out of "where" only when it is the home region.
 */
export function regionReport(config: Config, residency: Residency, tenantId: string): RegionReport {
  const name = residency.regionOf(tenantId);
  const region = residency.region(name);
  const home = residency.region(homeRegion);
  const homeText = `the home region (${home.label}${home.location === undefined ? '' : `, ${home.location}`})`;
  const servers = hostOf(config.server.publicUrl) ?? `${config.server.host}:${config.server.port}`;
  const shared: SharedComponent[] = [
    { id: 'server-processes', where: `${servers} (${homeText})`, holds: 'every request in memory while it is served: records are decrypted there, never stored' },
    { id: 'platform-registry', where: homeText, holds: 'the tenant’s id and name, its status, API key hashes, backup outcomes' },
    { id: 'operators-realm', where: homeText, holds: 'platform operators’ accounts and their audit trail (which tenant they acted on, ids only)' },
    { id: 'platform-signing-keys', where: `${homeText}, key store`, holds: 'the keys that sign audit checkpoints (no key of the tenant’s data)' },
    { id: 'oauth-issuer', where: hostOf(config.server.publicUrl) ?? servers, holds: 'the issuer URL apps see; its signing keys are kept in the tenant’s region' },
    { id: 'status-page', where: `${servers} (${homeText})`, holds: 'component states and incident updates, no tenant data' },
  ];
  if (config.mail.smtp.host !== undefined) shared.push({ id: 'mail-relay', where: `${config.mail.smtp.host}${config.mail.smtp.port === undefined ? '' : `:${config.mail.smtp.port}`}`, holds: 'messages to people (invitations, password resets, confirmations) while they are relayed' });
  if (config.audit.sinks.file !== undefined) shared.push({ id: 'siem-file', where: `${config.audit.sinks.file} (${homeText})`, holds: 'a copy of the audit trail: who accessed which records, by id' });
  if (config.audit.sinks.syslog !== undefined) shared.push({ id: 'siem-syslog', where: hostOf(config.audit.sinks.syslog) ?? config.audit.sinks.syslog, holds: 'a copy of the audit trail: who accessed which records, by id' });
  shared.push({ id: 'alert-webhooks', where: 'the addresses registered for alerts', holds: 'alerts: rule ids, counts and record ids, never record contents' });
  // Each region's snapshots go into its own repository (docs/residency.md "Backups"): only a
  // region without one is told that Tresor keeps no copy of its data there.
  if (name !== homeRegion && region.backup.repository === undefined) shared.push({ id: 'backups', where: 'none taken by Tresor (the region has no backup repository)', holds: 'this region’s data sets are not in Tresor’s snapshots: back up the region’s data directory or database by other means' });
  return {
    tenant: tenantId,
    region: { name, label: region.label, location: region.location, home: name === homeRegion },
    regionalised: ['records and their history', 'people’s accounts and sessions', 'the audit trail', 'data keys and the master key that wraps them', 'audit checkpoints', 'exports'],
    // In the home region, what runs there is no transfer; what runs elsewhere (a relay, a sink) still is.
    notRegionalised: name === homeRegion ? shared.filter((c) => !c.where.includes(homeText) && c.id !== 'oauth-issuer') : shared,
  };
}
