import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** Open connections one peer address may hold; 0: no limit. */
  readonly maxPerAddress: number;
}

/**
 * Watches the server's connections as they arrive:
 * - reads each socket's peer address at once, which Node caches on the socket: a request whose
 *   client has closed still knows where it came from (its audit event names the address);
 * - refuses a peer's connection beyond `maxPerAddress` open ones (OWASP ASVS 4.0 V12.1 / slow
 *   clients: one address cannot hold every socket the server has).
 * Returns the number of open connections per address (for tests and metrics).
 */
export function watchConnections(server: Server, { maxPerAddress }: ConnectionLimits): { open(address: string): number } {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) return;
    const count = (open.get(address) ?? 0) + 1;
    if (maxPerAddress > 0 && count > maxPerAddress) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
  // Over TLS the request's socket is the TLS socket wrapped around the one counted above.
  server.on('secureConnection', (socket: Socket) => void socket.remoteAddress);
  return { open: (address) => open.get(address) ?? 0 };
}
