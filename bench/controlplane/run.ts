// Control-plane benchmarks (issue 7): reconcile throughput against a plain-
// Secret baseline, key → gateway latency, revocation latency, admission
// latency, operator memory, and how each grows with the number of keys.
//
//   node bench/controlplane/run.ts                      # 1,000 and 10,000 keys
//   node bench/controlplane/run.ts --keys=1000,10000,50000
//   node bench/controlplane/run.ts --keys=10000 --phases=bulk,latency --cpu-prof
//
// Each scale runs against a fresh local control plane (test/controlplane) with
// crossgate installed and the operator, webhook and gateway started as in
// hack/demo.ts. Prints a markdown table; writes JSON to bench/results/.
// Ctrl-C stops every process this run started. See docs/performance.md.
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { createLogger } from '../../kube/logger.ts';
import { KubeHttp } from '../../kube/kube.ts';
import { loadKubeConfig } from '../../kube/client-node.ts';
import { hashApiKey } from '../../api/credential-format.ts';
import { ANNOTATION_KEY_GENERATION, ANNOTATION_KEY_ISSUED_AT, ANNOTATION_KEY_SHA256, LABEL_APIKEY, LABEL_MANAGED_BY, MANAGED_BY } from '../../api/labels.ts';
import { ROOT, apiserverCpuProfile, apiserverFigures, cpuDelta, cpuSnapshot, metricSum, scrape, startEnv, startUpstream, type BenchEnv } from './env.ts';
import { CONSUMER, addInstances, apiKeyBody, basePathOf, createWorld, nsPath, waitKeysAdmissible } from './fixture.ts';
import { Tracker } from './tracker.ts';
import { benchWebhook, type WebhookFigures } from './webhook.ts';
import { INSPECT_ARGS, liveHeap } from './live-heap.ts';
import { mb, ms, num, pool, range, sec, summarize, type Summary } from './stats.ts';
import { randomBytes } from 'node:crypto';
import { buildDist } from '../../hack/build-dist.ts';

const PHASES = ['baseline', 'bulk', 'latency', 'revocation', 'webhook', 'memory'] as const;
type Phase = (typeof PHASES)[number];

