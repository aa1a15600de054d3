import type { EventRule } from '../types.js';

/**
 * A backup, verification or restore drill failed (the operators' trail records each failure,
 * whether the server's schedule, a cron job or an operator ran it). Every failure is an alert;
 * repeated failures of one operation join it, and a failed drill or an unreadable snapshot is
 * critical — the backups may not restore.
 */
export const backupFailed: EventRule<undefined, Record<string, never>> = {
  kind: 'event',
  id: 'platform.backup-failed',
  severity: 'high',
  title: 'Backup failed',
  describe: 'A snapshot, verification, restore drill or physical backup failed. Until one succeeds, the recovery point grows.',
  defaults: {},
  realms: 'operators',
  actions: ['backup.failed'],
  evaluate(event) {
    // `<operation>: <error code>`, or a sentence for physical backups: the operation names the alert.
    const operation = /^([a-z-]+):/.exec(event.detail)?.[1] ?? (event.detail.startsWith('physical') ? 'physical' : 'backup');
    const critical = operation === 'drill' || /unreadable|corrupt/.test(event.detail);
    return { findings: [{ subject: operation, summary: `backup ${operation} failed (${event.detail.slice(0, 200)})`, ...(critical ? { severity: 'critical' as const } : {}) }] };
  },
};
