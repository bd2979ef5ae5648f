// Gateway benchmark (on demand, not in CI): `npm run bench:gateway`, or
//   PATH=$PWD/node_modules/.bin:$PATH node bench/gateway/run.ts [--profile]
//
// One upstream (bench/gateway/upstream.ts, its own process), and in front of
// it, one at a time:
//   direct                          no proxy
//   nginx                           Debian's nginx as a plain reverse proxy (1 worker, keep-alive upstream), if installed
//   gateway, no policies            the gateway as a plain reverse proxy
//   gateway, api-key, 1 key         key hashed and looked up, SLA tier counted
//   gateway, api-key, 10,000 keys   the same with 10,000 keys loaded (requests rotate over 100 of them)
//   nginx + authz, 1 key / 10,000   nginx (1 worker) with auth_request to crossgate-authz (`--mode=authz`),
//                                   the config written by `npm run render:nginx` (gateway/render-nginx.ts)
//                                   from the same config directories and keys as the gateway's api-key targets;
//                                   nginx ships its access log to authz (syslog/UDP, the analytics path) unless
//                                   BENCH_AUTHZ_ACCESS_LOG=off, or through a file authz tails with
//                                   BENCH_AUTHZ_ACCESS_LOG=file (the sidecar's shared emptyDir, authz-log-file.ts); nginx reaches authz's check port over loopback
//                                   TCP, or with BENCH_AUTHZ_SOCKET=unix over a unix socket (--listen unix:/path)
// Two measurements per target:
//   throughput  autocannon, BENCH_CONNECTIONS (32) connections for BENCH_DURATION (10) s: req/s, p50/p99 under load
//   latency     one connection, BENCH_LATENCY_REQUESTS (3000) sequential requests timed with hrtime: p50/p99 in µs
//   CPU/req     CPU time (/proc) of every process on the path (nginx: master + worker; the gateway;
//               crossgate-authz; the upstream) during the throughput run, per request, and their
//               sum: the figure least disturbed by other load on the machine
// Prints a markdown table and the ratios; writes bench/results/gateway-<time>.json.
// --profile runs the 10,000-key gateway under --cpu-prof and prints its top functions by self time;
// --profile-authz does the same for crossgate-authz behind nginx (10,000 keys);
// --only-authz measures only direct and the two nginx + authz targets.
// Everything listens on 127.0.0.1 and is stopped at the end, also on failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { generateApiKey, hashApiKey } from '../../api/credential-format.ts';
import type { Credential, Route } from '../../api/gateway/config.ts';
import { renderParts, writeParts } from '../../gateway/config-source/write.ts';
import { summarizeProfile } from './profile-top.ts';

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const env = process.env;
const DURATION = Number(env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 32);
const LAT_REQUESTS = Number(env.BENCH_LATENCY_REQUESTS ?? 3000);
const ACCESS_LOG = env.BENCH_ACCESS_LOG ?? 'true';
/**
 * BENCH_AUTHZ_ACCESS_LOG=off: the rendered nginx ships no access log to authz (its analytics path), to see what a check alone costs;
 * file: nginx writes it to a file in the bench's tmp dir (buffer=32k flush=1s) and authz tails it; default on (syslog over UDP).
 */
const AUTHZ_ACCESS_LOG = env.BENCH_AUTHZ_ACCESS_LOG === 'off' || env.BENCH_AUTHZ_ACCESS_LOG === 'file' ? env.BENCH_AUTHZ_ACCESS_LOG : 'on';
/** BENCH_AUTHZ_SOCKET=unix: authz's check port is a unix socket nginx connects to (authz beside nginx); default tcp (127.0.0.1). */
const AUTHZ_SOCKET = env.BENCH_AUTHZ_SOCKET ?? 'tcp';
if (AUTHZ_SOCKET !== 'tcp' && AUTHZ_SOCKET !== 'unix') throw new Error(`BENCH_AUTHZ_SOCKET: expected tcp or unix, got ${JSON.stringify(AUTHZ_SOCKET)}`);
const PROFILE = process.argv.includes('--profile');
const PROFILE_AUTHZ = process.argv.includes('--profile-authz');
/** --only-authz: direct and the two nginx + authz targets only (a shorter run when only authz changed). */
const ONLY_AUTHZ = process.argv.includes('--only-authz');
const AUTHZ_TOKEN = 'bench-proxy-token-0123456789abcdef';
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

