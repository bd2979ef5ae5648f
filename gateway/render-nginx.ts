// `crossgate render nginx`: an nginx configuration serving the routes of a
// gateway config through nginx, every request checked by crossgate-authz
// (auth_request) before nginx proxies it to the route's upstream.
//
//   node gateway/render-nginx.ts --config-dir DIR --gateway NAME --authz 127.0.0.1:9191 \
//     --listen 127.0.0.1:8080 --token-file TOKEN --out OUTDIR
//   (--authz unix:/run/crossgate/authz.sock: authz beside nginx in one pod, over a unix socket)
//   (npm run render:nginx -- …; in the image: node gateway/render-nginx.js …)
//
// Writes OUTDIR/crossgate.conf (server blocks, to be included in nginx's
// `http {}`) and OUTDIR/crossgate-authz-token.conf (mode 0600: the proxy's
// token, included by the first; keep it as secret as the token). Routes that
// cannot be rendered safely are left out and listed, with the reason, on
// stderr (JSON), never in the config.
//
// The config text is built ONLY from typed, validated values: hostnames and
// base paths must match the CRDs' own patterns (api/v1alpha1/common.ts),
// route ids, header names, the upstream's host, port and path stricter ones
// still; anything else is refused for that route. No tenant string is ever
// pasted into the text unchecked (the ingress-nginx annotation CVEs came from
// that), and no refusal reason is written into it either.
//
// nginx's auth_request passes only 2xx, 401 and 403 (anything else becomes a
// 500), so crossgate-authz answers nginx with 401 or 403 and the real status
// in X-Crossgate-Status and the RFC 9457 body in X-Crossgate-Problem
// (authz.ts); the named location @crossgate_denied answers the client with
// that status, that body, Retry-After and the RateLimit headers.
//
// Access log (--access-log IP:PORT, default authz's host (127.0.0.1 with a unix socket) and port 5514, "off"
// for none; file:/path: a file in the volume shared with authz beside nginx,
// written buffer=32k flush=1s, which authz tails, authz-log-file.ts): every
// request of a rendered route is logged, as syslog over UDP,
// to crossgate-authz's receiver (authz-log.ts) or to that file, in the fixed JSON format
// crossgate_authz: the route id (set per location from the validated id), the
// client id authz returned, the status, the upstream's status, the request and
// upstream times. No URI, no query string, no header, never a key. authz turns
// the lines into the per-API and per-client metrics and /summary the gateway
// serves.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ipaddr from 'ipaddr.js';
import type { ApiKeyPolicyConfig, ClientIdEnforcementPolicyConfig, HeaderInjectionPolicyConfig, JwtValidationPolicyConfig } from '../api/policies.ts';
import type { Route } from '../api/gateway/config.ts';
import { HOSTNAME_PATTERN, PATH_PREFIX_PATTERN } from '../api/v1alpha1/common.ts';
import { hasDotSegments } from './decision.ts';
import { UNIX_PREFIX, unixSocketPath } from '../kube/listen.ts';
import { accessLogFilePath, FILE_PREFIX } from './authz-log-file.ts';
import { pino } from 'pino';
import { ConfigAssembler } from './config-source/assembler.ts';
import { MemoryCounterStore } from './counters/memory.ts';
import { compileRoutes } from './policies/index.ts';
import { JwksCache } from './policies/jwt-validation.ts';

const HOSTNAME = new RegExp(HOSTNAME_PATTERN);
const PATH_PREFIX = new RegExp(PATH_PREFIX_PATTERN);
/** namespace/name, both RFC 1123 labels or subdomains. */
const ROUTE_ID = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Header names rendered into the config: lower-case letters, digits and "-" only (stricter than an HTTP token). */
const HEADER_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** An upstream path: the base-path alphabet, segments only. */
const UPSTREAM_PATH = /^(\/[A-Za-z0-9._~!&*+,=:@-]+)*$/;
/** What the proxy's token may hold (it is written into the token file's config text). */
const TOKEN = /^[A-Za-z0-9._~+/=-]{16,512}$/;
/** Internal locations live under this prefix; a route there is refused. */
export const INTERNAL_PREFIX = '/_crossgate_authz';
/** The statuses a refusal can carry, each answered by @crossgate_denied. */
const DENY_STATUSES = [400, 401, 403, 404, 421, 429, 500, 502, 503, 504];

