import type { EventRule } from '../types.js';

const defaults = {};

/**
 * The audit chain's verification found events edited, deleted, inserted, reordered or cut, or a
 * checkpoint line that does not verify (`audit.verify_failed`, detail: the kinds and counts). The
 * trail is the evidence of every access; a broken chain means someone with access to the
 * database or the checkpoint log changed it (NIST SP 800-92 §4.2, OWASP ASVS 5 V16.4.2).
 */
export const auditChainFindings: EventRule<never, typeof defaults> = {
  kind: 'event',
  id: 'audit.chain-findings',
  severity: 'critical',
  title: 'Audit trail tampered with',
  describe: 'Verifying the audit trail found events that were edited, deleted, inserted, reordered or cut off, or a checkpoint that does not verify. The trail was changed outside Tresor; old events are kept (nothing is pruned) until someone looks.',
  defaults,
  realms: 'all',
  actions: ['audit.verify_failed'],
  evaluate(event) {
    return { findings: [{ subject: `audit:${event.tenantId}`, summary: `The audit trail of ${event.tenantId} failed verification: ${event.detail}` }] };
  },
};
