import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect as connectTcp, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { connect as connectTls } from 'node:tls';
import type { Checkpoint } from './checkpoints.js';
import type { StoredEvent } from './store.js';

/**
 * Where audit events are shipped for a SIEM. A sink takes a batch and resolves once it has
 * handed every line on (written and fsynced, or written to the socket); the shipper advances its
 * durable cursor only then, so a sink that is down loses nothing: the tenant's audit table is
 * the buffer, and shipping resumes from the cursor (at least once).
 */
export interface AuditSink {
  readonly name: string;
  send(events: readonly StoredEvent[]): Promise<void>;
  /** A copy of signed checkpoints (and retention cuts, restore marks), so the SIEM holds the anchors too. */
  sendCheckpoints(checkpoints: readonly Checkpoint[]): Promise<void>;
  close(): Promise<void>;
}

/** One JSON object per line, appended and fsynced. */
export function jsonLinesSink(path: string): AuditSink {
  const append = async (lines: readonly unknown[]) => {
    const file = await open(path, 'a', 0o600);
    try {
      await file.appendFile(lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
      await file.datasync();
    } finally {
      await file.close();
    }
  };
  return {
    name: 'file',
    send: (events) => append(events),
    // Told apart from events by their `format` field.
    sendCheckpoints: (checkpoints) => append(checkpoints),
    async close() {},
  };
}

/**
 * A connection to a syslog server over TCP (RFC 6587 octet counting) or TLS (RFC 5425; TLS ≥ 1.2,
 * the server certificate verified against `caFile` or the system store), opened on first use
 * and again after a failure. `deliver` resolves once the frames are handed on (see below); the
 * audit shipping and the alert delivery (detection) each hold one.
 */
export function syslogTransport(options: { readonly url: string; readonly caFile?: string }): { deliver(data: string): Promise<void>; close(): Promise<void> } {
  const url = new URL(options.url);
  if (url.protocol !== 'tcp:' && url.protocol !== 'tls:') throw new TypeError('audit syslog URL must be tcp://host:port or tls://host:port');
  const host = url.hostname;
  const port = Number(url.port);
  const ca = options.caFile === undefined ? undefined : readFileSync(options.caFile);
  let socket: Socket | undefined;
  const settleMs = 50;

  async function connected(): Promise<Socket> {
    if (socket !== undefined && !socket.destroyed) return socket;
    const next =
      url.protocol === 'tls:'
        ? connectTls({ host, port, servername: host, minVersion: 'TLSv1.2', ...(ca === undefined ? {} : { ca }) })
        : connectTcp({ host, port });
    next.on('error', () => next.destroy());
    next.on('end', () => next.destroy());
    await once(next, url.protocol === 'tls:' ? 'secureConnect' : 'connect');
    next.setKeepAlive(true);
    socket = next;
    return next;
  }

  async function deliver(data: string): Promise<void> {
    const target = await connected();
    // Syslog over TCP has no acknowledgement: a write can succeed into the kernel just as the
    // server dies. So a batch counts as delivered only if the connection is still up a moment
    // after the write; otherwise it is sent again after reconnecting (at least once).
    await new Promise<void>((resolve, reject) => {
      const closed = () => reject(new Error('syslog connection closed'));
      target.once('close', closed);
      target.write(data, (error) => {
        if (error) return reject(error);
        setTimeout(() => {
          target.off('close', closed);
          if (target.destroyed) reject(new Error('syslog connection closed'));
          else resolve();
        }, settleMs);
      });
    }).catch((error: unknown) => {
      target.destroy();
      throw error;
    });
  }

  return {
    deliver,
    async close() {
      socket?.end();
      socket?.destroy();
    },
  };
}

/**
 * RFC 5424 messages over TCP (RFC 6587 octet counting) or TLS (RFC 5425; syslogTransport).
 * Facility 13 (log audit); severity informational, warning for failures. MSGID is the action;
 * the structured data names tenant and seq; the message is the event as JSON.
 */
export function syslogSink(options: { readonly url: string; readonly caFile?: string }): AuditSink {
  const transport = syslogTransport(options);
  const me = hostname();

  const frame = (e: StoredEvent) => {
    const severity = e.outcome === 'failure' ? 4 : 6;
    const sd = `[tresor@32473 tenant="${e.tenantId}" seq="${e.seq}"]`;
    const message = `<${13 * 8 + severity}>1 ${new Date(e.at).toISOString()} ${me} tresor ${process.pid} ${e.action} ${sd} ${JSON.stringify(e)}`;
    return `${Buffer.byteLength(message)} ${message}`;
  };

  // MSGID audit.checkpoint (or audit.cut, audit.restore); the signed line as the message.
  const msgid = { 'tresor-audit-checkpoint/1': 'audit.checkpoint', 'tresor-audit-cut/1': 'audit.cut', 'tresor-audit-restore/1': 'audit.restore' } as const;
  const checkpointFrame = (c: Checkpoint) => {
    const message = `<${13 * 8 + 6}>1 ${c.at} ${me} tresor ${process.pid} ${msgid[c.format]} [tresor@32473 tenant="${c.tenant}" seq="${c.seq}"] ${JSON.stringify(c)}`;
    return `${Buffer.byteLength(message)} ${message}`;
  };

  return {
    name: 'syslog',
    send: (events) => transport.deliver(events.map(frame).join('')),
    sendCheckpoints: (checkpoints) => transport.deliver(checkpoints.map(checkpointFrame).join('')),
    close: () => transport.close(),
  };
}