export interface Skipped {
  route: string;
  reason: string;
}

export interface RenderOptions {
  /** crossgate-authz's address: an IP address (v4 or v6) and a port, or the path of its unix socket (authz beside nginx). */
  authz: { host: string; port: number } | { path: string };
  /** Where nginx listens: an IP address and a port. */
  listen: { host: string; port: number };
  /** Path of the token snippet nginx includes (crossgate-authz-token.conf). */
  tokenInclude: string;
  /** crossgate-authz's access-log receiver (UDP syslog): an IP address and a port, or a file authz tails (beside nginx, the shared emptyDir); absent: no access log rendered. */
  accessLog?: { host: string; port: number } | { path: string };
}

/** The fixed access-log format authz parses (authz-log.ts): JSON-escaped values only, no URI, query or header. */
export const LOG_FORMAT =
  `log_format crossgate_authz escape=json '{"v":"1","route":"$cg_route","client":"$cg_client","status":"$status",` +
  `"upstreamStatus":"$upstream_status","requestTime":"$request_time","upstreamTime":"$upstream_response_time"}';`;

export interface Rendered {
  text: string;
  rendered: string[];
  skipped: Skipped[];
}

class Refused extends Error {}

function refuse(reason: string): never {
  throw new Refused(reason);
}

/** A quoted nginx string of an already validated value; checked once more so nothing that could end the string or start a variable gets through. */
function q(v: string): string {
  if (!/^[A-Za-z0-9._~!&*+,=:@/\[\]-]*$/.test(v)) throw new Error(`internal: unvalidated value reached the nginx text: ${JSON.stringify(v)}`);
  return `"${v}"`;
}

function ipLiteral(host: string): string {
  if (!ipaddr.isValid(host)) refuse('not an IP address');
  const a = ipaddr.parse(host);
  return a.kind() === 'ipv6' ? `[${a.toString()}]` : a.toString();
}

function port(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) refuse('not a port');
  return n;
}

/** scheme://host:port and the path of the route's upstream, each validated. */
export function upstreamOf(url: string): { origin: string; path: string; scheme: 'http' | 'https'; hostPort: string; hostHeader: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return refuse('the upstream is not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') refuse('the upstream is not http or https');
  if (u.username || u.password || u.search || u.hash) refuse('the upstream carries credentials, a query or a fragment');
  let host = u.hostname;
  if (host.startsWith('[')) host = ipLiteral(host.slice(1, -1));
  else if (ipaddr.IPv4.isValidFourPartDecimal(host)) host = ipLiteral(host);
  else if (!HOSTNAME.test(host) || host.startsWith('*.') || host.length > 253) refuse('the upstream host is not a hostname or an IP address');
  const p = u.port ? port(Number(u.port)) : u.protocol === 'https:' ? 443 : 80;
  const path = u.pathname.replace(/\/+$/, '');
  if (!UPSTREAM_PATH.test(path) || hasDotSegments(path) || path.length > 1024) refuse('the upstream path has characters or segments outside the base-path alphabet');
  const scheme = u.protocol === 'https:' ? 'https' : 'http';
  const defaultPort = scheme === 'https' ? 443 : 80;
  return { origin: `${u.protocol}//${host}:${p}`, path, scheme, hostPort: `${host}:${p}`, hostHeader: p === defaultPort ? host : `${host}:${p}` };
}

function basePathOf(route: Route): string {
  const b = route.basePath;
  if (b.length > 256 || !PATH_PREFIX.test(b) || hasDotSegments(b)) refuse('the base path does not match the ApiInstance basePath pattern');
  if (b === INTERNAL_PREFIX || b.startsWith(`${INTERNAL_PREFIX}/`)) refuse(`the base path is under ${INTERNAL_PREFIX}, reserved for the authz check`);
  return b;
}

function hostnamesOf(route: Route): string[] {
  for (const h of route.hostnames) {
    if (h.length > 253 || !HOSTNAME.test(h) || h.split('.').some((l) => l.length > 63)) refuse('a hostname does not match the ApiInstance hostname pattern');
  }
  return [...route.hostnames];
}

function headerName(h: string): string {
  const n = h.toLowerCase();
  if (!HEADER_NAME.test(n)) refuse('a header name of a policy is not lower-case letters, digits and "-"');
  return n;
}

