// What the gRPC Check tests share (in-process and against the spawned
// process): a real Check client (@grpc/grpc-js with the test .proto loaded by
// @grpc/proto-loader), and test certificates made with openssl (P-256, 2
// days): a CA, certificates it signs with the extensions asked for, and
// self-signed strangers.
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { startAuthz, type AuthzOptions, type RunningAuthz } from '../../../gateway/gateway.ts';
import type { GrpcTls } from '../../../gateway/authz-grpc.ts';
import type { PlatformSettings } from '../../../api/platform.ts';
import { silent, type ConfigDir } from './fixtures.ts';

const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto');

/** A new temporary directory holding the proxy's token in `token` (what startGrpcAuthz reads). */
export async function tokenDir(name: string, token: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `crossgate-${name}-`));
  await writeFile(join(dir, 'token'), `${token}\n`);
  return dir;
}

/** A gRPC message as sent on the wire: the 5-byte prefix (flag 1: compressed) and the payload. */
export function grpcFrame(payload: Buffer, flag = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/**
 * crossgate-authz on free ports with the gRPC listener (TLS when `tls` is
 * given), reading `cfg`, the proxy's token in dir/token; resolves once the
 * config is loaded.
 */
export async function startGrpcAuthz(cfg: ConfigDir, dir: string, opts: { tls?: GrpcTls; trustedProxies?: string[]; platform?: PlatformSettings } = {}): Promise<RunningAuthz> {
  const options: AuthzOptions = {
    admin: { host: '127.0.0.1', port: 0 },
    listen: { host: '127.0.0.1', port: 0 },
    grpc: { listen: { host: '127.0.0.1', port: 0 }, ...(opts.tls ? { tls: opts.tls } : {}) },
    source: { kind: 'directory' as const, dir: cfg.dir, gateway: cfg.gateway, rescanMs: 200, debounceMs: 10 },
    logger: silent(),
    configDebounceMs: 5,
    tokenFile: join(dir, 'token'),
    ...(opts.trustedProxies ? { trustedProxies: opts.trustedProxies } : {}),
    ...(opts.platform ? { platform: opts.platform } : {}),
  };
  const authz = await startAuthz(options);
  await authz.sourceStarted;
  for (let i = 0; i < 200 && !authz.loader.current; i++) await new Promise((r) => setTimeout(r, 10));
  if (!authz.loader.current) {
    await authz.stop(0);
    throw new Error('authz did not load the config');
  }
  return authz;
}

const def = loadSync('envoy/service/auth/v3/external_auth.proto', { includeDirs: [PROTO_DIR], keepCase: true, longs: Number, enums: Number, defaults: true, oneofs: true });
export const Authorization = (grpc.loadPackageDefinition(def) as any).envoy.service.auth.v3.Authorization as new (target: string, creds: grpc.ChannelCredentials, opts?: object) => grpc.Client & {
  Check(req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: any) => void): void;
};

export type Client = InstanceType<typeof Authorization>;

/** One Check call; `token`: the authorization metadata's bearer token, null for none. */
export function check(client: Client, req: unknown, token: string | null): Promise<any> {
  const md = new grpc.Metadata();
  if (token !== null) md.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) => client.Check(req, md, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res))));
}

/** A CheckRequest as Envoy sends it: the route in context_extensions (none when undefined), the client's request and source address. */
export function checkReq(routeId: string | undefined, path: string, headers: Record<string, string> = {}, address = '198.51.100.9', method = 'GET'): unknown {
  return {
    attributes: {
      source: { address: { socket_address: { address, port_value: 50000 } } },
      request: { http: { method, path, host: 'api.example', scheme: 'https', headers: { ':authority': 'api.example', ...headers } } },
      context_extensions: routeId === undefined ? {} : { 'crossgate-route': routeId },
    },
  };
}

/** checkReq with the request's host (attributes.request.http.host and :authority) given. */
export function checkReqOnHost(routeId: string, host: string, path: string, headers: Record<string, string> = {}): unknown {
  const req = checkReq(routeId, path, headers) as { attributes: { request: { http: { host: string; headers: Record<string, string> } } } };
  req.attributes.request.http.host = host;
  req.attributes.request.http.headers[':authority'] = host;
  return req;
}

/** A Check client over TLS to `target` (host:port; server name localhost) trusting dir/ca.crt, with dir/<name>.crt as its client certificate, or none. */
export function tlsClient(target: string, dir: string, name?: string): Client {
  const ca = readFileSync(join(dir, 'ca.crt'));
  const key = name ? readFileSync(join(dir, `${name}.key`)) : null;
  const cert = name ? readFileSync(join(dir, `${name}.crt`)) : null;
  return new Authorization(target, grpc.credentials.createSsl(ca, key, cert), { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' });
}

export interface CertSpec {
  /** File stem: <name>.crt and <name>.key in the directory. */
  name: string;
  cn: string;
  /** openssl x509 extension lines, e.g. "subjectAltName=IP:127.0.0.1,DNS:localhost"; absent: a self-signed certificate of another CA. */
  ext?: string;
}

/** ca.crt/ca.key and each spec's <name>.crt/<name>.key in `dir`; throws when openssl is missing (callers skip). */
export function makeCerts(dir: string, specs: readonly CertSpec[]): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=test-ca', '-keyout', 'ca.key', '-out', 'ca.crt');
  for (const s of specs) {
    if (s.ext === undefined) {
      ssl('req', '-x509', ...ec, '-days', '2', '-subj', `/CN=${s.cn}`, '-keyout', `${s.name}.key`, '-out', `${s.name}.crt`);
      continue;
    }
    ssl('req', ...ec, '-subj', `/CN=${s.cn}`, '-keyout', `${s.name}.key`, '-out', `${s.name}.csr`);
    writeFileSync(join(dir, `${s.name}.ext`), `${s.ext}\n`);
    ssl('x509', '-req', '-in', `${s.name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${s.name}.ext`, '-out', `${s.name}.crt`);
  }
}

/** The serving certificate of authz on 127.0.0.1 / localhost. */
export const SERVER_CERT: CertSpec = { name: 'server', cn: 'crossgate-authz', ext: 'subjectAltName=IP:127.0.0.1,DNS:localhost' };
