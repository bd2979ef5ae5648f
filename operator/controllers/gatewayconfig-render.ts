// Pure rendering of the gateway config (api/gateway/v1.ts): routes with their
// ordered policies and tiers, and the credential index split in shards, each
// part with its checksum. Unchanged parts keep their checksum and generation,
// so the writer rewrites only what changed (one shard per key change).
import type { ApiInstance, Policy, SlaTier } from '../../api/v1alpha1/index.ts';
import {
  CREDENTIAL_SHARDS, GATEWAY_CONFIG_API_VERSION, MAX_CREDENTIAL_SHARDS, MAX_PART_BYTES, PERIOD_SECONDS, ROUTE_SHARDS, manifestName, routesName, shardName,
  type Credential, type CredentialsPart, type Manifest, type Route, type RoutesPart,
} from '../../api/gateway/v1.ts';
import { canonicalJson, checksumOf, routeShardOf, sha256Hex, shardOf } from '../../api/gateway/checksum.ts';
import { MAX_ROUTE_BYTES } from '../../model/route-size.ts';
import { gatewayOf, instanceId, routeConflicts } from './apiinstance-desired.ts';
import { upstreamUrlOf } from '../../model/upstream.ts';

export interface RouteInput {
  instance: ApiInstance;
  /** Already in enforcement order. */
  policies: Policy[];
  tiers: SlaTier[];
  /** Set when the route is held closed (model/route-verdict.ts): emitted without upstream, policies or tiers. */
  withheld?: { reason: string; message: string };
}

