import { overallIndicator, type Indicator } from './components.js';
import type { ComponentId, ComponentStatus, StatusEntry, StatusSnapshot } from './types.js';

/** The components' public names (the JSON is English, as Statuspage clients expect). */
export const componentNames: Readonly<Record<ComponentId, string>> = {
  api: 'API',
  'sign-in': 'Sign-in',
  oauth: 'OAuth and OpenID Connect',
  backups: 'Backups',
  replication: 'Database replication',
  certificate: 'TLS certificate',
};

const indicatorText: Readonly<Record<Indicator, string>> = {
  none: 'All Systems Operational',
  minor: 'Minor Service Outage',
  major: 'Partial System Outage',
  critical: 'Major System Outage',
  maintenance: 'Service Under Maintenance',
};

export interface PageInfo {
  readonly name: string;
  /** The page's absolute URL (`server.publicUrl` + `/status`). */
  readonly url: string;
}

const iso = (at: number | undefined): string | null => (at === undefined ? null : new Date(at).toISOString());

function componentJson(c: ComponentStatus, position: number, snapshot: StatusSnapshot) {
  return {
    id: c.id,
    name: componentNames[c.id],
    status: c.state,
    created_at: iso(snapshot.checkedAt),
    updated_at: iso(snapshot.checkedAt),
    position: position + 1,
    description: c.reason ?? null,
    showcase: true,
    group_id: null,
    page_id: 'tresor',
    group: false,
    only_show_if_degraded: false,
  };
}

function entryJson(e: StatusEntry) {
  const resolvedAt = e.status === 'resolved' || e.status === 'completed' ? e.updates.find((u) => u.status === e.status)?.at ?? e.updatedAt : undefined;
  return {
    id: e.id,
    name: e.title,
    status: e.status,
    created_at: iso(e.createdAt),
    updated_at: iso(e.updatedAt),
    monitoring_at: iso(e.updates.find((u) => u.status === 'monitoring')?.at),
    resolved_at: iso(resolvedAt),
    impact: e.impact,
    shortlink: null,
    started_at: iso(e.startsAt),
    page_id: 'tresor',
    incident_updates: e.updates.map((u, i) => ({ id: `${e.id}-${e.updates.length - i}`, status: u.status, body: u.text, incident_id: e.id, created_at: iso(u.at), updated_at: iso(u.at), display_at: iso(u.at), affected_components: null })),
    components: e.components.map((id) => ({ id, name: componentNames[id] })),
    ...(e.kind === 'maintenance' ? { scheduled_for: iso(e.startsAt), scheduled_until: iso(e.endsAt) } : {}),
  };
}

/** Atlassian Statuspage's `status` object. */
export function statusJson(snapshot: StatusSnapshot) {
  const indicator = overallIndicator(snapshot.components, snapshot.entries);
  return { indicator, description: indicatorText[indicator] };
}

const pageJson = (info: PageInfo, snapshot: StatusSnapshot) => ({ id: 'tresor', name: info.name, url: info.url, time_zone: 'Etc/UTC', updated_at: iso(Math.max(snapshot.checkedAt, ...snapshot.entries.map((e) => e.updatedAt))) });

export const unresolvedIncidents = (s: StatusSnapshot): StatusEntry[] => s.entries.filter((e) => e.kind === 'incident' && e.status !== 'resolved');
export const openMaintenances = (s: StatusSnapshot): StatusEntry[] => s.entries.filter((e) => e.kind === 'maintenance' && e.status !== 'completed');

/**
 * The documents status clients read (Statuspage API v2: summary, status, components, incidents,
 * scheduled maintenances). Tresor's own `tresor` block says whether the database answered.
 */
export function statusDocuments(info: PageInfo, snapshot: StatusSnapshot) {
  const page = pageJson(info, snapshot);
  const components = snapshot.components.map((c, i) => componentJson(c, i, snapshot));
  const tresor = { checked_at: iso(snapshot.checkedAt), stored_at: iso(snapshot.storedAt), database_reachable: !snapshot.databaseDown };
  return {
    summary: { page, status: statusJson(snapshot), components, incidents: unresolvedIncidents(snapshot).map(entryJson), scheduled_maintenances: openMaintenances(snapshot).map(entryJson), tresor },
    status: { page, status: statusJson(snapshot) },
    components: { page, components },
    incidents: { page, incidents: snapshot.entries.filter((e) => e.kind === 'incident').map(entryJson) },
    'scheduled-maintenances': { page, scheduled_maintenances: snapshot.entries.filter((e) => e.kind === 'maintenance').map(entryJson) },
  };
}