const { values: flags } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000,10000' },
    instances: { type: 'string', default: '100' },
    'memory-instances': { type: 'string', default: '1000' },
    samples: { type: 'string', default: '200' },
    baseline: { type: 'string', default: '2000' },
    'baseline-concurrency': { type: 'string', default: '4' },
    'baseline-rounds': { type: 'string', default: '3' },
    'create-concurrency': { type: 'string', default: '32' },
    phases: { type: 'string', default: PHASES.join(',') },
    'cpu-prof': { type: 'boolean', default: false },
    'webhook-cpu-prof': { type: 'boolean', default: false },
    'apiserver-profile': { type: 'string', default: '' },
    'heap-snapshot': { type: 'boolean', default: false },
    'operator-node-options': { type: 'string', default: '' },
    'webhook-node-options': { type: 'string', default: '' },
    sources: { type: 'boolean', default: false },
    label: { type: 'string', default: '' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results') },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (flags.help) {
  console.log(`usage: node bench/controlplane/run.ts [--keys=1000,10000] [--instances=100] [--memory-instances=1000] [--samples=200]
  [--baseline=2000] [--baseline-concurrency=4] [--baseline-rounds=3] [--create-concurrency=32] [--phases=${PHASES.join(',')}] [--cpu-prof] [--webhook-cpu-prof] [--apiserver-profile=SECONDS] [--heap-snapshot] [--operator-node-options="--max-old-space-size=192"] [--webhook-node-options="--trace-gc"] [--sources] [--label=before]

  The processes run the JavaScript the image runs (hack/build-dist.ts, built into dist/);
  --sources runs the .ts files instead, through Node's type stripping.`);
  process.exit(0);
}
const int = (name: keyof typeof flags) => {
  const v = Number(flags[name]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer`);
  return v;
};
const scales = String(flags.keys).split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
const INSTANCES = int('instances');
const MEMORY_INSTANCES = Math.max(INSTANCES, int('memory-instances'));
const SAMPLES = int('samples');
const BASELINE = int('baseline');
const BASELINE_CONCURRENCY = int('baseline-concurrency');
const BASELINE_ROUNDS = Math.max(1, int('baseline-rounds'));
const CREATE_CONCURRENCY = int('create-concurrency');
/** Seconds of kube-apiserver CPU profile taken from the start of the bulk phase (0: none). */
const APISERVER_PROFILE_S = int('apiserver-profile');
/** The image's JavaScript, built once per run (hack/build-dist.ts); undefined with --sources. */
const DIST = flags.sources ? undefined : join(ROOT, 'dist');
if (DIST) await buildDist(DIST);
const phases = new Set(String(flags.phases).split(',').map((s) => s.trim()) as Phase[]);
for (const p of phases) if (!PHASES.includes(p)) throw new Error(`unknown phase ${p}; known: ${PHASES.join(', ')}`);

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const runDir = join(String(flags.out), `controlplane-${stamp}${flags.label ? `-${flags.label}` : ''}`);
mkdirSync(runDir, { recursive: true });
const t00 = performance.now();
const log = (m: string) => console.log(`[${((performance.now() - t00) / 1000).toFixed(0).padStart(5)} s] ${m}`);
const quiet = createLogger({ level: 'warn' });

interface ScaleResult {
  keys: number;
  instances: number;
  /** perSecond is the median of the rounds (one round of a few seconds swung 450–780/s on a shared box). */
  baseline?: { secrets: number; concurrency: number; seconds: number; perSecond: number; rounds: number[] };
  bulk?: {
    keys: number;
    createConcurrency: number;
    createdAtS: number;
    secretsAtS: number;
    contractsApprovedAtS: number;
    configAtS: number;
    keysApprovedAtS: number;
    totalS: number;
    keysPerSecond: number;
    ratioToBaseline: number;
    operatorCpuSeconds: number;
    operatorMaxEventLoopLagMs: number;
    /** CPU seconds each process used during the phase (the box has cpus().length cores). */
    cpuByProcess: Record<string, number>;
    /** Writes per key the apiserver served during the phase, by verb and resource. */
    writesPerKey: Record<string, number>;
    /** Bytes of gateway-config ConfigMaps (creates and updates) the apiserver received per key. */
    configMapBytesPerKey: number;
    /** etcd's database size at the end of the phase (it grows with every revision kept until compaction). */
    etcdBytes: number;
    complete: boolean;
    /** Counts when the phase ended. */
    progress: { created: number; secrets: number; contractsApproved: number; keysApproved: number; inConfig: number };
    error?: string;
  };
  latency?: { samples: number; config: Summary; gateway: Summary; failures: number };
  revocation?: { samples: number; config: Summary; gateway: Summary; failures: number };
  webhook?: WebhookFigures;
  memoryAfterBulk?: Memory;
  memory?: Memory;
  logs: string;
  /** 1, 5 and 15 minute load averages when the scale started (other work on the box skews figures). */
  loadavg: number[];
  error?: string;
}
interface Memory {
  keys: number;
  instances: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Heap used right after a full GC forced through the inspector (live-heap.ts), RSS then, and the GC's duration. */
  liveHeapBytes?: number;
  rssAfterGcBytes?: number;
  fullGcMs?: number;
}

let current: BenchEnv | undefined;
let tracker: Tracker | undefined;
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${sig}: stopping the operator, webhook, gateway and control plane…`);
    void (async () => {
      await tracker?.stop().catch(() => undefined);
      await current?.stop().catch(() => undefined);
      process.exit(130);
    })();
  });
}

async function main(): Promise<void> {
  const results: ScaleResult[] = [];
  const upstream = await startUpstream();
  try {
    for (const n of scales) {
      if (interrupted) break;
      log(`=== ${n} keys over ${INSTANCES} instances ===`);
      const r: ScaleResult = { keys: n, instances: INSTANCES, loadavg: loadavg(), logs: join(runDir, `keys-${n}`) };
      try {
        await runScale(n, upstream.url, r);
      } catch (err) {
        if (interrupted) throw err;
        r.error = err instanceof Error ? err.message : String(err);
        log(`scale ${n} failed: ${r.error}`);
      }
      results.push(r);
      writeResults(results);
      console.log(`\n${table(results)}\n`);
    }
  } finally {
    await upstream.close();
  }
  const file = writeResults(results);
  console.log(`\n## Control-plane benchmark (${cpus().length} cores)\n\n${table(results)}\n\nJSON: ${file}\nlogs and profiles: ${runDir}`);
}

