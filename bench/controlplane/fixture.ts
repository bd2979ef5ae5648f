// The world the keys live in: two organizations with mutual trust (the owner
// shares each ApiInstance with the consumer, view-only), an http Asset, N
// ApiInstances on the loopback upstream, one automated api-key Policy, three
// automatic SlaTiers per instance. Keys are cross-organization: the consumer's
// ApiKeys name the owner's instances, so admission and reconciliation both go
// through trust and share checks (the expensive path of model/access.ts).
import { isAlreadyExists, type KubeHttp } from '../../kube/kube.ts';
import { waitFor } from '../../test/e2e/support/wait.ts';
import { pool, range } from './stats.ts';

export const GROUP_PATH = '/apis/crossgate.dev/v1alpha1';
export const OWNER = { name: 'bench-owner', home: 'bench-owner', env: 'bench-owner-prod' };
export const CONSUMER = { name: 'bench-consumer', home: 'bench-consumer', env: 'bench-consumer-prod' };
export const TIERS = ['gold', 'silver', 'bronze'] as const;

export const instanceName = (i: number) => `api-${String(i).padStart(4, '0')}`;
export const tierName = (i: number, t: number) => `${instanceName(i)}-${TIERS[t % TIERS.length]}`;
/** The owner's route space on the gateway's shared host (Organization spec.routes): every instance serves under it. */
export const OWNER_PATH_PREFIX = '/bench';
export const basePathOf = (i: number) => `${OWNER_PATH_PREFIX}/${instanceName(i)}`;

export function nsPath(plural: string, namespace?: string, name?: string): string {
  const base = plural === 'secrets' || plural === 'namespaces' || plural === 'configmaps' ? '/api/v1' : GROUP_PATH;
  return `${base}${namespace ? `/namespaces/${namespace}` : ''}/${plural}${name ? `/${name}` : ''}`;
}

export async function createOrKeep(http: KubeHttp, plural: string, namespace: string | undefined, body: unknown): Promise<void> {
  try {
    await http.request('POST', nsPath(plural, namespace), { body });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}

const obj = (kind: string, name: string, namespace: string | undefined, spec: unknown, labels?: Record<string, string>) => ({
  apiVersion: 'crossgate.dev/v1alpha1',
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) },
  spec,
});

export function apiKeyBody(name: string, instance: number, tier: number) {
  return obj('ApiKey', name, CONSUMER.env, {
    apiInstanceRef: { name: instanceName(instance), namespace: OWNER.env },
    tier: tierName(instance, tier),
    clientName: `bench client ${name}`,
  });
}

export function apiInstanceBody(i: number, upstream: string) {
  return obj('ApiInstance', instanceName(i), OWNER.env, {
    assetRef: { name: 'bench-api', namespace: OWNER.home },
    basePath: basePathOf(i),
    upstream: { url: upstream, timeoutSeconds: 10 },
  }, { bench: 'true' });
}

/** Organizations, trust both ways, Asset, Policy, then `instances` instances with tiers and shares. */
export async function createWorld(http: KubeHttp, opts: { instances: number; upstream: string; concurrency?: number; log: (m: string) => void }): Promise<void> {
  for (const org of [OWNER, CONSUMER]) {
    await createOrKeep(http, 'organizations', undefined, obj('Organization', org.name, undefined, {
      domain: org.name,
      displayName: org.name,
      homeNamespace: org.home,
      environments: [{ name: 'production', namespace: org.env, type: 'production' }],
      memberGroups: [`${org.name}:members`],
      adminGroups: [`${org.name}:admins`],
      // Route space is assigned, not grabbed: the owner's instances must sit inside it to be served.
      ...(org === OWNER ? { routes: { pathPrefixes: [OWNER_PATH_PREFIX] } } : {}),
    }));
  }
  // The operator creates the namespaces.
  await waitFor(async () => {
    for (const ns of [OWNER.home, OWNER.env, CONSUMER.home, CONSUMER.env]) await http.request('GET', nsPath('namespaces', undefined, ns));
    return true;
  }, { timeoutMs: 60_000, what: 'organization namespaces' });
  await createOrKeep(http, 'orgtrusts', OWNER.home, obj('OrgTrust', CONSUMER.name, OWNER.home, { peerDomain: CONSUMER.name }));
  await createOrKeep(http, 'orgtrusts', CONSUMER.home, obj('OrgTrust', OWNER.name, CONSUMER.home, { peerDomain: OWNER.name }));
  await createOrKeep(http, 'assets', OWNER.home, obj('Asset', 'bench-api', OWNER.home, { type: 'http', title: 'Bench API', version: '1.0.0' }));
  await createOrKeep(http, 'policies', OWNER.env, obj('Policy', 'client-id', OWNER.env, {
    type: 'api-key', order: 10, selector: { matchLabels: { bench: 'true' } }, config: { header: 'x-api-key' },
  }));
  await addInstances(http, 0, opts.instances, opts);
}

/** Instances from..to-1, each with its three tiers and a share with the consumer. */
export async function addInstances(http: KubeHttp, from: number, to: number, opts: { upstream: string; concurrency?: number; log: (m: string) => void }): Promise<void> {
  const t0 = performance.now();
  await pool(range(to - from).map((i) => i + from), opts.concurrency ?? 16, async (i) => {
    await createOrKeep(http, 'apiinstances', OWNER.env, apiInstanceBody(i, opts.upstream));
    for (let t = 0; t < TIERS.length; t++) {
      await createOrKeep(http, 'slatiers', OWNER.env, obj('SlaTier', tierName(i, t), OWNER.env, {
        apiInstanceRef: { name: instanceName(i) },
        displayName: TIERS[t],
        limits: [{ requests: 1_000_000, period: 'minute' }],
        approval: 'automatic',
      }));
    }
    // Admission refuses the share until the webhook's cache has both trusts: retry.
    await waitFor(async () => {
      await createOrKeep(http, 'assetshares', OWNER.home, obj('AssetShare', instanceName(i), OWNER.home, {
        targetRef: { kind: 'ApiInstance', name: instanceName(i), namespace: OWNER.env },
        peers: [{ domain: CONSUMER.name, access: 'view' }],
      }));
      return true;
    }, { timeoutMs: 60_000, intervalMs: 250, what: `share of ${instanceName(i)} admitted` });
  });
  opts.log(`instances ${from}..${to - 1} with ${TIERS.length} tiers and a share each: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** Waits until a dry-run ApiKey for the last instance is admitted (webhook cache has trust and shares). */
export async function waitKeysAdmissible(http: KubeHttp, instance: number): Promise<void> {
  await waitFor(async () => {
    await http.request('POST', nsPath('apikeys', CONSUMER.env), { body: apiKeyBody('admission-probe', instance, 0), query: { dryRun: 'All' } });
    return true;
  }, { timeoutMs: 60_000, intervalMs: 250, what: 'ApiKeys admitted' });
}
