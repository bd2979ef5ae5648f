// The HTTP listener of the gateway (and of crossgate-authz's check port with --check-server=node): no CONNECT
// tunnelling or protocol upgrades, a malformed request answered 400 without
// reaching a handler, and a close that lets in-flight requests finish.
import { createServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { bind } from '../kube/listen.ts';

export interface HttpServer {
  server: Server;
  url: string;
  host: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to graceMs, default 10 s), then closes. */
  close(graceMs?: number): Promise<void>;
}

/** Listens on `where` (defaultPort when it names none) with `handler` and the given timeouts. */
export async function serveHttp(
  handler: RequestListener,
  timeouts: Pick<ServerOptions, 'keepAliveTimeout' | 'headersTimeout' | 'requestTimeout' | 'connectionsCheckingInterval'>,
  where: { host?: string; port?: number },
  defaultPort: number,
): Promise<HttpServer> {
  const server = createServer(timeouts, handler);
  server.on('connect', (_req, socket) => socket.end('HTTP/1.1 405 Method Not Allowed\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'));
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return socket.destroy();
    // A head or request slower than its timeout is a 408 and a head too large a 431, as node's own handler says; the rest 400.
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });
  return {
    ...(await bind(server, where, defaultPort)),
    async close(graceMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const t = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(t);
    },
  };
}
