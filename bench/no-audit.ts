import type { Audit } from '../src/audit/index.js';

/**
 * The benchmark's baseline for the audit trail's cost: the same server without writing audit
 * events. It lives in bench/ and is handed to buildApp in code; no configuration setting can
 * select it (SPEC L1: auditing cannot be switched off).
 */
export const noAudit: Audit = {
  appendIn: async () => undefined,
  settle: async () => undefined,
  sweep: () => ({ stop: async () => undefined }),
  record: async () => undefined,
  query: async () => [],
  verify: async (tenantId) => ({ tenantId, events: 0, lastSeq: 0, findings: [], checkpoints: 0, cut: 0 }),
  verifyCopy: async (_db, tenantId) => ({ tenantId, events: 0, lastSeq: 0, findings: [], checkpoints: 0, cut: 0 }),
  markRestored: async () => {
    throw new Error('the no-audit baseline does not restore backups');
  },
  prune: async (tenantId) => ({ tenantId, cut: 0, deleted: 0 }),
  retain: () => ({ stop: async () => undefined }),
  checkpoint: async () => undefined,
  ship: () => ({ backlog: () => ({ pending: [], up: [] }), stop: async () => undefined }),
  onAppended: () => () => undefined,
  close: async () => undefined,
};
