// Admission latency: AdmissionReviews POSTed straight to the webhook over
// HTTPS (its CA from the Secret it manages), and server-side dry-run creates
// through the apiserver (which calls the webhook). The reviewed object is a
// cross-organization ApiKey: the rule resolves ownership, trust both ways and
// the share, the most expensive check crossgate makes at admission.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import type { KubeHttp } from '../../kube/kube.ts';
import { OPERATOR_NAMESPACE, parseMetrics, startNode } from './env.ts';
import { CONSUMER, apiKeyBody, nsPath } from './fixture.ts';
import { pool, range, summarize, type Summary } from './stats.ts';

export interface AdmissionFigures {
  concurrency: number;
  requests: number;
  /** Requests per second over the level. */
  rps: number;
  latency: Summary;
  denied: number;
  /**
   * The webhook's own view (its crossgate_webhook_admission_duration_seconds
   * histogram, from the request's arrival to the answer being ready): the
   * share of reviews answered within each bucket bound, and the smallest
   * bound within which 99 % were. Only for the webhook, not the floor.
   */
  server?: { within: Array<{ ms: number; share: number }>; p99AtMostMs: number };
}

const LEVELS = [
  { concurrency: 1, requests: 2000, viaApiserver: 300 },
  { concurrency: 10, requests: 10000, viaApiserver: 1000 },
  { concurrency: 100, requests: 20000, viaApiserver: 2000 },
];

function review(instances: number, i: number) {
  const key = apiKeyBody(`wh-${i}`, i % instances, i);
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: 'crossgate.dev', version: 'v1alpha1', kind: 'ApiKey' },
      resource: { group: 'crossgate.dev', version: 'v1alpha1', resource: 'apikeys' },
      requestKind: { group: 'crossgate.dev', version: 'v1alpha1', kind: 'ApiKey' },
      name: key.metadata.name,
      namespace: CONSUMER.env,
      operation: 'CREATE',
      userInfo: { username: 'bench', groups: ['system:authenticated'] },
      object: key,
      oldObject: null,
      dryRun: false,
    },
  };
}

async function level(concurrency: number, requests: number, one: (i: number) => Promise<boolean>): Promise<AdmissionFigures> {
  const lat: number[] = [];
  let denied = 0;
  const t0 = performance.now();
  await pool(range(requests), concurrency, async (i) => {
    const s = performance.now();
    if (!(await one(i))) denied++;
    lat.push(performance.now() - s);
  });
  const elapsed = performance.now() - t0;
  return { concurrency, requests, rps: (requests / elapsed) * 1000, latency: summarize(lat), denied };
}

const SERVER_HISTOGRAM = 'crossgate_webhook_admission_duration_seconds_bucket';

/** Cumulative bucket counts (le in seconds → count) of the webhook's admission histogram for ApiKey CREATE. */
async function serverBuckets(metricsUrl: string, agent: Agent): Promise<Map<number, number>> {
  const res = await request(metricsUrl, { dispatcher: agent });
  const out = new Map<number, number>();
  for (const [k, v] of parseMetrics(await res.body.text())) {
    if (!k.startsWith(`${SERVER_HISTOGRAM}{`) || !k.includes('kind="ApiKey"') || !k.includes('operation="CREATE"')) continue;
    const text = /le="([^"]+)"/.exec(k)?.[1];
    if (!text) continue;
    const le = text === '+Inf' ? Infinity : Number(text);
    out.set(le, (out.get(le) ?? 0) + v);
  }
  return out;
}

function serverView(before: Map<number, number>, after: Map<number, number>): AdmissionFigures['server'] {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return undefined;
  const within: Array<{ ms: number; share: number }> = [];
  let p99AtMostMs = Infinity;
  for (const le of bounds) {
    const share = ((after.get(le) ?? 0) - (before.get(le) ?? 0)) / total;
    if (Number.isFinite(le)) within.push({ ms: le * 1000, share });
    if (share >= 0.99 && p99AtMostMs === Infinity) p99AtMostMs = le * 1000;
  }
  return { within, p99AtMostMs };
}

/**
 * The same reviews at the same concurrency, POSTed to url; the first 200
 * (connections, JIT) are not counted. With metricsUrl, the server's own
 * histogram is read before and after the counted requests.
 */
