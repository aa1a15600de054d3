import type { AlertPayload } from './alert-payload.js';
import type { Severity } from './types.js';

/** RFC 5424 §6.2.1 severities: critical → 2 (crit), high → 3 (err), medium → 4 (warning), low → 5 (notice). */
export const syslogSeverity: Readonly<Record<Severity, number>> = { critical: 2, high: 3, medium: 4, low: 5 };
/** Facility 13, "log audit", like the audit events (RFC 5424 §6.2.1 table 1): one SIEM filter for Tresor. */
const facility = 13;

/** RFC 5424 §6.3.3: in a PARAM-VALUE, `"`, `\` and `]` are escaped with a backslash. */
export function escapeParamValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/**
 * One alert change as an RFC 5424 message, octet-counted for TCP/TLS (RFC 6587 §3.4.1):
 * MSGID `alert`, structured data `[tresor-alert@32473 …]` with rule, severity, alert id,
 * realm, count, state and kind, and the payload as JSON for the message (ids and counts only).
 */
export function alertSyslogFrame(payload: AlertPayload, at: number, host: string, pid: number): string {
  const params: Array<[string, string | number]> = [
    ['rule', payload.rule],
    ['severity', payload.severity],
    ['alert', payload.id],
    ['realm', payload.realm],
    ['count', payload.count],
    ['state', payload.state],
    ['kind', payload.kind],
  ];
  const sd = `[tresor-alert@32473 ${params.map(([k, v]) => `${k}="${escapeParamValue(String(v))}"`).join(' ')}]`;
  const message = `<${facility * 8 + syslogSeverity[payload.severity]}>1 ${new Date(at).toISOString()} ${host} tresor ${pid} alert ${sd} ${JSON.stringify(payload)}`;
  return `${Buffer.byteLength(message)} ${message}`;
}