/** What nginx must not forward, and header-injection's request headers, from the route's typed policies. */
interface Headers {
  /** Headers removed upstream (the consumed credentials, header-injection's removals). */
  remove: Set<string>;
  /** Authorization is removed only when it carried Basic credentials. */
  removeBasic: boolean;
  /** header-injection's request sets: the value comes from authz per request, the name from here. */
  set: string[];
  notes: string[];
}

function headersOf(route: Route): Headers {
  const h: Headers = { remove: new Set(), removeBasic: false, set: [], notes: [] };
  for (const p of route.policies) {
    switch (p.type) {
      case 'api-key': {
        const c = p.config as ApiKeyPolicyConfig;
        if (c.queryParameter) refuse('an api-key in a query parameter: nginx would forward it upstream');
        h.remove.add(headerName(c.header ?? 'x-api-key'));
        break;
      }
      case 'client-id-enforcement': {
        const c = p.config as ClientIdEnforcementPolicyConfig;
        h.remove.add(headerName(c.clientIdHeader ?? 'x-client-id'));
        h.remove.add(headerName(c.clientSecretHeader ?? 'x-client-secret'));
        if (c.allowBasicAuth !== false) h.removeBasic = true;
        break;
      }
      case 'jwt-validation': {
        const c = p.config as JwtValidationPolicyConfig;
        if (!c.forwardToken) h.remove.add(headerName(c.header ?? 'authorization'));
        break;
      }
      case 'header-injection': {
        const c = p.config as HeaderInjectionPolicyConfig;
        for (const name of Object.keys(c.request?.set ?? {})) h.set.push(headerName(name));
        for (const name of c.request?.remove ?? []) h.remove.add(headerName(name));
        if (c.response) h.notes.push('header-injection on responses is not applied by nginx');
        break;
      }
      case 'cors':
        h.notes.push('CORS is not answered by nginx here: preflights reach crossgate-authz as requests');
        break;
      default:
        break;
    }
  }
  for (const s of h.set) h.remove.delete(s);
  return h;
}

interface Location {
  id: string;
  basePath: string;
  body: string;
}

/** Upstream blocks by host:port, so nginx keeps connections to each upstream open (a bare proxy_pass address opens one per request). */
type Upstreams = Map<string, string>;

function upstreamName(upstreams: Upstreams, hostPort: string): string {
  let name = upstreams.get(hostPort);
  if (!name) upstreams.set(hostPort, (name = `crossgate_upstream_${upstreams.size}`));
  return name;
}

