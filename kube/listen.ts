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

/** Binds `server` to opts.host (default 127.0.0.1) and opts.port (default `defaultPort`): the server, its host, the port it got and its URL. */
export async function bind<S extends Server>(server: S, opts: { host?: string; port?: number }, defaultPort: number): Promise<Bound & { server: S; host: string }> {
  const host = opts.host ?? '127.0.0.1';
  return { server, host, ...(await listenOn(server, host, opts.port ?? defaultPort)) };
}

/** Stops accepting and drops every connection: for servers whose requests are short (probes, admin). */
export function closeNow(server: Server & { closeAllConnections?: () => void }): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
