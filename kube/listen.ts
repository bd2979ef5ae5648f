// Binding a server, the same way for the three processes' servers (health,
// gateway data and admin, webhook): a bind error rejects instead of crashing,
// and the caller learns the port it got (port 0 in tests) and its URL.
import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Bound {
  port: number;
  /** http://host:port, IPv6 hosts in brackets. */
  url: string;
}

export async function listenOn(server: Server, host: string | undefined, port: number, scheme = 'http'): Promise<Bound> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const h = host ?? '127.0.0.1';
  return { port: bound, url: `${scheme}://${h.includes(':') ? `[${h}]` : h}:${bound}` };
}

/** Stops accepting and drops every connection: for servers whose requests are short (probes, admin). */
export function closeNow(server: Server & { closeAllConnections?: () => void }): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