function routeLocations(route: Route, index: number, o: RenderOptions, upstreams: Upstreams): { locations: Location[]; check: string; notes: string[] } {
  if (!ROUTE_ID.test(route.id)) refuse('the route id is not namespace/name');
  const basePath = basePathOf(route);
  const checkPath = `${INTERNAL_PREFIX}/${index}`;
  const check = [
    `    location = ${q(checkPath)} {`,
    '        internal;',
    // The check is a subrequest: it shares the request's variables and runs the server-level `set $cg_route ""` again.
    `        set $cg_route ${q(route.id)};`,
    '        proxy_pass http://crossgate_authz/v1/nginx;',
    '        proxy_http_version 1.1;',
    '        proxy_pass_request_body off;',
    '        proxy_set_header Content-Length "";',
    '        proxy_set_header Connection "";',
    `        proxy_set_header X-Crossgate-Route ${q(route.id)};`,
    '        proxy_set_header X-Crossgate-Authz $crossgate_authz_token;',
    '        proxy_set_header X-Original-URI $request_uri;',
    '        proxy_set_header X-Original-Method $request_method;',
    // The request's host (nginx's $host: lower case, no port), which authz checks the route is served on.
    '        proxy_set_header X-Original-Host $host;',
    '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '    }',
  ].join('\n');
  if (route.withheld) {
    const body = (): string =>
      [
        `        set $cg_route ${q(route.id)};`,
        '        default_type application/problem+json;',
        '        add_header Cache-Control no-store always;',
        // A constant of ours, never the route's reason or message.
        `        return 503 '{"type":"https://crossgate.dev/problems/route-withheld","title":"Service Unavailable","status":503,"detail":"This API is held closed by its configuration; its owner sees why on the ApiInstance."}';`,
      ].join('\n');
    return { locations: locationsFor(route.id, basePath, body), check, notes: ['withheld: answered 503 by nginx'] };
  }
  const up = upstreamOf(route.upstream.url);
  const h = headersOf(route);
  const upstream = upstreamName(upstreams, up.hostPort);
  const timeout = Math.max(1, Math.ceil(route.upstream.timeoutMs / 1000));
  const body = (exact: boolean): string => {
    const lines = [
      `        set $cg_route ${q(route.id)};`,
      `        auth_request ${q(checkPath)};`,
      '        auth_request_set $cg_client $upstream_http_x_crossgate_client;',
      '        auth_request_set $cg_status $upstream_http_x_crossgate_status;',
      '        auth_request_set $cg_problem $upstream_http_x_crossgate_problem;',
      '        auth_request_set $cg_retry_after $upstream_http_retry_after;',
      '        auth_request_set $cg_ratelimit $upstream_http_ratelimit;',
      '        auth_request_set $cg_ratelimit_policy $upstream_http_ratelimit_policy;',
      '        error_page 401 403 = @crossgate_denied;',
      '        add_header RateLimit $cg_ratelimit always;',
      '        add_header RateLimit-Policy $cg_ratelimit_policy always;',
      '        proxy_http_version 1.1;',
      '        proxy_set_header Connection "";',
      // The upstream's own host (what a bare proxy_pass would send), not the upstream block's name.
      `        proxy_set_header Host ${q(up.hostHeader)};`,
      '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      '        proxy_set_header X-Forwarded-Proto $scheme;',
      '        proxy_set_header X-Forwarded-Host $host;',
      // The identity only as authz said; an empty value drops a client's own.
      '        proxy_set_header X-Crossgate-Client $cg_client;',
      '        proxy_set_header X-Crossgate-Route "";',
      '        proxy_set_header X-Crossgate-Authz "";',
    ];
    for (const name of [...h.remove].sort()) lines.push(`        proxy_set_header ${q(name)} "";`);
    if (h.removeBasic && !h.remove.has('authorization')) lines.push('        proxy_set_header Authorization $crossgate_authorization_not_basic;');
    h.set.forEach((name, i) => {
      const v = `$cg_set_${index}_${i}`;
      lines.push(`        auth_request_set ${v} $upstream_http_${name.replace(/-/g, '_')};`, `        proxy_set_header ${q(name)} ${v};`);
    });
    lines.push(`        proxy_connect_timeout ${timeout}s;`, `        proxy_read_timeout ${timeout}s;`);
    // `= /base` goes to the upstream path itself; `/base/…` keeps what follows the base path.
    lines.push(`        proxy_pass ${up.scheme}://${upstream}${exact ? up.path || '/' : `${up.path}/`};`);
    return lines.join('\n');
  };
  return { locations: locationsFor(route.id, basePath, body), check, notes: h.notes };
}

function locationsFor(id: string, basePath: string, body: (exact: boolean) => string): Location[] {
  if (basePath === '/') return [{ id, basePath: '/', body: `    location / {\n${body(false)}\n    }` }];
  return [
    { id, basePath, body: `    location = ${q(basePath)} {\n${body(true)}\n    }\n    location ^~ ${q(`${basePath}/`)} {\n${body(false)}\n    }` },
  ];
}

/** The answer where no route is served (the gateway's own 404 problem, constant). */
const NOT_FOUND = [
  '    location / {',
  '        default_type application/problem+json;',
  '        add_header Cache-Control no-store always;',
  `        return 404 '{"type":"https://crossgate.dev/problems/not-found","title":"Not Found","status":404,"detail":"No API is served at this host and path."}';`,
  '    }',
].join('\n');

const DENIED = [
  '    location @crossgate_denied {',
  '        default_type application/problem+json;',
  '        add_header Cache-Control no-store always;',
  '        add_header Retry-After $cg_retry_after always;',
  '        add_header RateLimit $cg_ratelimit always;',
  '        add_header RateLimit-Policy $cg_ratelimit_policy always;',
  ...DENY_STATUSES.map((s) => `        if ($cg_status = ${s}) { return ${s} $cg_problem; }`),
  // No status from authz: it refused nginx itself (wrong token) or failed.
  '        return 500;',
  '    }',
].join('\n');

function restore(upstreams: Upstreams, before: Upstreams): void {
  upstreams.clear();
  for (const [k, v] of before) upstreams.set(k, v);
}