function writeResults(results: ScaleResult[]): string {
  const file = join(runDir, 'results.json');
  let commit = '';
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {}
  writeFileSync(file, JSON.stringify({
    when: new Date().toISOString(),
    commit,
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryBytes: totalmem(), node: process.version },
    flags,
    scales: results,
  }, null, 2));
  return file;
}

async function runScale(n: number, upstreamUrl: string, result: ScaleResult): Promise<void> {
  const logDir = result.logs;
  const profDir = join(logDir, 'cpu-prof');
  const nodeArgs = [
    ...(flags['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
    // The live heap is read through the inspector after a full GC (live-heap.ts); --heap-snapshot also writes a snapshot.
    ...INSPECT_ARGS,
    '--heapsnapshot-signal=SIGUSR2',
    `--diagnostic-dir=${logDir}`,
    ...String(flags['operator-node-options']).split(' ').filter(Boolean),
  ];
  const webhookNodeArgs = [
    ...(flags['webhook-cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${join(logDir, 'webhook-cpu-prof')}`] : []),
    ...String(flags['webhook-node-options']).split(' ').filter(Boolean),
  ];
  const env = (current = await startEnv({
    logDir, log, operatorNodeArgs: nodeArgs, webhookNodeArgs, apiserverProfiling: APISERVER_PROFILE_S > 0, ...(DIST ? { distDir: DIST } : {}),
    loopbackUpstreams: [new URL(upstreamUrl).host],
  }));
  try {
    log(`control plane ${env.cp.server}; operator, webhook, gateway up (logs: ${logDir})`);
    await createWorld(env.admin, { instances: INSTANCES, upstream: upstreamUrl, log });
    tracker = new Tracker(env.admin, quiet);
    await tracker.start();
    await until(env, tracker.waitRoutes(INSTANCES), 300_000, `${INSTANCES} routes in the gateway config`);
    await env.waitGatewayReady();
    await waitKeysAdmissible(env.admin, INSTANCES - 1);
    await settle(env);

    if (phases.has('baseline')) result.baseline = await baseline(env, Math.min(BASELINE, n));
    if (phases.has('bulk')) {
      result.bulk = await bulk(env, tracker, n, result.baseline?.perSecond);
      if (result.bulk.error) throw new Error(result.bulk.error);
      await settle(env);
      result.memoryAfterBulk = await memory(env, n, INSTANCES);
    }
    let sampleKeys: Array<{ name: string; raw: string; hash: string; instance: number }> = [];
    if (phases.has('latency') || phases.has('revocation')) {
      const lat = await latency(env, tracker, SAMPLES);
      sampleKeys = lat.keys;
      if (phases.has('latency')) result.latency = lat.figures;
    }
    if (phases.has('revocation')) result.revocation = await revocation(env, tracker, sampleKeys);
    if (phases.has('webhook')) result.webhook = await benchWebhook({ admin: env.admin, webhookUrl: env.webhookUrl, instances: INSTANCES, logDir, log });
    if (phases.has('memory')) {
      if (MEMORY_INSTANCES > INSTANCES) {
        await addInstances(env.admin, INSTANCES, MEMORY_INSTANCES, { upstream: upstreamUrl, log });
        await until(env, tracker.waitRoutes(MEMORY_INSTANCES), 600_000, `${MEMORY_INSTANCES} routes in the gateway config`);
      }
      await settle(env);
      result.memory = await memory(env, n, MEMORY_INSTANCES);
      const live = await liveHeap(env.operator);
      const afterGc = await scrape(env.operatorMetricsUrl);
      Object.assign(result.memory, { liveHeapBytes: live.usedSize, rssAfterGcBytes: metricSum(afterGc, 'process_resident_memory_bytes'), fullGcMs: live.gcMs });
      log(`after a full GC (${ms(live.gcMs)}): live heap ${mb(live.usedSize)} of ${mb(live.totalSize)}, RSS ${mb(result.memory.rssAfterGcBytes!)}`);
      if (flags['heap-snapshot']) await heapSnapshot(env, logDir);
    }
  } finally {
    await tracker?.stop().catch(() => undefined);
    tracker = undefined;
    await env.stop();
    current = undefined;
  }
}

/** Throws when a process of the run has exited (the operator exits when it loses its lease). */
function alive(env: BenchEnv): void {
  for (const p of [env.operator, env.webhook, env.gateway]) {
    if (!p.running()) throw new Error(`${p.name} exited (see ${p.logFile})`);
  }
}

/** Awaits p, but fails when a process exits or timeoutMs passes. */
async function until<T>(env: BenchEnv, p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let done = false;
  const watch = (async () => {
    const end = Date.now() + timeoutMs;
    while (!done) {
      alive(env);
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(500);
    }
    return undefined as T;
  })();
  try {
    return await Promise.race([p, watch]);
  } finally {
    done = true;
  }
}

/** Until the operator's work queues have been empty for 3 s in a row. */
async function settle(env: BenchEnv, timeoutMs = 600_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let quietSince = 0;
  while (Date.now() < until) {
    alive(env);
    const m = await scrape(env.operatorMetricsUrl);
    const busy = metricSum(m, 'workqueue_depth') + metricSum(m, 'controller_runtime_active_workers');
    if (busy === 0) {
      quietSince ||= Date.now();
      if (Date.now() - quietSince >= 3000) return;
    } else quietSince = 0;
    await sleep(500);
  }
  log('warning: the operator did not settle');
}

async function memory(env: BenchEnv, keys: number, instances: number): Promise<Memory> {
  const rss: number[] = [];
  const used: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < 5; i++) {
    const m = await scrape(env.operatorMetricsUrl);
    rss.push(metricSum(m, 'process_resident_memory_bytes'));
    used.push(metricSum(m, 'nodejs_heap_size_used_bytes'));
    total.push(metricSum(m, 'nodejs_heap_size_total_bytes'));
    await sleep(1000);
  }
  const med = (a: number[]) => summarize(a).p50;
  const out = { keys, instances, rssBytes: med(rss), heapUsedBytes: med(used), heapTotalBytes: med(total) };
  log(`memory at ${keys} keys, ${instances} instances: RSS ${mb(out.rssBytes)}, heap used ${mb(out.heapUsedBytes)} of ${mb(out.heapTotalBytes)}`);
  return out;
}

/**
 * SIGUSR2 → the operator writes a heap snapshot into the log dir, for bench/controlplane/heapsnapshot.ts;
 * waits until it is complete. At ~1 GB of heap it stops the operator for longer than its renew deadline.
 */
async function heapSnapshot(env: BenchEnv, dir: string): Promise<void> {
  const before = new Set(readdirSync(dir));
  env.operator.child.kill('SIGUSR2');
  const t0 = Date.now();
  let last = -1;
  while (Date.now() - t0 < 300_000) {
    await sleep(1000);
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) continue;
    const size = statSync(join(dir, file)).size;
    if (size > 0 && size === last) {
      log(`heap snapshot (${mb(size)}): ${join(dir, file)}`);
      return;
    }
    last = size;
  }
  log('warning: no heap snapshot appeared');
}

/** Plain Secrets like the operator's key Secrets, created as the operator's ServiceAccount with its apikey worker count. */
async function baseline(env: BenchEnv, count: number): Promise<ScaleResult['baseline']> {
  const ns = 'bench-baseline';
  await env.admin.request('POST', nsPath('namespaces'), { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
  const http = new KubeHttp(loadKubeConfig({ file: env.operatorKubeconfig }));
  const body = (i: number) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: `baseline-${i}-apikey`,
      namespace: ns,
      labels: { [`${LABEL_APIKEY}-baseline`]: `baseline-${i}`, [LABEL_MANAGED_BY]: MANAGED_BY },
      annotations: { [ANNOTATION_KEY_SHA256]: randomBytes(32).toString('hex'), [ANNOTATION_KEY_GENERATION]: '0', [ANNOTATION_KEY_ISSUED_AT]: new Date().toISOString() },
    },
    data: { apiKey: randomBytes(48).toString('base64') },
  });
  const rounds: number[] = [];
  let seconds = 0;
  for (let r = 0; r < BASELINE_ROUNDS; r++) {
    const t0 = performance.now();
    await pool(range(count), BASELINE_CONCURRENCY, async (i) => { await http.request('POST', nsPath('secrets', ns), { body: body(r * count + i) }); });
    const s = (performance.now() - t0) / 1000;
    seconds += s;
    rounds.push(count / s);
  }
  await http.close();
  const perSecond = [...rounds].sort((a, b) => a - b)[Math.floor(rounds.length / 2)]!;
  const out = { secrets: count, concurrency: BASELINE_CONCURRENCY, seconds, perSecond, rounds };
  log(`baseline: ${BASELINE_ROUNDS} × ${count} Secrets at concurrency ${BASELINE_CONCURRENCY}: ${rounds.map((x) => x.toFixed(0)).join(', ')}/s → median ${perSecond.toFixed(0)}/s`);
  await env.admin.request('DELETE', nsPath('namespaces', undefined, ns)).catch(() => undefined);
  return out;
}

const keyName = (i: number) => `k-${String(i).padStart(6, '0')}`;

async function bulk(env: BenchEnv, t: Tracker, n: number, baselinePerSecond: number | undefined): Promise<NonNullable<ScaleResult['bulk']>> {
  const cpu0 = metricSum(await scrape(env.operatorMetricsUrl), 'process_cpu_seconds_total');
  const procs0 = cpuSnapshot(env);
  const api0 = await apiserverFigures();
  const profileFile = join(env.logDir, 'apiserver-bulk.pprof');
  const profiling = APISERVER_PROFILE_S > 0
    ? apiserverCpuProfile(APISERVER_PROFILE_S, profileFile).then(() => log(`kube-apiserver CPU profile of the first ${APISERVER_PROFILE_S} s of bulk: ${profileFile} (go tool pprof -top ${profileFile})`), (err) => log(`warning: ${err.message}`))
    : Promise.resolve();
  const t0 = performance.now();
  const at = { created: NaN, secrets: NaN, contracts: NaN, config: NaN, keys: NaN };
  const s = () => (performance.now() - t0) / 1000;
  let createdCount = 0;
  const creating = pool(range(n), CREATE_CONCURRENCY, async (i) => {
    await env.admin.request('POST', nsPath('apikeys', CONSUMER.env), { body: apiKeyBody(keyName(i), i % INSTANCES, Math.floor(i / INSTANCES)) });
    createdCount++;
  }).then(() => { at.created = s(); });
  let failed: unknown;
  creating.catch((err) => { failed = err; });
  const limitS = 120 + n * 0.2;
  let lastLog = 0;
  let lastScrape = 0;
  let maxLagS = 0;
  const inConfig = () => {
    let c = 0;
    for (const sec of t.secrets.list()) {
      const h = sec.metadata?.annotations?.[ANNOTATION_KEY_SHA256];
      if (h && t.committed.has(h)) c++;
    }
    return c;
  };
  let error: string | undefined;
  let progress = { created: 0, secrets: 0, contractsApproved: 0, keysApproved: 0, inConfig: 0 };
  for (;;) {
    if (failed) throw failed;
    if (interrupted) throw new Error('interrupted');
    const dead = [env.operator, env.webhook, env.gateway].find((p) => !p.running());
    if (dead) {
      error = `${dead.name} exited during the bulk phase (see ${dead.logFile})`;
      break;
    }
    if (s() - lastScrape >= 1) {
      // prom-client resets its event-loop delay histogram at each scrape: the max is per interval.
      lastScrape = s();
      const m = await scrape(env.operatorMetricsUrl).catch(() => undefined);
      if (m) maxLagS = Math.max(maxLagS, metricSum(m, 'nodejs_eventloop_lag_max_seconds'));
    }
    const secrets = t.secrets.size();
    const configured = inConfig();
    if (Number.isNaN(at.secrets) && secrets >= n) at.secrets = s();
    if (Number.isNaN(at.contracts) && t.approvedContracts >= n) at.contracts = s();
    if (Number.isNaN(at.keys) && t.approvedKeys >= n) at.keys = s();
    if (Number.isNaN(at.config) && configured >= n) at.config = s();
    progress = { created: createdCount, secrets, contractsApproved: t.approvedContracts, keysApproved: t.approvedKeys, inConfig: configured };
    if (![at.created, at.secrets, at.contracts, at.keys, at.config].some(Number.isNaN)) break;
    if (s() - lastLog >= 15) {
      lastLog = s();
      log(`bulk ${s().toFixed(0)} s: created ${createdCount}, Secrets ${secrets}, Contracts approved ${t.approvedContracts}, ApiKeys approved ${t.approvedKeys}, in gateway config ${configured} (generation ${t.generation})`);
    }
    if (s() > limitS) {
      log(`bulk: gave up after ${limitS.toFixed(0)} s`);
      break;
    }
    await sleep(100);
  }
  await profiling;
  const total = Math.max(at.secrets, at.contracts, at.config, at.keys);
  const complete = Number.isFinite(total);
  const totalS = complete ? total : s();
  const cpu1 = error ? NaN : metricSum(await scrape(env.operatorMetricsUrl), 'process_cpu_seconds_total');
  const cpuByProcess = cpuDelta(procs0, cpuSnapshot(env));
  // Writes the apiserver took per key during the phase (reads and watches left out), the bench's own creates included.
  const api1 = await apiserverFigures();
  const writesPerKey: Record<string, number> = {};
  for (const [k, v] of Object.entries(api1.requests)) {
    const d = v - (api0.requests[k] ?? 0);
    if (/^(POST|PUT|PATCH|APPLY|DELETE) /.test(k) && d / n >= 0.01) writesPerKey[k] = Math.round((d / n) * 100) / 100;
  }
  const keysPerSecond = complete ? n / totalS : NaN;
  const out = {
    keys: n,
    createConcurrency: CREATE_CONCURRENCY,
    createdAtS: at.created,
    secretsAtS: at.secrets,
    contractsApprovedAtS: at.contracts,
    configAtS: at.config,
    keysApprovedAtS: at.keys,
    totalS,
    keysPerSecond,
    ratioToBaseline: baselinePerSecond ? keysPerSecond / baselinePerSecond : NaN,
    operatorCpuSeconds: cpu1 - cpu0,
    operatorMaxEventLoopLagMs: maxLagS * 1000,
    cpuByProcess,
    writesPerKey,
    configMapBytesPerKey: (api1.configMapBytesWritten - api0.configMapBytesWritten) / n,
    etcdBytes: api1.storageBytes,
    complete,
    progress,
    ...(error ? { error } : {}),
  };
  log(`bulk CPU seconds by process: ${JSON.stringify(cpuByProcess)}`);
  log(`bulk writes per key: ${JSON.stringify(writesPerKey)}; ConfigMap bytes per key ${out.configMapBytesPerKey.toFixed(0)}; etcd database ${mb(out.etcdBytes)}`);
  log(`bulk: ${n} keys created in ${at.created.toFixed(1)} s; Secrets ${at.secrets.toFixed(1)} s, Contracts approved ${at.contracts.toFixed(1)} s, in config ${at.config.toFixed(1)} s, ApiKeys approved ${at.keys.toFixed(1)} s → ${keysPerSecond.toFixed(1)} keys/s (ratio ${out.ratioToBaseline.toFixed(2)}), operator CPU ${out.operatorCpuSeconds.toFixed(1)} s`);
  return out;
}

const gatewayAgent = new Agent({ connections: 4, keepAliveTimeout: 30_000 });
async function gatewayStatus(env: BenchEnv, instance: number, raw: string): Promise<number> {
  const res = await request(`${env.gatewayUrl}${basePathOf(instance)}/ping`, { headers: { 'x-api-key': raw }, dispatcher: gatewayAgent });
  await res.body.dump();
  return res.statusCode;
}
/** performance.now() when the gateway first answers with `want(status)`; polls every 5 ms. */
async function pollGateway(env: BenchEnv, instance: number, raw: string, want: (s: number) => boolean, timeoutMs: number): Promise<number> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    if (want(await gatewayStatus(env, instance, raw))) return performance.now();
    await sleep(5);
  }
  return NaN;
}
const within = <T>(p: Promise<T>, timeoutMs: number, fallback: T) => Promise.race([p, sleep(timeoutMs).then(() => fallback)]);