const children: ChildProcess[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'crossgate-bench-'));
const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);

function cleanup(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

/** The head of every nginx config the bench runs: one worker, its files under prefix, no access log; the caller closes http { }. */
function nginxPreamble(prefix: string): string {
  return `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
`;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitHttp(url: string, timeoutMs = 20_000, proc?: ChildProcess): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (proc && proc.exitCode !== null) throw new Error(`the process serving ${url} exited with ${proc.exitCode}`);
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch {
      // not yet
    }
    if (Date.now() - start > timeoutMs) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
    c.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    c.kill('SIGTERM');
  });
}

async function startUpstream(): Promise<{ port: number; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [join(ROOT, 'bench/gateway/upstream.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (c) => reject(new Error(`upstream exited ${c}`)));
  });
  return { port: Number(line), proc };
}

interface Keys {
  keys: string[];
  credentials: Record<string, Credential>;
}

function makeKeys(n: number): Keys {
  const keys: string[] = [];
  const credentials: Record<string, Credential> = {};
  for (let i = 0; i < n; i++) {
    const key = generateApiKey();
    keys.push(key);
    credentials[hashApiKey(key)] = { kind: 'api-key', client: `consumer/app-${i}`, grants: [{ routes: ['bench/keyed'], contract: `bench/contract-${i}`, tier: 'bench' }] };
  }
  return { keys, credentials };
}

async function writeConfig(dir: string, upstreamPort: number, creds: Keys): Promise<void> {
  const upstream = { url: `http://127.0.0.1:${upstreamPort}/api`, timeoutMs: 10_000 };
  const routes: Route[] = [
    { id: 'bench/plain', hostnames: [], basePath: '/plain', upstream, policies: [], tiers: [] },
    {
      id: 'bench/keyed',
      hostnames: [],
      basePath: '/keyed',
      upstream,
      policies: [{ name: 'bench/key', type: 'api-key', order: 1, config: {} }],
      tiers: [{ name: 'bench', limits: [{ requests: 1_000_000_000, periodSeconds: 60 }] }],
    },
  ];
  await writeParts(dir, renderParts({ gateway: 'bench', generation: 1, routes, credentials: creds.credentials }));
}

async function startGateway(dir: string, upstreamPort: number, profileDir?: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const adminPort = await freePort();
  const args = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), join(ROOT, 'gateway/main.ts'), '--gateway', 'bench', '--config-dir', dir];
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    // The upstream is on loopback: the platform allows exactly its host:port.
    env: { ...env, GATEWAY_LISTEN: `127.0.0.1:${port}`, GATEWAY_ADMIN_LISTEN: `127.0.0.1:${adminPort}`, GATEWAY_ACCESS_LOG: ACCESS_LOG, LOG_LEVEL: 'info', CROSSGATE_LOOPBACK_UPSTREAMS: `127.0.0.1:${upstreamPort}` },
  });
  children.push(proc);
  await waitHttp(`http://127.0.0.1:${adminPort}/readyz`, 20_000, proc);
  return { url: `http://127.0.0.1:${port}`, proc };
}

