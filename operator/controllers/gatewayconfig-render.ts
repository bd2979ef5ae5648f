// Pure rendering of the gateway config (api/gateway/v1.ts): routes with their
// ordered policies and tiers, and the credential index split in shards, each
// part with its checksum. Unchanged parts keep their checksum and generation,
// so the writer rewrites only what changed (one shard per key change).
import type { ApiInstance, Policy, SlaTier } from '../../api/v1alpha1/index.ts';
import {
  CREDENTIAL_SHARDS, GATEWAY_CONFIG_API_VERSION, PERIOD_SECONDS, manifestName, routesName, shardName,
  type Credential, type CredentialsPart, type Manifest, type Route, type RoutesPart,
} from '../../api/gateway/v1.ts';
import { checksumOf, shardOf } from '../../api/gateway/checksum.ts';
import { gatewayOf, instanceId, routeConflicts } from './apiinstance-desired.ts';

export interface RouteInput {
  instance: ApiInstance;
  /** Already in enforcement order. */
  policies: Policy[];
  tiers: SlaTier[];
}

export function routeOf({ instance, policies, tiers }: RouteInput): Route {
  const ns = instance.metadata.namespace!;
  return {
    id: `${ns}/${instance.metadata.name}`,
    hostnames: [...(instance.spec.hostnames ?? [])].sort(),
    basePath: instance.spec.basePath,
    upstream: { url: instance.spec.upstream.url, timeoutMs: (instance.spec.upstream.timeoutSeconds ?? 30) * 1000 },
    policies: policies.map((p) => ({ name: `${ns}/${p.metadata.name}`, type: p.spec.type, order: p.spec.order ?? 100, config: (p.spec.config ?? {}) as Record<string, unknown> })),
    tiers: [...tiers]
      .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))
      .map((t) => ({ name: t.metadata.name!, limits: t.spec.limits.map((l) => ({ requests: l.requests, periodSeconds: PERIOD_SECONDS[l.period] })) })),
  };
}

export interface RenderedPart {
  name: string;
  kind: 'Routes' | 'Credentials';
  checksum: string;
  /** The part object to write (JSON), with its generation. */
  body: RoutesPart | CredentialsPart;
}

export interface Rendered {
  manifest: Manifest;
  /** Parts whose content changed since `previous` (to write before the manifest). */
  changed: RenderedPart[];
  /** Every part, changed or not. */
  parts: RenderedPart[];
}

/** The previous config as found: manifest generation and each part's checksum and generation. */
export interface PreviousConfig {
  generation: number;
  parts: Map<string, { checksum: string; generation: number }>;
}

export function render(gateway: string, routes: RouteInput[], credentials: Iterable<[string, Credential]>, previous: PreviousConfig | undefined): Rendered {
  const routeList = routes.map(routeOf).sort((a, b) => a.id.localeCompare(b.id));
  const shards: Array<Record<string, Credential>> = Array.from({ length: CREDENTIAL_SHARDS }, () => ({}));
  for (const [hash, cred] of credentials) shards[shardOf(hash, CREDENTIAL_SHARDS)]![hash] = cred;

  const candidates: Array<{ name: string; kind: 'Routes' | 'Credentials'; checksum: string; make: (generation: number) => RoutesPart | CredentialsPart }> = [];
  const routesChecksum = checksumOf(routeList);
  candidates.push({
    name: routesName(gateway),
    kind: 'Routes',
    checksum: routesChecksum,
    make: (generation) => ({ apiVersion: GATEWAY_CONFIG_API_VERSION, kind: 'Routes', gateway, generation, checksum: routesChecksum, routes: routeList }),
  });
  shards.forEach((entries, shard) => {
    const checksum = checksumOf(entries);
    candidates.push({
      name: shardName(gateway, shard),
      kind: 'Credentials',
      checksum,
      make: (generation) => ({ apiVersion: GATEWAY_CONFIG_API_VERSION, kind: 'Credentials', gateway, generation, checksum, shard, shards: CREDENTIAL_SHARDS, entries }),
    });
  });

  const isChanged = (c: { name: string; checksum: string }) => previous?.parts.get(c.name)?.checksum !== c.checksum;
  const anyChange = !previous || candidates.some(isChanged) || previous.parts.size !== candidates.length;
  const generation = anyChange ? (previous?.generation ?? 0) + 1 : previous!.generation;
  const parts: RenderedPart[] = candidates.map((c) => {
    const gen = isChanged(c) ? generation : previous!.parts.get(c.name)!.generation;
    return { name: c.name, kind: c.kind, checksum: c.checksum, body: c.make(gen) };
  });
  return {
    manifest: {
      apiVersion: GATEWAY_CONFIG_API_VERSION,
      kind: 'Manifest',
      gateway,
      generation,
      parts: parts.map((p) => ({ name: p.name, kind: p.kind, checksum: p.checksum })),
    },
    changed: parts.filter((p) => isChanged(p)),
    parts,
  };
}

export { manifestName };

/** Instances a gateway serves: on that gateway, not being deleted, and not losing a route conflict. */
export function routableInstances<T extends ApiInstance>(instances: readonly T[], gateway: string): T[] {
  const losers = routeConflicts(instances);
  return instances.filter((i) => gatewayOf(i) === gateway && !i.metadata.deletionTimestamp && !losers.has(instanceId(i)));
}