async function latency(env: BenchEnv, t: Tracker, samples: number) {
  const keys: Array<{ name: string; raw: string; hash: string; instance: number }> = [];
  const toConfig: number[] = [];
  const toGateway: number[] = [];
  let failures = 0;
  for (let j = 0; j < samples; j++) {
    if (interrupted) throw new Error('interrupted');
    alive(env);
    const name = `lat-${String(j).padStart(4, '0')}`;
    const instance = j % INSTANCES;
    const t0 = performance.now();
    await env.admin.request('POST', nsPath('apikeys', CONSUMER.env), { body: apiKeyBody(name, instance, j) });
    const secret = await within(t.waitSecret(`${name}-apikey`), 30_000, undefined);
    if (!secret) { failures++; continue; }
    const full = await env.admin.request<{ data: Record<string, string> }>('GET', nsPath('secrets', CONSUMER.env, `${name}-apikey`));
    const raw = Buffer.from(full.data['apiKey'] ?? '', 'base64').toString('utf8');
    const hash = hashApiKey(raw);
    const [c, g] = await Promise.all([within(t.waitCommitted(hash), 30_000, NaN), pollGateway(env, instance, raw, (s) => s === 200, 30_000)]);
    if (Number.isNaN(c) || Number.isNaN(g)) failures++;
    else {
      toConfig.push(c - t0);
      toGateway.push(g - t0);
      keys.push({ name, raw, hash, instance });
    }
    await sleep(Math.random() * 50);
  }
  const figures = { samples, config: summarize(toConfig), gateway: summarize(toGateway), failures };
  log(`latency new key → config p50 ${ms(figures.config.p50)} p99 ${ms(figures.config.p99)}; → gateway 200 p50 ${ms(figures.gateway.p50)} p99 ${ms(figures.gateway.p99)}${failures ? `; ${failures} failed` : ''}`);
  return { keys, figures };
}