async function startNginx(upstreamPort: number): Promise<{ url: string; proc: ChildProcess } | undefined> {
  if (!NGINX) return undefined;
  const port = await freePort();
  const prefix = join(tmp, 'nginx');
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const conf = `
${nginxPreamble(prefix)}  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location /plain/ {
      proxy_pass http://app/api/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
    }
  }
}
`;
  writeFileSync(join(prefix, 'nginx.conf'), conf);
  const proc = spawn(NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'logs/error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(proc);
  await waitHttp(`http://127.0.0.1:${port}/plain/MX123`);
  return { url: `http://127.0.0.1:${port}`, proc };
}

/** crossgate-authz on `dir`; `address` is what render-nginx's --authz takes: 127.0.0.1:port, or unix:/path with BENCH_AUTHZ_SOCKET=unix. */
async function startAuthz(dir: string, tokenFile: string, profileDir?: string): Promise<{ address: string; accessLog: string | undefined; adminUrl: string; proc: ChildProcess }> {
  const address = AUTHZ_SOCKET === 'unix' ? `unix:${join(tmp, `authz-${Date.now()}.sock`)}` : `127.0.0.1:${await freePort()}`;
  // What render-nginx's --access-log takes: the default UDP receiver (undefined), off, or the file authz tails.
  const accessLog = AUTHZ_ACCESS_LOG === 'off' ? 'off' : AUTHZ_ACCESS_LOG === 'file' ? `file:${join(tmp, `access-${Date.now()}.log`)}` : undefined;
  const logEnv = accessLog?.startsWith('file:') ? { AUTHZ_ACCESS_LOG_FILE: accessLog, AUTHZ_ACCESS_LOG_LISTEN: 'off' } : {};
  const adminPort = await freePort();
  const args = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), join(ROOT, 'gateway/main.ts'), '--mode=authz', '--token-file', tokenFile, '--gateway', 'bench', '--config-dir', dir];
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    // nginx connects from 127.0.0.1 (a unix socket's peer is reported as that too) and sends X-Forwarded-For: the one trusted proxy. No gRPC listener.
    env: { ...env, ...logEnv, GATEWAY_LISTEN: address, GATEWAY_ADMIN_LISTEN: `127.0.0.1:${adminPort}`, AUTHZ_GRPC_LISTEN: 'off', CROSSGATE_TRUSTED_PROXIES: '127.0.0.1', LOG_LEVEL: 'info' },
  });
  children.push(proc);
  await waitHttp(`http://127.0.0.1:${adminPort}/readyz`, 20_000, proc);
  return { address, accessLog, adminUrl: `http://127.0.0.1:${adminPort}`, proc };
}

/** nginx (1 worker) with the config `npm run render:nginx` writes for `dir`, checking every request with the authz at `authz`. */
async function startNginxAuthz(name: string, dir: string, authz: string, accessLog: string | undefined, tokenFile: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const prefix = join(tmp, `nginx-${name}`);
  const out = join(prefix, 'conf');
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  // Exactly what users run: node gateway/render-nginx.ts (npm run render:nginx).
  await new Promise<void>((resolve, reject) => {
    const r = spawn(process.execPath, [join(ROOT, 'gateway/render-nginx.ts'), '--config-dir', dir, '--gateway', 'bench', '--authz', authz, '--listen', `127.0.0.1:${port}`, '--token-file', tokenFile, '--out', out, ...(accessLog ? ['--access-log', accessLog] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    r.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    r.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`render-nginx exited ${code}: ${err}`))));
  });
  const conf = `
${nginxPreamble(prefix)}  include ${join(out, 'crossgate.conf')};
}
`;
  writeFileSync(join(prefix, 'nginx.conf'), conf);
  const proc = spawn(NGINX!, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'logs/error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(proc);
  await waitHttp(`http://127.0.0.1:${port}/plain/MX123`, 20_000, proc);
  return { url: `http://127.0.0.1:${port}`, proc };
}

/** authz's count of recorded access-log lines, once it stops growing (nginx flushes its file buffer when it stops; authz polls). */
async function recordedLines(adminUrl: string): Promise<number> {
  let last = -1;
  for (let i = 0; i < 20; i++) {
    const text = await (await fetch(`${adminUrl}/metrics`)).text();
    const n = Number(/crossgate_gateway_access_log_lines_total\{result="recorded"\} (\d+)/.exec(text)?.[1] ?? 0);
    if (n === last && n > 0) return n;
    last = n;
    await new Promise((r) => setTimeout(r, 500));
  }
  return last;
}

