import type { Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';

const defaults = {
  /** A TLS client sends its ClientHello at once; a connection silent this long is closed. */
  firstByteMs: 10_000,
  /** How long a refused plain-HTTP connection may linger while its peer reads the answer. */
  lingerMs: 5_000,
};

/** The first byte of every TLS connection: a handshake record (RFC 8446 §5.1, ContentType 22). */
const tlsHandshake = 0x16;
const httpRequestLine = /^[A-Z]{3,10} \S+ HTTP\/1\.[01]\r?\n/;
/** A Host header worth repeating back: a host name or address and a port, nothing else. */
const plainHost = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

export interface PlainHttpAnswerOptions {
  /** The https base to point to; undefined: `https://` + the request's Host when it is a plain host name. */
  readonly httpsBase: string | undefined;
}

/**
 * Someone who types `http://` for the TLS port got an empty reply (the TLS library drops what is
 * not a handshake). This looks at a connection's first byte before TLS sees it: a handshake
 * record goes on to the TLS server untouched (ALPN, session resumption, keep-alive and the
 * server's timeouts as before); a plain HTTP request gets a short `400` naming the https URL, and
 * the connection closes. Anything else is closed. The answer carries no HSTS (RFC 6797 §7.2) and
 * never echoes the request beyond a Host that is a plain host name.
 */
export function answerPlainHttp(server: TlsServer, options: PlainHttpAnswerOptions): void {
  // tls.Server wraps each accepted socket in its 'connection' listener: those run once the first byte is known.
  const tlsListeners = server.listeners('connection') as Array<(this: TlsServer, socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const ignore = () => undefined;
    // A peer resetting before its first byte must not become an uncaught socket error.
    socket.on('error', ignore);
    const silent = () => socket.destroy();
    socket.setTimeout(defaults.firstByteMs, silent);
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      socket.off('timeout', silent);
      if (chunk[0] === tlsHandshake) {
        // TLS reads what the socket buffered before it took the socket over (node's initRead).
        socket.unshift(chunk);
        socket.off('error', ignore);
        for (const listener of tlsListeners) listener.call(server, socket);
        return;
      }
      const head = chunk.toString('latin1');
      if (!httpRequestLine.test(head)) {
        socket.destroy();
        return;
      }
      const host = /\r?\nhost:[ \t]*([^\r\n]*)/i.exec(head)?.[1]?.trim();
      const base = options.httpsBase ?? (host !== undefined && plainHost.test(host) ? `https://${host}` : undefined);
      const body = `This port speaks HTTPS only. ${base === undefined ? 'Use an https:// URL.' : `Use ${base}/ instead.`}\n`;
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      // Read and drop the rest so the close is orderly (no reset that could discard the answer).
      socket.resume();
      socket.setTimeout(defaults.lingerMs, silent);
    });
  });
}
