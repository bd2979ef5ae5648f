// The admin port (separate from traffic):
//   /healthz  the process answers
//   /readyz   a config is loaded (until then the data port answers 503 problems)
//   /metrics  Prometheus text
//   /summary  per API over the last 5 minutes (or ?windowSeconds=N): requests, 4xx/5xx, error %,
//             mean and max latency, responses by status code, policy refusals by type, and the
//             routes this replica serves (JSON)
//   /summary/day  per API over the day ring (api/analytics.ts DaySummary): requests, 4xx/5xx,
//             latency histogram, per-client figures, last request, and the routes served
//   /configz  the config in force: gateway, generation, routes, credential
//             count, why newer parts are not in force (no key hashes, no secrets)
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { LoaderStatus } from './config-source/loader.ts';
import type { GatewayMetrics } from './metrics.ts';
import { bind, closeNow } from '../kube/listen.ts';

export interface AdminServerOptions {
  host?: string;
  port?: number;
  metrics: GatewayMetrics;
  ready: () => boolean;
  status: () => LoaderStatus & { counterStore: string; routeIds: string[] };
  /** Ids of the routes served (loaded, not withheld): how the operator tells Unregistered from Inactive. */
  routes: () => string[];
  logger: Logger;
}

export interface AdminServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const json = (body: unknown) => JSON.stringify(body, null, 2) + '\n';
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    switch (path) {
      case '/healthz':
      case '/livez':
        return send(200, 'text/plain; charset=utf-8', 'ok\n');
      case '/readyz': {
        const ok = opts.ready();
        return send(ok ? 200 : 503, 'text/plain; charset=utf-8', ok ? 'ok\n' : 'no gateway config loaded yet\n');
      }
      case '/metrics':
        opts.metrics.registry.metrics().then(
          (text) => send(200, opts.metrics.registry.contentType, text),
          (err: unknown) => {
            opts.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'metrics collection failed');
            send(500, 'text/plain', 'metrics failed\n');
          },
        );
        return;
      case '/summary': {
        // ?windowSeconds=N: the last N seconds only (Alerts), else the whole 5-minute window.
        const w = Number(new URL(req.url ?? '/', 'http://admin').searchParams.get('windowSeconds'));
        return send(200, 'application/json', json({ ...opts.metrics.recent.summary(Date.now(), Number.isFinite(w) && w > 0 ? w : undefined), routes: opts.routes() }));
      }
      case '/summary/day':
        return send(200, 'application/json', json(opts.metrics.day.summary(Date.now(), opts.routes())));
      case '/configz':
        return send(200, 'application/json', json(opts.status()));
      default:
        return send(404, 'text/plain', 'not found\n');
    }
  });
  server.keepAliveTimeout = 5_000;
  return { ...(await bind(server, opts, 9090)), close: () => closeNow(server) };
}