export function routeOf({ instance, policies, tiers, withheld }: RouteInput): Route {
  const ns = instance.metadata.namespace!;
  const timeoutMs = (instance.spec.upstream.timeoutSeconds ?? 30) * 1000;
  const id = `${ns}/${instance.metadata.name}`;
  const hostnames = [...(instance.spec.hostnames ?? [])].sort();
  if (withheld) {
    return { id, hostnames, basePath: instance.spec.basePath, upstream: { url: '', timeoutMs }, policies: [], tiers: [], withheld: { reason: withheld.reason, message: withheld.message } };
  }
  return {
    id,
    hostnames,
    basePath: instance.spec.basePath,
    upstream: { url: upstreamUrlOf(instance), timeoutMs },
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
  /**
   * What the writer records on the object to tell later whether it must be
   * rewritten: the checksum, and for a shard also the shard count (an empty
   * shard has the same checksum at every count, but must be rewritten to say
   * the new count).
   */
  stamp: string;
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

/** The previous config as found: manifest generation and each part's stamp (RenderedPart) and generation. */
export interface PreviousConfig {
  generation: number;
  parts: Map<string, { stamp: string; generation: number }>;
}

interface Shard {
  entries: Record<string, Credential>;
  owners: Map<string, string>;
  /** Each entry's `"hash":{…}` in canonical JSON, so a checksum does not re-serialise the shard. */
  fragments: Map<string, string>;
  checksum: string | undefined;
}

const emptyShard = (): Shard => ({ entries: {}, owners: new Map(), fragments: new Map(), checksum: undefined });

/** Keys a shard holds on average before the shard count doubles. */
export const KEYS_PER_SHARD = 256;

/**
 * How many credential shards `entries` keys need, given the count in use.
 * A key change rewrites its shard, so shards must stay small as keys grow
 * (a write's size is what etcd keeps until compaction and what the gateway
 * re-parses): the count doubles once shards average KEYS_PER_SHARD keys, up
 * to 256, and halves only once the halved count would be half full, so a
 * count near a threshold does not flap. Every change of count rewrites every
 * shard once.
 */
export function credentialShardsFor(entries: number, current: number): number {
  let shards = Math.min(MAX_CREDENTIAL_SHARDS, Math.max(CREDENTIAL_SHARDS, current));
  while (shards < MAX_CREDENTIAL_SHARDS && entries > shards * KEYS_PER_SHARD) shards *= 2;
  while (shards > CREDENTIAL_SHARDS && entries < (shards / 4) * KEYS_PER_SHARD) shards /= 2;
  return shards;
}

/**
 * The credential index kept between renders: each owner (an ApiKey, "ns/name")
 * contributes its entries; a shard's checksum is recomputed only after one of
 * its entries changed, so a render after a one-key change costs one shard, not
 * the whole index. Pure bookkeeping, no I/O.
 */
export class CredentialIndex {
  #shards: Shard[];
  #byOwner = new Map<string, { fragments: string[]; entries: Array<[string, Credential]> }>();

  constructor(shards = CREDENTIAL_SHARDS) {
    if (!Number.isInteger(shards) || shards < 1 || shards > MAX_CREDENTIAL_SHARDS) throw new RangeError(`shard count must be an integer from 1 to ${MAX_CREDENTIAL_SHARDS}, got ${shards}`);
    this.#shards = Array.from({ length: shards }, emptyShard);
  }

  /** An index of plain entries (each hash its own owner; a later duplicate wins, as in an object). */
  static from(credentials: Iterable<[string, Credential]>, shards = CREDENTIAL_SHARDS): CredentialIndex {
    const index = new CredentialIndex(shards);
    for (const entry of credentials) index.set(entry[0], [entry]);
    return index;
  }

  get shardCount(): number {
    return this.#shards.length;
  }

  /** Spreads every entry over `shards` shards, keeping its fragment (every shard's checksum is recomputed on the next render). */
  reshard(shards: number): void {
    if (shards === this.#shards.length) return;
    const before = this.#shards;
    this.#shards = new CredentialIndex(shards).#shards;
    for (const old of before) {
      for (const [hash, owner] of old.owners) {
        const shard = this.#shards[shardOf(hash, shards)]!;
        shard.entries[hash] = old.entries[hash]!;
        shard.owners.set(hash, owner);
        shard.fragments.set(hash, old.fragments.get(hash)!);
      }
    }
  }

  /** Replaces the entries of `owner`; returns whether anything changed. */
  set(owner: string, entries: Array<[string, Credential]>): boolean {
    if (entries.length === 0) return this.delete(owner);
    // The canonical fragments say everything about the entries: equal fragments, nothing to do.
    const fragments = entries.map(([hash, cred]) => `${JSON.stringify(hash)}:${canonicalJson(cred)}`);
    const before = this.#byOwner.get(owner);
    if (before && before.fragments.length === fragments.length && before.fragments.every((f, i) => f === fragments[i])) return false;
    if (before) this.#remove(owner, before.entries);
    entries.forEach(([hash, cred], i) => {
      const shard = this.#shards[shardOf(hash, this.#shards.length)]!;
      shard.entries[hash] = cred;
      shard.owners.set(hash, owner);
      shard.fragments.set(hash, fragments[i]!);
      shard.checksum = undefined;
    });
    this.#byOwner.set(owner, { fragments, entries });
    return true;
  }

  delete(owner: string): boolean {
    const before = this.#byOwner.get(owner);
    if (!before) return false;
    this.#remove(owner, before.entries);
    this.#byOwner.delete(owner);
    return true;
  }

  #remove(owner: string, entries: Array<[string, Credential]>): void {
    for (const [hash] of entries) {
      const shard = this.#shards[shardOf(hash, this.#shards.length)]!;
      if (shard.owners.get(hash) !== owner) continue; // another owner holds that hash now
      delete shard.entries[hash];
      shard.owners.delete(hash);
      shard.fragments.delete(hash);
      shard.checksum = undefined;
    }
  }

  owners(): IterableIterator<string> {
    return this.#byOwner.keys();
  }

  /** Number of entries (hashes) in the index. */
  get size(): number {
    let n = 0;
    for (const s of this.#shards) n += s.owners.size;
    return n;
  }

  /** A shard's entries (do not mutate) and checksum, computed when it changed. */
  shard(i: number): { entries: Record<string, Credential>; checksum: string } {
    const s = this.#shards[i]!;
    if (s.checksum === undefined) {
      // checksumOf(s.entries), from the cached fragments: canonical JSON sorts object keys by code unit.
      const hashes = [...s.fragments.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      s.checksum = `sha256:${sha256Hex(`{${hashes.map((h) => s.fragments.get(h)).join(',')}}`)}`;
    }
    return { entries: s.entries, checksum: s.checksum };
  }
}

/** One route shard's content (a Routes part) and its checksum. */
export interface RenderedRouteShard {
  routes: Route[];
  checksum: string;
}

/** The route shards, ROUTE_SHARDS of them, each in id order with its checksum: what render() needs of them (a writer may keep it while the routes do not change). */
export interface RenderedRoutes {
  shards: RenderedRouteShard[];
  /** Routes the renderer itself held closed (ids): over MAX_ROUTE_BYTES, or the largest of a shard over MAX_PART_BYTES; besides those the route verdict withheld. */
  trimmed: string[];
}

const tooLarge = (bytes: number, budget: number, why: string) => ({
  reason: 'RouteTooLarge',
  message: `the gateway answers 503 on this route: its configuration is ${bytes} bytes, ${why} (budget ${budget} bytes); make its Policies' configs smaller`,
});

/**
 * Routes in shards. A route whose JSON is over MAX_ROUTE_BYTES is emitted
 * withheld (the route verdict normally withheld it already, from the same
 * inputs); a shard still over the part budget has its largest routes withheld
 * until it fits, so every shard can always be written.
 */
export function renderRoutes(inputs: RouteInput[], budgets: { route?: number; part?: number } = {}): RenderedRoutes {
  const routeBudget = budgets.route ?? MAX_ROUTE_BYTES;
  const partBudget = budgets.part ?? MAX_PART_BYTES;
  const buckets: Array<Array<{ input: RouteInput; route: Route; bytes: number }>> = Array.from({ length: ROUTE_SHARDS }, () => []);
  const trimmed: string[] = [];
  for (const input of inputs) {
    let route = routeOf(input);
    let bytes = Buffer.byteLength(JSON.stringify(route));
    if (bytes > routeBudget) {
      route = routeOf({ ...input, withheld: tooLarge(bytes, routeBudget, 'over the budget of one route') });
      bytes = Buffer.byteLength(JSON.stringify(route));
      trimmed.push(route.id);
    }
    buckets[routeShardOf(route.id, ROUTE_SHARDS)]!.push({ input, route, bytes });
  }
  const shards = buckets.map((bucket) => {
    // The part's own fields (apiVersion, kind, gateway, generation, checksum, shard numbers) and separators.
    let total = 300 + bucket.reduce((n, r) => n + r.bytes + 1, 0);
    if (total > partBudget) {
      for (const r of [...bucket].sort((a, b) => b.bytes - a.bytes || (a.route.id < b.route.id ? -1 : 1))) {
        if (total <= partBudget) break;
        if (r.route.withheld && r.bytes < 1024) continue;
        const held = routeOf({ ...r.input, withheld: tooLarge(r.bytes, partBudget, 'and its route shard is over the budget of one config part') });
        const bytes = Buffer.byteLength(JSON.stringify(held));
        total += bytes - r.bytes;
        r.route = held;
        r.bytes = bytes;
        trimmed.push(held.id);
      }
    }
    const routes = bucket.map((r) => r.route).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { routes, checksum: checksumOf(routes) };
  });
  return { shards, trimmed };
}

export function render(
  gateway: string,
  routes: RouteInput[] | RenderedRoutes,
  credentials: Iterable<[string, Credential]> | CredentialIndex,
  previous: PreviousConfig | undefined,
): Rendered {
  const rendered = Array.isArray(routes) ? renderRoutes(routes) : routes;
  const index = credentials instanceof CredentialIndex ? credentials : CredentialIndex.from(credentials);

  const candidates: Array<{ name: string; kind: 'Routes' | 'Credentials'; checksum: string; stamp: string; make: (generation: number) => RoutesPart | CredentialsPart }> = [];
  rendered.shards.forEach(({ routes: shardRoutes, checksum }, shard) => {
    candidates.push({
      name: routesName(gateway, shard),
      kind: 'Routes',
      checksum,
      stamp: checksum,
      make: (generation) => ({ apiVersion: GATEWAY_CONFIG_API_VERSION, kind: 'Routes', gateway, generation, checksum, shard, shards: ROUTE_SHARDS, routes: shardRoutes }),
    });
  });
  const shards = index.shardCount;
  for (let shard = 0; shard < shards; shard++) {
    const { entries, checksum } = index.shard(shard);
    candidates.push({
      name: shardName(gateway, shard),
      kind: 'Credentials',
      checksum,
      stamp: `${checksum} shards=${shards}`,
      make: (generation) => ({ apiVersion: GATEWAY_CONFIG_API_VERSION, kind: 'Credentials', gateway, generation, checksum, shard, shards, entries }),
    });
  }

  const isChanged = (c: { name: string; stamp: string }) => previous?.parts.get(c.name)?.stamp !== c.stamp;
  const anyChange = !previous || candidates.some(isChanged) || previous.parts.size !== candidates.length;
  const generation = anyChange ? (previous?.generation ?? 0) + 1 : previous!.generation;
  const parts: RenderedPart[] = candidates.map((c) => {
    const gen = isChanged(c) ? generation : previous!.parts.get(c.name)!.generation;
    return { name: c.name, kind: c.kind, checksum: c.checksum, stamp: c.stamp, body: c.make(gen) };
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

/** A part as the manifest lists it, with what the writer records of it. */
export interface ListedPart {
  name: string;
  kind: RenderedPart['kind'];
  checksum: string;
  stamp: string;
  generation: number;
}

/**
 * Writes the changed parts of `out`, each on its own, then the manifest. One
 * part that cannot be written (over budget, refused by the apiserver) does not
 * stop the others nor the manifest, so a revocation in another shard always
 * reaches the gateway: the manifest lists what the failed part still holds
 * (its previous checksum), or leaves it out when it never existed, so the
 * gateway sees a consistent config; the caller retries the failed parts (they
 * stay changed against `listed`). A failing manifest write throws.
 */
export async function writeRendered(
  out: Rendered,
  previous: PreviousConfig | undefined,
  writePart: (part: RenderedPart) => Promise<void>,
  writeManifest: (manifest: Manifest) => Promise<void>,
): Promise<{ manifest: Manifest; listed: ListedPart[]; failed: Map<string, string>; manifestWritten: boolean }> {
  const failed = new Map<string, string>();
  for (const part of out.changed) {
    try {
      await writePart(part);
    } catch (err) {
      failed.set(part.name, err instanceof Error ? err.message : String(err));
    }
  }
  const listed: ListedPart[] = [];
  for (const p of out.parts) {
    if (!failed.has(p.name)) {
      listed.push({ name: p.name, kind: p.kind, checksum: p.checksum, stamp: p.stamp, generation: p.body.generation });
      continue;
    }
    const before = previous?.parts.get(p.name);
    // A stamp is the checksum, followed for a shard by its count (RenderedPart.stamp).
    if (before) listed.push({ name: p.name, kind: p.kind, checksum: before.stamp.split(' ')[0]!, stamp: before.stamp, generation: before.generation });
  }
  const manifest = failed.size === 0 ? out.manifest : { ...out.manifest, parts: listed.map((p) => ({ name: p.name, kind: p.kind, checksum: p.checksum })) };
  const manifestWritten = !previous || previous.generation !== manifest.generation;
  if (manifestWritten) await writeManifest(manifest);
  return { manifest, listed, failed, manifestWritten };
}

/** Instances a gateway serves: on that gateway, not being deleted, and not losing a route conflict. */
export function routableInstances<T extends ApiInstance>(instances: readonly T[], gateway: string): T[] {
  const losers = routeConflicts(instances);
  return instances.filter((i) => gatewayOf(i) === gateway && !i.metadata.deletionTimestamp && !losers.has(instanceId(i)));
}
