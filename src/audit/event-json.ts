import type { StoredEvent } from './store.js';

/** An audit event as plain JSON: `GET /tenants/{t}/audit`, and the console's JSON export. */
export const auditEventJson = (e: StoredEvent) => ({
  id: e.seq,
  time: new Date(e.at).toISOString(),
  tenant: e.tenantId,
  action: e.action,
  outcome: e.outcome,
  status: e.status,
  actor: e.actor,
  purpose: e.purpose,
  resources: e.resources,
  patients: e.subjects,
  dataClasses: e.classes,
  requestId: e.requestId,
  sourceIp: e.sourceIp,
  detail: e.detail,
  hash: e.hash,
});