async function direct(url: string, ca: string, instances: number, l: (typeof LEVELS)[number], metricsUrl?: string): Promise<AdmissionFigures> {
  const agent = new Agent({ connections: l.concurrency, keepAliveTimeout: 30_000, connect: { ca } });
  try {
    const send = async (i: number) => {
      const res = await request(url, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify(review(instances, i)) });
      const body = (await res.body.json()) as { response?: { allowed?: boolean } };
      if (res.statusCode !== 200) throw new Error(`${url} answered HTTP ${res.statusCode}`);
      return body.response?.allowed === true;
    };
    await level(l.concurrency, Math.min(200, l.requests), send);
    const before = metricsUrl ? await serverBuckets(metricsUrl, agent) : undefined;
    const figures = await level(l.concurrency, l.requests, send);
    if (metricsUrl && before) figures.server = serverView(before, await serverBuckets(metricsUrl, agent));
    return figures;
  } finally {
    await agent.close();
  }
}

export interface WebhookFigures {
  direct: AdmissionFigures[];
  /** A bare node:https server that parses and admits (floor-server.ts), same client, same levels. */
  floor: AdmissionFigures[];
  apiserver: AdmissionFigures[];
}

export async function benchWebhook(opts: { admin: KubeHttp; webhookUrl: string; instances: number; logDir: string; log: (m: string) => void }): Promise<WebhookFigures> {
  const secret = await opts.admin.request<{ data?: Record<string, string> }>('GET', nsPath('secrets', OPERATOR_NAMESPACE, 'crossgate-webhook-tls'));
  const pem = (k: string) => Buffer.from(secret.data?.[k] ?? '', 'base64').toString('utf8');
  const ca = pem('ca.crt');
  if (!ca) throw new Error('no ca.crt in Secret crossgate-webhook-tls');
  const figures: WebhookFigures = { direct: [], floor: [], apiserver: [] };
  const floor = startNode('floor-server', 'bench/controlplane/floor-server.ts', {}, opts.logDir, [], JSON.stringify({ cert: pem('tls.crt'), key: pem('tls.key') }));
  try {
    const floorUrl = `https://127.0.0.1:${(await floor.waitForLine(/^\d+$/, 15_000)).trim()}/validate`;
    for (const l of LEVELS) {
      const d = await direct(opts.webhookUrl, ca, opts.instances, l, opts.webhookUrl.replace(/\/validate$/, '/metrics'));
      figures.direct.push(d);
      const inside = d.server ? `; inside the webhook ${d.server.within.slice(0, 4).map((w) => `${(w.share * 100).toFixed(1)} % ≤ ${w.ms} ms`).join(', ')}` : '';
      opts.log(`webhook direct   c=${l.concurrency}: p50 ${d.latency.p50.toFixed(2)} ms, p99 ${d.latency.p99.toFixed(2)} ms, ${d.rps.toFixed(0)} req/s${d.denied ? `, ${d.denied} denied` : ''}${inside}`);
      const f = await direct(floorUrl, ca, opts.instances, l);
      figures.floor.push(f);
      opts.log(`bare https floor c=${l.concurrency}: p50 ${f.latency.p50.toFixed(2)} ms, p99 ${f.latency.p99.toFixed(2)} ms, ${f.rps.toFixed(0)} req/s`);
    }
  } finally {
    await floor.stop();
  }
  for (const l of LEVELS) {
    const send = async (i: number) => {
      await opts.admin.request('POST', nsPath('apikeys', CONSUMER.env), { body: apiKeyBody(`wh-dry-${i}`, i % opts.instances, i), query: { dryRun: 'All' } });
      return true;
    };
    await level(l.concurrency, Math.min(100, l.viaApiserver), send);
    const a = await level(l.concurrency, l.viaApiserver, send);
    figures.apiserver.push(a);
    opts.log(`via apiserver    c=${l.concurrency}: p50 ${a.latency.p50.toFixed(2)} ms, p99 ${a.latency.p99.toFixed(2)} ms, ${a.rps.toFixed(0)} req/s`);
  }
  return figures;
}