/** The access_log line: syslog over UDP (one datagram a request), or a file written 32 KiB at a time (authz-log-file.ts tails it). */
function accessLogDirective(to: NonNullable<RenderOptions['accessLog']>): string {
  if ('path' in to) return `access_log ${accessLogFilePath(to.path)} crossgate_authz buffer=32k flush=1s if=$cg_route;`;
  return `access_log syslog:server=${ipLiteral(to.host)}:${port(to.port)},tag=crossgate,nohostname crossgate_authz if=$cg_route;`;
}

/** The nginx config for these routes (pure). */
export function renderNginx(routes: readonly Route[], o: RenderOptions): Rendered {
  const listen = `${ipLiteral(o.listen.host)}:${port(o.listen.port)}`;
  const authz = 'path' in o.authz ? `${UNIX_PREFIX}${unixSocketPath(o.authz.path)}` : `${ipLiteral(o.authz.host)}:${port(o.authz.port)}`;
  const logTo = o.accessLog ? accessLogDirective(o.accessLog) : undefined;
  if (!/^\/[A-Za-z0-9._/-]+$/.test(o.tokenInclude)) throw new Error('the token include path must be absolute, of letters, digits, ".", "_", "-" and "/"');
  const skipped: Skipped[] = [];
  const rendered: string[] = [];
  // host → basePath → locations; anyHost: the routes without hostnames, served on the default server only.
  const servers = new Map<string, Map<string, Location[]>>();
  const checks: string[] = [];
  const anyHost = new Map<string, Location[]>();
  const upstreams: Upstreams = new Map();
  const sorted = [...routes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  sorted.forEach((route, index) => {
    let r: { locations: Location[]; check: string; notes: string[] };
    let hosts: string[];
    // A route refused below must not leave its upstream block behind.
    const before = new Map(upstreams);
    try {
      hosts = hostnamesOf(route);
      r = routeLocations(route, index, o, upstreams);
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      skipped.push({ route: route.id, reason: err.message });
      restore(upstreams, before);
      return;
    }
    const targets = hosts.length ? hosts.map((h) => servers.get(h) ?? servers.set(h, new Map()).get(h)!) : [anyHost];
    for (const t of targets) {
      if (t.has(r.locations[0]!.basePath)) {
        skipped.push({ route: route.id, reason: `base path ${route.basePath} already served on this host by ${t.get(r.locations[0]!.basePath)![0]!.id}` });
        restore(upstreams, before);
        return;
      }
    }
    for (const t of targets) t.set(r.locations[0]!.basePath, r.locations);
    checks.push(r.check);
    rendered.push(route.id);
    for (const n of r.notes) skipped.push({ route: route.id, reason: `rendered; ${n}` });
  });
  // A host some route names is its organization's (route claims): only its own routes answer there, never a
  // route without hostnames, which is the shared host's and may be another organization's (as the gateway's router).
  const server = (name: string | undefined, locs: Map<string, Location[]>): string => {
    const body = [...locs.keys()].sort().map((b) => locs.get(b)!.map((l) => l.body).join('\n'));
    return [
      'server {',
      name === undefined ? `    listen ${listen} default_server;` : `    listen ${listen};`,
      `    server_name ${name === undefined ? '_' : q(name)};`,
      '    absolute_redirect off;',
      // Empty unless a route's location sets them: a request no route matched is not logged.
      '    set $cg_route "";',
      '    set $cg_client "";',
      ...(logTo ? [`    ${logTo}`] : []),
      ...body,
      // What no route serves is a 404 problem, not nginx's own root.
      ...(locs.has('/') ? [] : [NOT_FOUND]),
      ...checks,
      DENIED,
      '}',
    ].join('\n');
  };
  const text = [
    '# Rendered by crossgate (gateway/render-nginx.ts) from the gateway config; do not edit.',
    `include ${o.tokenInclude};`,
    'upstream crossgate_authz {',
    `    server ${authz};`,
    '    keepalive 32;',
    '}',
    ...[...upstreams].map(([hostPort, name]) => `upstream ${name} {\n    server ${hostPort};\n    keepalive 32;\n}`),
    '# Authorization is dropped upstream only when it carried Basic client credentials.',
    'map $http_authorization $crossgate_authorization_not_basic {',
    '    "~*^basic\\s" "";',
    '    default $http_authorization;',
    '}',
    ...(logTo ? [LOG_FORMAT] : []),
    server(undefined, anyHost),
    ...[...servers.keys()].sort().map((h) => server(h, servers.get(h)!)),
    '',
  ].join('\n');
  return { text, rendered, skipped };
}

/** The token snippet (http level): a map, so the token is in one file only. */
export function renderTokenInclude(token: string): string {
  if (!TOKEN.test(token)) throw new Error('the authz token must be 16 to 512 characters of letters, digits and ._~+/=-');
  return `map $host $crossgate_authz_token {\n    default "Bearer ${token}";\n}\n`;
}

/** The routes of a gateway config directory (what the gateway reads), through the gateway's own validation. */
export async function routesOfDirectory(dir: string, gateway: string): Promise<Route[]> {
  const logger = pino({ level: 'silent' });
  const deps = { counters: new MemoryCounterStore(), jwks: new JwksCache(), logger };
  const asm = new ConfigAssembler({ gateway, compileRoutes: (part) => compileRoutes(part, deps), partGraceMs: 0 });
  for (const f of readdirSync(dir)) if (f.endsWith('.json') && !f.startsWith('.')) asm.set(f.slice(0, -5), readFileSync(join(dir, f), 'utf8'));
  const r = asm.assemble();
  await deps.counters.close();
  if (r.status !== 'loaded') throw new Error(`no gateway config ${gateway} in ${dir}: ${r.status === 'pending' ? r.reason : r.status}`);
  // A route the gateway could not compile is held closed there: here too.
  return r.config.routes.routes.map((c) => (c.withheld && !c.source.withheld ? { ...c.source, withheld: c.withheld } : c.source));
}

/** --authz: IP:port, or unix:/path (a socket; kube/listen.ts checks the path, which is then safe in nginx's text). */
function authzAddress(v: string): RenderOptions['authz'] {
  return v.startsWith(UNIX_PREFIX) ? { path: unixSocketPath(v) } : hostPort(v, '--authz');
}

function hostPort(v: string, what: string): { host: string; port: number } {
  const m = /^\[?([0-9a-fA-F:.]+)\]?:(\d+)$/.exec(v);
  if (!m) throw new Error(`${what}: expected IP:port, got ${JSON.stringify(v)}`);
  return { host: m[1]!, port: Number(m[2]) };
}

/** --access-log: IP:PORT (UDP, the default authz's host and 5514), file:/path (a file in the volume shared with authz) or off. */
export function accessLogOf(v: string | undefined, logHost: string): RenderOptions['accessLog'] {
  if (v === 'off') return undefined;
  if (v === undefined) return { host: logHost, port: 5514 };
  return v.startsWith(FILE_PREFIX) ? { path: accessLogFilePath(v) } : hostPort(v, '--access-log');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'config-dir': { type: 'string' },
      gateway: { type: 'string' },
      authz: { type: 'string' },
      listen: { type: 'string', default: '127.0.0.1:8080' },
      'token-file': { type: 'string' },
      'access-log': { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  if (!values['config-dir'] || !values.gateway || !values.authz || !values['token-file'] || !values.out) {
    throw new Error('usage: render-nginx --config-dir DIR --gateway NAME --authz IP:PORT|unix:/PATH --token-file FILE --out DIR [--listen IP:PORT] [--access-log IP:PORT|file:/PATH|off]');
  }
  const authz = authzAddress(values.authz);
  // The access log is UDP: beside nginx (a unix socket), authz receives it on loopback.
  const logHost = 'path' in authz ? '127.0.0.1' : authz.host;
  const accessLog = accessLogOf(values['access-log'], logHost);
  const routes = await routesOfDirectory(values['config-dir'], values.gateway);
  const out = values.out.startsWith('/') ? values.out : join(process.cwd(), values.out);
  const tokenInclude = join(out, 'crossgate-authz-token.conf');
  const r = renderNginx(routes, { authz, listen: hostPort(values.listen, '--listen'), tokenInclude, accessLog });
  mkdirSync(out, { recursive: true });
  writeFileSync(tokenInclude, renderTokenInclude(readFileSync(values['token-file'], 'utf8').trim()), { mode: 0o600 });
  writeFileSync(join(out, 'crossgate.conf'), r.text);
  process.stderr.write(`${JSON.stringify({ rendered: r.rendered, skipped: r.skipped })}\n`);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`render-nginx: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
