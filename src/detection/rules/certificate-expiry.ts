import type { PlatformReading } from '../platform-reading.js';
import type { ProbeRule } from '../types.js';

// Three weeks leave time for a renewal that needs a person; a week left is critical.
const defaults = { warnDays: 21, criticalDays: 7 };

/** The server's TLS certificate expires soon (clients will refuse it, and API and console stop). */
export const certificateExpiry: ProbeRule<PlatformReading, typeof defaults> = {
  kind: 'probe',
  id: 'platform.certificate-expiry',
  severity: 'medium',
  title: 'TLS certificate expires soon',
  describe: 'The certificate the server presents expires within weeks; once it has, every client refuses to connect.',
  defaults,
  evaluate(reading, config, now) {
    const c = reading.certificate;
    if (c === undefined) return [];
    const days = (c.notAfter - now) / 86_400_000;
    if (days > config.warnDays) return [];
    const left = days <= 0 ? 'expired' : `expires in ${Math.floor(days)} days`;
    return [{ subject: c.subject, summary: `the TLS certificate for ${c.subject} ${left} (${new Date(c.notAfter).toISOString().slice(0, 10)})`, ...(days <= config.criticalDays ? { severity: 'critical' as const } : {}) }];
  },
};
