// Shared helpers for the gateway tests (unit and the standalone e2e): config
// fixtures, a loopback upstream that echoes what it received, an in-process
// gateway over a config directory.
import { ENV_CLUSTER_CIDRS, ENV_LOOPBACK_UPSTREAMS, platformSettingsFromEnv } from '../../../api/platform.ts';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { generateApiKey, generateClientId, generateClientSecret, hashApiKey } from '../../../api/credential-format.ts';
import type { Credential, Grant, PolicyEntry, Route, Tier } from '../../../api/gateway/config.ts';
import { renderParts, writeParts, type ConfigInput, type RenderedPart } from '../../../gateway/config-source/write.ts';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../../gateway/gateway.ts';
import type { AccessLogger } from '../../../gateway/logger.ts';

export const GATEWAY = 'test-gw';

export function route(id: string, over: Partial<Omit<Route, 'upstream'>> & { upstream?: Partial<Route['upstream']> } = {}): Route {
  const { upstream, ...rest } = over;
  return {
    id,
    hostnames: [],
    basePath: `/${id.split('/').pop()}`,
    policies: [],
    tiers: [],
    ...rest,
    upstream: { url: 'http://127.0.0.1:9', timeoutMs: 2000, ...upstream },
  };
}

let order = 0;
export function policy(type: PolicyEntry['type'], config: Record<string, unknown> = {}, name?: string, ord?: number): PolicyEntry {
  order++;
  return { name: name ?? `ns/${type}-${order}`, type, order: ord ?? order, config };
}

export const gold: Tier = { name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] };

/** An api-key credential for one route (its one grant's fields may be given flat). */
export function cred(routeId: string, over: Partial<Omit<Credential, 'grants'> & Omit<Grant, 'routes'>> = {}): Credential {
  const { contract = `${routeId}-contract`, tier = 'gold', endpoints, ...rest } = over;
  return { kind: 'api-key', client: 'consumer/app', ...rest, grants: [{ routes: [routeId], contract, tier, ...(endpoints ? { endpoints } : {}) }] };
}

/** A client-secret credential of an Application: `clientId`, one grant per entry of `grants` (flat fields of cred() for one route). */
export function clientCred(clientId: string, grants: Grant[], over: Partial<Omit<Credential, 'grants' | 'kind' | 'clientId'>> = {}): Credential {
  return { kind: 'client-secret', client: 'consumer/portal', clientId, ...over, grants };
}

/** A fresh client ID (cgc_<22 base64url>) and client secret (cgs_<43 base64url>_<crc32>), with the secret's hash. */
export function newClient(): { id: string; secret: string; hash: string } {
  const id = generateClientId();
  const secret = generateClientSecret();
  return { id, secret, hash: hashApiKey(secret) };
}

/** An Authorization header value with Basic client credentials. */
export const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** A fresh key and its hash. */
export function newKey(): { key: string; hash: string } {
  const key = generateApiKey();
  return { key, hash: hashApiKey(key) };
}

export function silent(): Logger {
  return pino({ level: 'silent' });
}

/** A config directory that remembers what it last wrote, so updates rewrite only changed parts. */
export class ConfigDir {
  readonly dir: string;
  gateway: string;
  generation = 0;
  routes: Route[] = [];
  credentials: Record<string, Credential> = {};
  #last: RenderedPart[] | undefined;

  private constructor(dir: string, gateway: string) {
    this.dir = dir;
    this.gateway = gateway;
  }

  static async create(gateway = GATEWAY): Promise<ConfigDir> {
    return new ConfigDir(await mkdtemp(join(tmpdir(), 'crossgate-gw-')), gateway);
  }

  input(): ConfigInput {
    return { gateway: this.gateway, generation: this.generation, routes: this.routes, credentials: this.credentials };
  }

