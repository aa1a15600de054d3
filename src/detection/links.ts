/**
 * Where a person looks at an alert and at its rule's runbook — one place for both paths, so the
 * API, the console, the mail and the webhooks always link the same pages.
 */
export const runbookPath = (rule: string): string => `/runbooks/${encodeURIComponent(rule)}`;

/** The alert's console page: the clinic console for a tenant's alert, the operator console for a platform alert. */
export const alertPath = (alert: { readonly id: string; readonly realm: string }, platform: boolean): string =>
  platform ? `/platform/console/alerts/${encodeURIComponent(alert.id)}` : `/tenants/${encodeURIComponent(alert.realm)}/console/alerts/${encodeURIComponent(alert.id)}`;

/**
 * A tenant's alert as the operators see it once its escalation reached them: the operator
 * console's page (metadata and the escalation, not the tenant's events) — an operator cannot
 * open the clinic console.
 */
export const escalatedAlertPath = (alert: { readonly id: string; readonly realm: string }): string =>
  `/platform/console/alerts/escalated/${encodeURIComponent(alert.realm)}/${encodeURIComponent(alert.id)}`;
