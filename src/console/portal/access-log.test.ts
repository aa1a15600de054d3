import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditActions } from '../../audit/index.js';
import { patientActions } from './access-log.js';

/**
 * Actions that never name a patient as their subject: the platform's, the operators', sign-ins and
 * account administration, alerts, incidents and the notification work itself (which names people
 * only through `breach.people_resolved` and `notice.sent`). Every other action can appear in a
 * patient's "who saw my data" and must have words there.
 */
const neverAboutAPatient = new Set<string>([
  'apikey.created', 'apikey.revoked', 'tenant.created', 'tenant.region_moved', 'tenant.disabled', 'tenant.settings_changed', 'tenant.listed', 'key.rotated', 'audit.pruned',
  'auth.password_changed', 'auth.login_succeeded', 'auth.login_failed', 'auth.locked_out', 'session.revoked', 'auth.mfa_failed', 'auth.mfa_enrolled', 'auth.mfa_removed', 'auth.recovery_codes_renewed',
  'auth.password_reset_requested', 'auth.password_reset', 'auth.unlocked', 'auth.login_throttled', 'auth.credential_failed',
  'account.disabled', 'account.enabled', 'account.reinvited', 'account.approved', 'role.changed',
  'app.registered', 'app.changed', 'app.approved', 'token.reuse_detected',
  'backup.created', 'backup.listed', 'backup.verified', 'backup.failed', 'backup.pruned', 'backup.restored',
  'alert.acknowledged', 'alert.resolved', 'alert.settings_changed', 'alert.webhook_added', 'alert.webhook_removed',
  'audit.verify_failed', 'audit.checkpoint_failed', 'outbox.listed', 'outbox.cleared', 'fim.baselined', 'fim.checked',
  'incident.opened', 'incident.changed', 'incident.state_changed', 'incident.noted', 'incident.alert_linked', 'incident.task_added', 'incident.task_changed', 'incident.update_posted', 'incident.scope_frozen', 'incident.scope_verified', 'incident.drill_run',
  'breach.scope_computed', 'notification.assessed', 'notification.item_changed', 'notification.awareness_set', 'notification.deadline_near', 'notice.drafted', 'notice.edited', 'notice.approved', 'notice.downloaded',
  'status.changed', 'ropa.generated', 'retention.run', 'retention.settings_changed',
]);

describe('the patient’s access log', () => {
  it('has words for every action that can name a patient, and no stale entry', () => {
    const known = new Set<string>(auditActions);
    for (const action of patientActions) assert.ok(known.has(action), `${action} is no audit action`);
    const worded = new Set<string>(patientActions);
    const missing = auditActions.filter((action) => !worded.has(action) && !neverAboutAPatient.has(action));
    assert.deepEqual(missing, [], 'give these words in src/console/portal/access-log.ts, or list them here as never about a patient');
  });
});
