// Admission latency: AdmissionReviews POSTed straight to the webhook over
// HTTPS (its CA from the Secret it manages), and server-side dry-run creates
// through the apiserver (which calls the webhook). The reviewed object is a
// cross-organization ApiKey: the rule resolves ownership, trust both ways and
// the share, the most expensive check crossgate makes at admission.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import type { KubeHttp } from '../../operator/lib/kube.ts';
import { OPERATOR_NAMESPACE } from './env.ts';
import { CONSUMER, apiKeyBody, nsPath } from './fixture.ts';
import { pool, range, summarize, type Summary } from './stats.ts';

export interface AdmissionFigures {
  concurrency: number;
  requests: number;
  /** Requests per second over the level. */
  rps: number;
  latency: Summary;
  denied: number;
}

const LEVELS = [
  { concurrency: 1, requests: 1000, viaApiserver: 300 },
  { concurrency: 10, requests: 3000, viaApiserver: 1000 },
  { concurrency: 100, requests: 5000, viaApiserver: 2000 },
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

export async function benchWebhook(opts: { admin: KubeHttp; webhookUrl: string; instances: number; log: (m: string) => void }): Promise<{ direct: AdmissionFigures[]; apiserver: AdmissionFigures[] }> {
  const secret = await opts.admin.request<{ data?: Record<string, string> }>('GET', nsPath('secrets', OPERATOR_NAMESPACE, 'crossgate-webhook-tls'));
  const ca = Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString('utf8');
  if (!ca) throw new Error('no ca.crt in Secret crossgate-webhook-tls');
  const direct: AdmissionFigures[] = [];
  const apiserver: AdmissionFigures[] = [];
  for (const l of LEVELS) {
    const agent = new Agent({ connections: l.concurrency, keepAliveTimeout: 30_000, connect: { ca } });
    const send = async (i: number) => {
      const res = await request(opts.webhookUrl, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify(review(opts.instances, i)) });
      const body = (await res.body.json()) as { response?: { allowed?: boolean } };
      if (res.statusCode !== 200) throw new Error(`webhook answered HTTP ${res.statusCode}`);
      return body.response?.allowed === true;
    };
    await level(l.concurrency, Math.min(200, l.requests), send); // warm-up: connections, JIT
    const d = await level(l.concurrency, l.requests, send);
    direct.push(d);
    await agent.close();
    opts.log(`webhook direct   c=${l.concurrency}: p50 ${d.latency.p50.toFixed(2)} ms, p99 ${d.latency.p99.toFixed(2)} ms, ${d.rps.toFixed(0)} req/s${d.denied ? `, ${d.denied} denied` : ''}`);
  }
  for (const l of LEVELS) {
    const send = async (i: number) => {
      await opts.admin.request('POST', nsPath('apikeys', CONSUMER.env), { body: apiKeyBody(`wh-dry-${i}`, i % opts.instances, i), query: { dryRun: 'All' } });
      return true;
    };
    await level(l.concurrency, Math.min(100, l.viaApiserver), send);
    const a = await level(l.concurrency, l.viaApiserver, send);
    apiserver.push(a);
    opts.log(`via apiserver    c=${l.concurrency}: p50 ${a.latency.p50.toFixed(2)} ms, p99 ${a.latency.p99.toFixed(2)} ms, ${a.rps.toFixed(0)} req/s`);
  }
  return { direct, apiserver };
}