async function revocation(env: BenchEnv, t: Tracker, keys: Array<{ name: string; raw: string; hash: string; instance: number }>): Promise<ScaleResult['revocation']> {
  const toConfig: number[] = [];
  const toGateway: number[] = [];
  let failures = 0;
  for (const k of keys) {
    if (interrupted) throw new Error('interrupted');
    alive(env);
    const t0 = performance.now();
    await env.admin.request('PATCH', nsPath('apikeys', CONSUMER.env, k.name), { contentType: 'application/merge-patch+json', body: { spec: { revoked: true } } });
    const [c, g] = await Promise.all([within(t.waitRemoved(k.hash), 30_000, NaN), pollGateway(env, k.instance, k.raw, (s) => s !== 200, 30_000)]);
    if (Number.isNaN(c) || Number.isNaN(g)) failures++;
    else {
      toConfig.push(c - t0);
      toGateway.push(g - t0);
    }
    await sleep(Math.random() * 50);
  }
  const out = { samples: keys.length, config: summarize(toConfig), gateway: summarize(toGateway), failures };
  log(`revocation → config p50 ${ms(out.config.p50)} p99 ${ms(out.config.p99)}; → gateway refuses p50 ${ms(out.gateway.p50)} p99 ${ms(out.gateway.p99)}${failures ? `; ${failures} failed` : ''}`);
  return out;
}

