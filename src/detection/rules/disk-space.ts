import type { PlatformReading } from '../platform-reading.js';
import type { ProbeRule } from '../types.js';

// A full disk stops every write, the audit trail's too, and so every read (reads wait for their
// audit event): 10 % free is the warning, 5 % critical.
const defaults = { warnFreePercent: 10, criticalFreePercent: 5 };

/** Free space where Tresor writes is running out. */
export const diskSpace: ProbeRule<PlatformReading, typeof defaults> = {
  kind: 'probe',
  id: 'platform.disk-space',
  severity: 'high',
  title: 'Disk nearly full',
  describe: 'The disk holding data, audit checkpoints or backups is nearly full. When it is full, writes fail — and reads too, since each read waits for its audit event.',
  defaults,
  evaluate(reading, config) {
    return reading.disks
      .filter((d) => d.totalBytes > 0 && (d.freeBytes / d.totalBytes) * 100 < config.warnFreePercent)
      .map((d) => {
        const percent = (d.freeBytes / d.totalBytes) * 100;
        return { subject: d.path, summary: `${percent.toFixed(1)} % free on the disk of ${d.path} (${Math.round(d.freeBytes / 1_048_576)} MiB of ${Math.round(d.totalBytes / 1_048_576)} MiB)`, ...(percent < config.criticalFreePercent ? { severity: 'critical' as const } : {}) };
      });
  },
};