/** CPU time (user + system) of processes and their children processes, in µs, from /proc. */
function cpuMicros(pids: number[]): number {
  let ticks = 0;
  const all = new Set(pids);
  for (const pid of pids) {
    try {
      for (const t of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) all.add(Number(t));
    } catch {
      // no children file
    }
  }
  for (const pid of all) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // gone
    }
  }
  return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
}

/** A process on the path whose CPU is read: its label in the table and its pid (children included). */
type Proc = [label: string, pid: number | undefined];

interface Row {
  target: string;
  /** CPU of the proxy process (nginx; the gateway; for "nginx + authz", nginx and authz together; the upstream's for "direct") per request, µs. */
  cpuUsPerReq: number;
  /** CPU per request of every process on the path, µs, by label (nginx, gateway, authz, upstream). */
  cpu: Record<string, number>;
  /** Sum of `cpu`. */
  cpuTotalUsPerReq: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  seqP50us: number;
  seqP99us: number;
  /** 1-minute load average at the end of the throughput run. */
  load: string;
}

function headersFor(keys: string[] | undefined, i: number): Record<string, string> | undefined {
  return keys ? { 'x-api-key': keys[i % keys.length]! } : undefined;
}

async function sequentialLatency(url: string, keys: string[] | undefined): Promise<{ p50: number; p99: number }> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: 1 });
  const path = u.pathname;
  const one = async (i: number) => {
    const r = await pool.request({ path, method: 'GET', headers: headersFor(keys, i) });
    await r.body.dump();
    if (r.statusCode !== 200) throw new Error(`${url}: HTTP ${r.statusCode}`);
  };
  for (let i = 0; i < 300; i++) await one(i);
  const samples = new Float64Array(LAT_REQUESTS);
  for (let i = 0; i < LAT_REQUESTS; i++) {
    const t = process.hrtime.bigint();
    await one(i);
    samples[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  await pool.close();
  samples.sort();
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { p50: Math.round(at(0.5)), p99: Math.round(at(0.99)) };
}

async function measure(target: string, url: string, procs: Proc[], keys?: string[]): Promise<Row> {
  say(`${target}: warm-up`);
  const requests = keys ? [{ setupRequest: (req: { headers?: Record<string, string> }, ctx: Record<string, unknown>) => {
    const n = ((ctx.n as number | undefined) ?? Math.floor(Math.random() * keys.length)) + 1;
    ctx.n = n;
    return { ...req, headers: { ...req.headers, 'x-api-key': keys[n % keys.length]! } };
  } }] : undefined;
  await autocannon({ url, connections: CONNECTIONS, duration: 2, requests });
  say(`${target}: throughput, ${CONNECTIONS} connections, ${DURATION} s`);
  const cpu0 = procs.map(([, pid]) => (pid ? cpuMicros([pid]) : 0));
  const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, requests });
  const perReq = (us: number) => Math.round((us / Math.max(1, r.requests.total)) * 10) / 10;
  const cpu: Record<string, number> = {};
  procs.forEach(([label, pid], i) => (cpu[label] = pid ? perReq(cpuMicros([pid]) - cpu0[i]!) : 0));
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '';
  say(`${target}: latency, ${LAT_REQUESTS} sequential requests`);
  const seq = await sequentialLatency(url, keys);
  const proxy = procs.filter(([l]) => l !== 'upstream' || procs.length === 1).reduce((a, [l]) => a + cpu[l]!, 0);
  const total = Object.values(cpu).reduce((a, b) => a + b, 0);
  return { target, load, cpuUsPerReq: Math.round(proxy * 10) / 10, cpu, cpuTotalUsPerReq: Math.round(total * 10) / 10, rps: Math.round(r.requests.average), p50ms: r.latency.p50, p99ms: r.latency.p99, errors: r.errors + r.non2xx, seqP50us: seq.p50, seqP99us: seq.p99 };
}

