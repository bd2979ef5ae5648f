// Probe and metrics endpoints on one small node:http server:
//   /healthz  liveness: the process and its event loop answer (plus any checks added)
//   /readyz   readiness: every ready check passes (the Manager's caches have synced)
//   /metrics  the prom-client registry in Prometheus text format
// `?verbose` lists each check, like the API server's own probes.
//
// Binds 127.0.0.1 by default so nothing is exposed by accident; in a pod,
// pass host "0.0.0.0" (kubelet probes and Prometheus come in on the pod IP).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { silentLogger } from './logger.ts';
import { closeNow, listenOn } from './listen.ts';

export type Check = () => boolean | Promise<boolean>;

export interface HealthServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8081 (controller-runtime's probe port); 0 picks a free port. */
  port?: number;
  registry?: Registry;
  healthChecks?: Record<string, Check>;
  readyChecks?: Record<string, Check>;
  logger?: Logger;
}

export interface HealthServer {
  server: Server;
  host: string;
  port: number;
  url: string;
  addHealthCheck(name: string, check: Check): void;
  addReadyCheck(name: string, check: Check): void;
  close(): Promise<void>;
}

async function runChecks(checks: Map<string, Check>): Promise<{ ok: boolean; lines: string[] }> {
  const lines: string[] = [];
  let ok = true;
  for (const [name, check] of checks) {
    let pass = false;
    try {
      pass = await check();
    } catch {
      pass = false;
    }
    ok &&= pass;
    lines.push(`[${pass ? '+' : '-'}]${name} ${pass ? 'ok' : 'failed'}`);
  }
  return { ok, lines };
}

export async function startHealthServer(opts: HealthServerOptions = {}): Promise<HealthServer> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.logger ?? silentLogger();
  const health = new Map<string, Check>([['ping', () => true], ...Object.entries(opts.healthChecks ?? {})]);
  const ready = new Map<string, Check>(Object.entries(opts.readyChecks ?? {}));
  const registry = opts.registry;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url.pathname === '/healthz' || url.pathname === '/readyz' || url.pathname === '/livez') {
      const { ok, lines } = await runChecks(url.pathname === '/readyz' ? ready : health);
      const verbose = url.searchParams.has('verbose') || !ok;
      const body = verbose ? `${lines.join('\n')}\n${url.pathname.slice(1)} check ${ok ? 'passed' : 'failed'}\n` : 'ok';
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(body);
      return;
    }
    if (url.pathname === '/metrics' && registry) {
      const text = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(text);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err: err instanceof Error ? err.message : String(err), path: req.url }, 'health server error');
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  // Probes are tiny; do not let an idle keep-alive socket hold shutdown up.
  server.keepAliveTimeout = 5_000;
  const { port, url } = await listenOn(server, host, opts.port ?? 8081);
  log.info({ host, port }, 'health and metrics server listening');
  return {
    server,
    host,
    port,
    url,
    addHealthCheck: (name, check) => void health.set(name, check),
    addReadyCheck: (name, check) => void ready.set(name, check),
    close: () => closeNow(server),
  };
}