function table(results: ScaleResult[]): string {
  const head = `| figure | target | ${results.map((r) => `${r.keys.toLocaleString('en')} keys`).join(' | ')} |`;
  const sep = `|---|---|${results.map(() => '---:').join('|')}|`;
  const rows: string[] = [];
  const row = (name: string, target: string, f: (r: ScaleResult) => string) => rows.push(`| ${name} | ${target} | ${results.map((r) => f(r)).join(' | ')} |`);
  const pp = (s: Summary | undefined) => (s ? `${ms(s.p50)} / ${ms(s.p99)}` : '–');
  row(`baseline: plain Secrets/s (as the operator SA, concurrency ${BASELINE_CONCURRENCY}; median of ${BASELINE_ROUNDS} rounds)`, '', (r) => (r.baseline ? num(r.baseline.perSecond) : '–'));
  row('bulk: keys/s until Secret + approved Contract + hash in config (+ ApiKey Approved)', '', (r) =>
    !r.bulk ? '–' : r.bulk.complete ? `${num(r.bulk.keysPerSecond, 1)} (${sec(r.bulk.totalS * 1000)})` : `incomplete: ${r.bulk.progress.inConfig} in config after ${sec(r.bulk.totalS * 1000)}`);
  row('bulk: ratio to baseline', '≥ 0.5', (r) => (r.bulk ? num(r.bulk.ratioToBaseline, 2) : '–'));
  row('bulk: all Secrets / Contracts approved / in config / ApiKeys approved at', '', (r) =>
    r.bulk ? [r.bulk.secretsAtS, r.bulk.contractsApprovedAtS, r.bulk.configAtS, r.bulk.keysApprovedAtS].map((x) => sec(x * 1000)).join(' / ') : '–');
  row('bulk: operator CPU seconds / longest event-loop stall', '', (r) => (r.bulk ? `${num(r.bulk.operatorCpuSeconds, 1)} s / ${ms(r.bulk.operatorMaxEventLoopLagMs)}` : '–'));
  row('bulk: apiserver writes per key (all verbs, all resources)', '', (r) =>
    r.bulk?.writesPerKey ? num(Object.values(r.bulk.writesPerKey).reduce((a, b) => a + b, 0), 1) : '–');
  row('bulk: gateway-config bytes written per key / etcd database after bulk', '', (r) =>
    r.bulk?.configMapBytesPerKey !== undefined ? `${num(r.bulk.configMapBytesPerKey / 1024, 1)} KB / ${mb(r.bulk.etcdBytes)}` : '–');
  row('bulk: CPU s of apiserver / etcd / webhook / gateway / bench', '', (r) => {
    const c = r.bulk?.cpuByProcess;
    return c ? ['kube-apiserver', 'etcd', 'webhook', 'gateway', 'bench'].map((k) => num(c[k] ?? NaN, 0)).join(' / ') : '–';
  });
  row('new key → in gateway config, p50 / p99', '', (r) => pp(r.latency?.config));
  row('new key → accepted by the gateway, p50 / p99', 'p99 < 1 s', (r) => pp(r.latency?.gateway));
  row('revocation → out of gateway config, p50 / p99', '', (r) => pp(r.revocation?.config));
  row('revocation → refused by the gateway, p50 / p99', 'p99 < 1 s (must < 5 s)', (r) => pp(r.revocation?.gateway));
  for (const i of [0, 1, 2]) {
    const c = results.find((r) => r.webhook)?.webhook?.direct[i]?.concurrency;
    if (c === undefined) continue;
    row(`webhook direct, ${c} concurrent: p50 / p99 (req/s)`, 'p99 < 5 ms', (r) => {
      const d = r.webhook?.direct[i];
      return d ? `${ms(d.latency.p50, 2)} / ${ms(d.latency.p99, 2)} (${num(d.rps)})` : '–';
    });
    row(`webhook's own histogram, ${c} concurrent: 99 % answered within`, '', (r) => {
      const d = r.webhook?.direct[i]?.server;
      return d ? ms(d.p99AtMostMs, 1) : '–';
    });
    row(`bare node:https floor, ${c} concurrent: p50 / p99 (req/s)`, '', (r) => {
      const d = r.webhook?.floor?.[i];
      return d ? `${ms(d.latency.p50, 2)} / ${ms(d.latency.p99, 2)} (${num(d.rps)})` : '–';
    });
  }
  for (const i of [0, 1, 2]) {
    const c = results.find((r) => r.webhook)?.webhook?.apiserver[i]?.concurrency;
    if (c === undefined) continue;
    row(`dry-run create via apiserver, ${c} concurrent: p50 / p99 (req/s)`, '', (r) => {
      const d = r.webhook?.apiserver[i];
      return d ? `${ms(d.latency.p50, 1)} / ${ms(d.latency.p99, 1)} (${num(d.rps)})` : '–';
    });
  }
  row(`operator RSS / heap used, ${INSTANCES} instances, after bulk`, '', (r) => (r.memoryAfterBulk ? `${mb(r.memoryAfterBulk.rssBytes)} / ${mb(r.memoryAfterBulk.heapUsedBytes)}` : '–'));
  row(`operator RSS / heap used / live heap after full GC, ${MEMORY_INSTANCES} instances`, '< 200 MB', (r) =>
    r.memory ? `${mb(r.memory.rssBytes)} / ${mb(r.memory.heapUsedBytes)} / ${mb(r.memory.liveHeapBytes ?? NaN)}` : '–');
  if (results.some((r) => r.error)) row('error', '', (r) => (r.error ? r.error.replace(/\|/g, '/').slice(0, 120) : ''));
  return [head, sep, ...rows].join('\n');
}

main().then(
  () => process.exit(0),
  async (err) => {
    console.error(`benchmark failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\nlogs: ${runDir}`);
    await tracker?.stop().catch(() => undefined);
    await current?.stop().catch(() => undefined);
    process.exit(1);
  },
);