  /** Renders the next generation and writes the parts that changed (Manifest last). */
  async write(): Promise<string[]> {
    this.generation++;
    const parts = renderParts(this.input(), this.#last);
    const written = await writeParts(this.dir, parts, this.#last);
    this.#last = parts;
    return written;
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Upstream {
  server: Server;
  url: string;
  port: number;
  /** "127.0.0.1:<port>", the pair a gateway must allow to reach it. */
  hostPort: string;
  received: Received[];
  close(): Promise<void>;
}

/**
 * A loopback upstream. Default handler: 200 JSON echo of method, url, headers and body.
 * Paths starting with /slow wait ?ms=N before answering.
 */
export async function startUpstream(handler?: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<Upstream> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (handler) return handler(req, res, body);
      const send = () => {
        const out = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes', connection: 'keep-alive', 'keep-alive': 'timeout=5' });
        res.end(out);
      };
      const m = /^\/[^?]*slow[^?]*\?ms=(\d+)/.exec(req.url ?? '');
      if (m) setTimeout(send, Number(m[1]));
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/**
 * An in-process gateway on 127.0.0.1 (random ports) over a config directory.
 * `loopbackUpstreams`: the exact "host:port" pairs of the test's upstreams (start them first): the gateway connects to no other loopback address.
 * `clusterCidrs`: CROSSGATE_CLUSTER_CIDRS.
 */
export async function startDirGateway(
  cfg: ConfigDir,
  over: { logger?: Logger; redisUrl?: string; accessLog?: boolean; accessLogger?: AccessLogger; loopbackUpstreams?: string[]; trustedProxies?: string[]; clusterCidrs?: string[]; upstreamConnections?: number; clientTimeouts?: GatewayOptions['clientTimeouts'] } = {},
): Promise<RunningGateway> {
  const gw = await startGateway({
    platform: platformSettingsFromEnv({ [ENV_LOOPBACK_UPSTREAMS]: (over.loopbackUpstreams ?? []).join(','), [ENV_CLUSTER_CIDRS]: (over.clusterCidrs ?? []).join(',') }),
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    source: { kind: 'directory', dir: cfg.dir, gateway: cfg.gateway, rescanMs: 200, debounceMs: 10 },
    logger: over.logger ?? silent(),
    accessLog: over.accessLog ?? false,
    accessLogger: over.accessLogger,
    redisUrl: over.redisUrl,
    configDebounceMs: 5,
    trustedProxies: over.trustedProxies,
    upstreamConnections: over.upstreamConnections,
    clientTimeouts: over.clientTimeouts,
  });
  await gw.sourceStarted;
  return gw;
}

/** Waits until the gateway serves `generation` (or later). */
export async function waitForGeneration(gw: RunningGateway, generation: number, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while ((gw.loader.current?.generation ?? -1) < generation) {
    if (Date.now() - start > timeoutMs) throw new Error(`generation ${generation} not loaded after ${timeoutMs} ms (serving ${gw.loader.current?.generation}, pending: ${gw.loader.status().pending})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export { hashApiKey };

/** The routes both check protocols are tested on (authz.test.ts, authz-grpc.test.ts): keys with a tier and a header injection, a two-per-hour tier, an IP blocklist. */
/** The two credentials the check tests use on checkRoutes(): `key` opens air/flights (gold), `limited` air/limited (bronze). */
export function checkCredentials(key: { hash: string }, limited: { hash: string }): Record<string, Credential> {
  return {
    [key.hash]: cred('air/flights', { contract: 'air/c-main', client: 'buyer/portal' }),
    [limited.hash]: cred('air/limited', { contract: 'air/c-limited', client: 'buyer/batch', tier: 'bronze' }),
  };
}

export function checkRoutes(): Route[] {
  return [
    route('air/flights', {
      basePath: '/flights',
      tiers: [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }],
      policies: [policy('api-key', {}, 'air/key', 10), policy('header-injection', { request: { set: { 'x-env': 'prod' }, remove: ['x-debug'] } }, 'air/hi', 20)],
    }),
    route('air/limited', { basePath: '/limited', tiers: [{ name: 'bronze', limits: [{ requests: 2, periodSeconds: 3600 }] }], policies: [policy('api-key', {}, 'air/limited-key')] }),
    route('air/edge', { basePath: '/edge', policies: [policy('ip-blocklist', { cidrs: ['203.0.113.0/24'] }, 'air/block')] }),
  ];
}
