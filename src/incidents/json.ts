import type { IncidentDetail, Incident, TimelineEntry, Task, LinkedAlert, Delivery } from './types.js';

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** An incident as the API shows it: ids, codes, times (ISO 8601, UTC) and people's own words; never record contents. */
export function incidentJson(incident: Incident) {
  return {
    id: incident.id,
    title: incident.title,
    severity: incident.severity,
    state: incident.state,
    owner: incident.owner.accountId === '' ? null : { realm: incident.owner.realm, id: incident.owner.accountId },
    openedBy: incident.openedBy,
    openedAt: iso(incident.openedAt),
    awareAt: iso(incident.awareAt),
    updatedAt: iso(incident.updatedAt),
    closedAt: iso(incident.closedAt),
    published: incident.published,
    tenants: incident.tenants,
  };
}

const entryJson = (e: TimelineEntry) => ({ seq: e.seq, kind: e.kind, at: iso(e.at), by: e.by, visibleTo: e.visibleTo, text: e.text, ...e.data });
const taskJson = (t: Task) => ({ id: t.id, title: t.title, assignee: t.assignee ?? null, due: iso(t.dueAt), createdAt: iso(t.createdAt), createdBy: t.createdBy, done: t.doneAt === undefined ? null : { at: iso(t.doneAt), by: t.doneBy } });
const alertJson = (a: LinkedAlert) => ({ realm: a.realm, id: a.alertId, rule: a.rule, severity: a.severity, title: a.title, subject: a.subject, summary: a.summary, state: a.state, count: a.count, firstSeen: iso(a.firstAt), lastSeen: iso(a.lastAt), linkedAt: iso(a.linkedAt), linkedBy: a.linkedBy });
const deliveryJson = (d: Delivery) => ({ update: d.seq, tenant: d.tenant, recipient: d.recipient, status: d.status, at: iso(d.at) });

export function incidentDetailJson(detail: IncidentDetail) {
  return {
    ...incidentJson(detail.incident),
    timeline: detail.timeline.map(entryJson),
    tasks: detail.tasks.map(taskJson),
    alerts: detail.alerts.map(alertJson),
    deliveries: detail.deliveries.map(deliveryJson),
  };
}