const signed = (n: number) => (n >= 0 ? `+${n}` : `${n}`);

function table(rows: Row[]): string {
  const direct = rows.find((r) => r.target === 'direct');
  const added = (r: Row) => (direct && r !== direct ? `${signed(r.seqP50us - direct.seqP50us)} / ${signed(r.seqP99us - direct.seqP99us)}` : '–');
  const cpu = (r: Row) => Object.entries(r.cpu).map(([l, v]) => `${l} ${v}`).join(', ');
  const lines = [
    '| target | req/s | p50/p99 ms (load) | non-2xx/errors | p50/p99 µs (sequential) | added p50/p99 µs over direct | CPU µs/req per process | CPU µs/req total | load |',
    '|---|---:|---:|---:|---:|---:|---|---:|---:|',
    ...rows.map((r) => `| ${r.target} | ${r.rps} | ${r.p50ms} / ${r.p99ms} | ${r.errors} | ${r.seqP50us} / ${r.seqP99us} | ${added(r)} | ${cpu(r)} | ${r.cpuTotalUsPerReq} | ${r.load} |`),
  ];
  return lines.join('\n');
}

function ratios(rows: Row[]): string {
  const by = (t: string) => rows.find((r) => r.target.startsWith(t));
  const direct = by('direct')!;
  const nginx = by('nginx (');
  const out: string[] = [];
  for (const r of rows) {
    if (r === direct || r === nginx) continue;
    let line = `- ${r.target}: ${r.cpuUsPerReq} µs CPU/request, ${(r.rps / direct.rps).toFixed(2)}× direct throughput, ${signed(r.seqP50us - direct.seqP50us)} µs p50 / ${signed(r.seqP99us - direct.seqP99us)} µs p99 added latency`;
    if (nginx) line += `; ${(r.cpuUsPerReq / nginx.cpuUsPerReq).toFixed(1)}× nginx CPU/request, ${(r.rps / nginx.rps).toFixed(2)}× nginx throughput, ${signed(r.seqP50us - nginx.seqP50us)} µs p50 vs nginx`;
    out.push(line);
  }
  if (nginx) out.push(`- nginx: ${(nginx.rps / direct.rps).toFixed(2)}× direct throughput, ${signed(nginx.seqP50us - direct.seqP50us)} µs p50 / ${signed(nginx.seqP99us - direct.seqP99us)} µs p99 added latency`);
  // The issue's goal: authz under 20 µs per check, nginx + authz under the gateway on the same keys.
  for (const keys of ['1 key', '10,000 keys']) {
    const na = rows.find((r) => r.target.startsWith('nginx + authz') && r.target.endsWith(keys));
    const gw = rows.find((r) => r.target.startsWith('gateway, api-key') && r.target.endsWith(keys));
    if (!na || !gw) continue;
    out.push(`- ${keys}: authz ${na.cpu.authz} µs CPU/check (goal < 20: ${na.cpu.authz! < 20 ? 'met' : 'not met'}); nginx + authz ${na.cpuUsPerReq} µs vs gateway ${gw.cpuUsPerReq} µs CPU/request (goal: below: ${na.cpuUsPerReq < gw.cpuUsPerReq ? 'met' : 'not met'})`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const up = await startUpstream();
  const one = makeKeys(1);
  const many = makeKeys(10_000);
  const dir1 = join(tmp, 'one');
  const dir10k = join(tmp, 'many');
  await writeConfig(dir1, up.port, one);
  await writeConfig(dir10k, up.port, many);
  const rows: Row[] = [];
  const direct = `http://127.0.0.1:${up.port}/api/MX123`;
  const upstream: Proc = ['upstream', up.proc.pid];
  rows.push(await measure('direct', direct, [upstream]));

  const ngx = ONLY_AUTHZ ? undefined : await startNginx(up.port);
  if (ngx) {
    rows.push(await measure('nginx (1 worker), plain reverse proxy', `${ngx.url}/plain/MX123`, [['nginx', ngx.proc.pid], upstream]));
    await stop(ngx.proc);
  } else if (!ONLY_AUTHZ) say('nginx not installed (apt-get install nginx-light): skipping the nginx comparison');

  const profDir = PROFILE ? join(ROOT, 'bench/results', `profile-${Date.now()}`) : undefined;
  if (!ONLY_AUTHZ) {
    const g1 = await startGateway(dir1, up.port);
    rows.push(await measure('gateway, no policies', `${g1.url}/plain/MX123`, [['gateway', g1.proc.pid], upstream]));
    rows.push(await measure('gateway, api-key + tier, 1 key', `${g1.url}/keyed/MX123`, [['gateway', g1.proc.pid], upstream], one.keys));
    await stop(g1.proc);

    if (profDir) mkdirSync(profDir, { recursive: true });
    const g10k = await startGateway(dir10k, up.port, profDir);
    rows.push(await measure('gateway, api-key + tier, 10,000 keys', `${g10k.url}/keyed/MX123`, [['gateway', g10k.proc.pid], upstream], many.keys.slice(0, 100)));
    await stop(g10k.proc);
  }

  const authzProfDir = PROFILE_AUTHZ ? join(ROOT, 'bench/results', `profile-authz-${Date.now()}`) : undefined;
  if (authzProfDir) mkdirSync(authzProfDir, { recursive: true });
  if (NGINX) {
    const tokenFile = join(tmp, 'authz-token');
    writeFileSync(tokenFile, `${AUTHZ_TOKEN}\n`, { mode: 0o600 });
    for (const [label, dir, keys, prof] of [['1 key', dir1, one.keys, undefined], ['10,000 keys', dir10k, many.keys.slice(0, 100), authzProfDir]] as const) {
      const az = await startAuthz(dir, tokenFile, prof);
      const nx = await startNginxAuthz(label === '1 key' ? 'one' : 'many', dir, az.address, az.accessLog, tokenFile);
      rows.push(await measure(`nginx + authz, api-key + tier, ${label}`, `${nx.url}/keyed/MX123`, [['nginx', nx.proc.pid], ['authz', az.proc.pid], upstream], keys));
      await stop(nx.proc);
      if (AUTHZ_ACCESS_LOG !== 'off') say(`authz recorded ${await recordedLines(az.adminUrl)} access-log lines (${AUTHZ_ACCESS_LOG === 'file' ? 'through the file' : 'over UDP'})`);
      await stop(az.proc);
    }
  } else say('nginx not installed: skipping nginx + authz');
  await stop(up.proc);

  const md = `${table(rows)}\n\n${ratios(rows)}\n`;
  process.stdout.write(`\n${md}\n`);
  process.stdout.write(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}; machine: ${(await import('node:os')).cpus().length} cores, node ${process.version}, access log ${ACCESS_LOG}, nginx access log to authz ${AUTHZ_ACCESS_LOG}, nginx to authz over ${AUTHZ_SOCKET}, ${CONNECTIONS} connections, ${DURATION} s\n`);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const out = join(ROOT, 'bench/results', `gateway-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(out, JSON.stringify({ rows, durationS: DURATION, connections: CONNECTIONS, accessLog: ACCESS_LOG, authzAccessLog: AUTHZ_ACCESS_LOG, authzSocket: AUTHZ_SOCKET }, null, 2));
  say(`results: ${out}`);
  for (const [what, d] of [['10,000-key gateway', profDir], ['crossgate-authz behind nginx, 10,000 keys', authzProfDir]] as const) {
    if (!d) continue;
    const file = readdirSync(d).find((f) => f.endsWith('.cpuprofile'));
    if (file) process.stdout.write(`\nTop functions by self time (${what}, ${join(d, file)}):\n${summarizeProfile(join(d, file), 25)}\n`);
    else say(`no CPU profile was written (${what})`);
  }
}

try {
  await main();
} finally {
  for (const c of children) await stop(c);
  cleanup();
}
