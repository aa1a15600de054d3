import type { PlatformReading } from '../platform-reading.js';
import type { Finding, ProbeRule } from '../types.js';

// Twice the schedule: one late snapshot is a slow run, two missed ones are an outage. Drills
// are daily by default; a day and a half without one means the last one did not happen.
const defaults = { snapshotIntervals: 2, drillIntervals: 1.5 };

/**
 * Backups overdue: the scheduled snapshot (every 15 minutes by default) or the restore drill has
 * not happened within its interval — the recovery point the deployment promises is not held.
 */
export const backupOverdue: ProbeRule<PlatformReading, typeof defaults> = {
  kind: 'probe',
  id: 'platform.backup-overdue',
  severity: 'high',
  title: 'Backup or restore drill overdue',
  describe: 'No snapshot, or no restore drill, within the scheduled interval: a disaster now would lose more data than promised, or restores are no longer proven.',
  defaults,
  evaluate(reading, config, now) {
    const b = reading.backups;
    if (b === undefined || !b.scheduled) return [];
    const findings: Finding[] = [];
    const snapshotDue = b.everyMinutes * 60_000 * config.snapshotIntervals;
    const lastSnapshot = b.lastSnapshotAt ?? b.since;
    if (now - lastSnapshot > snapshotDue) {
      const minutes = Math.round((now - lastSnapshot) / 60_000);
      findings.push({ subject: 'snapshot', summary: b.lastSnapshotAt === undefined ? `no snapshot since the server started ${minutes} minutes ago (schedule: every ${b.everyMinutes} minutes)` : `the newest snapshot is ${minutes} minutes old (schedule: every ${b.everyMinutes} minutes)` });
    }
    if (b.drillEveryHours > 0) {
      const drillDue = b.drillEveryHours * 3_600_000 * config.drillIntervals;
      const lastDrill = b.lastDrillAt ?? b.since;
      if (now - lastDrill > drillDue) findings.push({ subject: 'drill', summary: `no restore drill for ${Math.round((now - lastDrill) / 3_600_000)} hours (schedule: every ${b.drillEveryHours} hours)` });
    }
    return findings;
  },
};
