import type { EventRule } from '../types.js';

const defaults = {};

/**
 * Signed checkpoints of the audit chain cannot be written (`audit.checkpoint_failed`, once per
 * streak of failures; detail: the error code). Events are still recorded, but the newest ones are
 * not anchored: a later edit of them would be harder to prove (NIST SP 800-92 §4.2).
 */
export const auditCheckpointFailing: EventRule<never, typeof defaults> = {
  kind: 'event',
  id: 'audit.checkpoint-failing',
  severity: 'high',
  title: 'Audit checkpoints failing',
  describe: 'The server cannot write the signed checkpoints that anchor the audit trail (a full disk, a directory it may not write, a signing key it cannot use). Events are still recorded, but new ones are not anchored until it is fixed.',
  defaults,
  realms: 'all',
  actions: ['audit.checkpoint_failed'],
  evaluate(event) {
    return { findings: [{ subject: `audit-checkpoints:${event.tenantId}`, summary: `Audit checkpoints of ${event.tenantId} cannot be written (${event.detail})` }] };
  },
};
