// Turns the raw parts of a gateway config (the JSON texts of the Manifest,
// Routes and Credentials ConfigMaps or files, by name) into a CompiledConfig,
// or explains why not.
//
// A part is used when it is present, valid (ajv, from the TypeBox schemas in
// api/gateway/config.ts), carries the checksum the Manifest lists (and its content
// really hashes to it), belongs to this gateway and was computed at or before
// the Manifest's generation. Without a usable Manifest nothing changes (the
// last good config stays). With one, every usable part of the generation
// loads and a part that is not usable is KEPT BACK: a route shard keeps the
// routes it had in the config in force (none if it had none), a credentials
// shard keeps its entries the same way. One bad or unwritable part (a huge
// route, a corrupt shard) therefore costs only its own routes or keys their
// updates, never everyone's: a revocation in another shard still arrives.
// Parts merely not arrived yet (not found, another checksum, newer than the
// Manifest) are waited for up to `partGraceMs` before the generation loads
// without them. What was kept back is reported (result, logs, a metric).
//
// Generation rule: a part's `generation` is the generation at which its
// content last changed, so it may be lower than the Manifest's (one key
// change rewrites one shard and the Manifest, not every object); a part
// NEWER than the Manifest means the Manifest is about to be rewritten.
//
// Work is proportional to what changed: a part's text is parsed, validated
// and (for a shard) turned into its Map only when the text changes; a route
// shard is compiled again only when its checksum changes, and the router is
// rebuilt only when a route shard changed: a one-key change costs one shard,
// whatever the number of keys (figures in docs/gateway.md, "Incremental work").
import { ajvCompileOnce } from './validate.ts';
import { checksumOf, routeShardOf, shardOf } from '../../api/gateway/checksum.ts';
import { CredentialsPart, Manifest, RoutesPart, manifestName, PART_DATA_KEY } from '../../api/gateway/config.ts';
import { CredentialIndex, Router, compileCredential, type CompiledConfig, type CompiledCredential, type CompiledRoute, type CompiledRoutes, type ShardMap } from '../compiled.ts';

type Meta = { gateway: string; generation: number; checksum: string };

type Parsed =
  | { ok: true; kind: 'Manifest'; manifest: Manifest }
  | { ok: true; kind: 'Routes'; meta: Meta; part: RoutesPart }
  | { ok: true; kind: 'Credentials'; meta: Meta; shard: number; shards: number; map: ShardMap }
  | { ok: false; error: string };

/** A listed part not used in a loaded config: the config in force keeps its previous content of that part (or none). */
export interface KeptBack {
  name: string;
  kind: 'Routes' | 'Credentials';
  reason: string;
  /** Invalid (refused) rather than not arrived yet. */
  invalid: boolean;
}

export type AssembleResult =
  | { status: 'loaded'; config: CompiledConfig; previous: CompiledConfig | undefined; rebuiltShards: number; routesRebuilt: boolean; keptBack: KeptBack[] }
  | { status: 'unchanged' }
  /**
   * Waiting for parts (transient; try again in retryMs) or refused (invalid:
   * true: the Manifest itself); the last good config stays.
   */
  | { status: 'pending'; reason: string; invalid: boolean; retryMs?: number };

export interface AssemblerOptions {
  gateway: string;
  /** Compiles one route shard (a Routes part). */
  compileRoutes: (part: RoutesPart) => CompiledRoutes;
  now?: () => number;
  /** How long a generation waits for listed parts that have not arrived before it loads without them; default 2000 ms. */
  partGraceMs?: number;
}

/** The most frequent shard count (ties: the larger), or `fallback` when there is none. */
function majorityShardCount(counts: readonly number[], fallback: number): number {
  const seen = new Map<number, number>();
  for (const c of counts) seen.set(c, (seen.get(c) ?? 0) + 1);
  let best = fallback;
  let n = 0;
  for (const [c, k] of seen) if (k > n || (k === n && c > best)) [best, n] = [c, k];
  return best;
}

/** The routes of several shards as one CompiledRoutes: one router over all of them. */
export function mergeRoutes(shards: readonly CompiledRoutes[]): CompiledRoutes {
  const routes: CompiledRoute[] = [];
  for (const s of shards) routes.push(...s.routes);
  routes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { checksum: checksumOf(shards.map((s) => s.checksum)), routes, byId: new Map(routes.map((r) => [r.id, r])), router: new Router(routes) };
}

const validateManifest = ajvCompileOnce(Manifest);
const validateRoutes = ajvCompileOnce(RoutesPart);
const validateCredentials = ajvCompileOnce(CredentialsPart);

export class ConfigAssembler {
  readonly gateway: string;
  #compileRoutes: (part: RoutesPart) => CompiledRoutes;
  #now: () => number;
  #texts = new Map<string, string>();
  #parsed = new Map<string, { text: string; result: Parsed }>();
  #partGraceMs: number;
  /** The compiled route shards and credential shards of the config in force, by part name. */
  #routeShards = new Map<string, CompiledRoutes>();
  #credShards = new Map<string, { shard: number; shards: number; map: ShardMap }>();
  #current: CompiledConfig | undefined;
  #dirty = true;
  /** When the Manifest generation now waiting for parts was first seen. */
  #waiting: { generation: number; since: number } | undefined;
  /** Parts kept back at the last load: not waited for again (one part that never arrives must not delay every later generation). */
  #keptBackNames = new Set<string>();
  /** Work counters, for tests and the /configz endpoint; keptBack: parts kept back at the last load. */
  readonly stats = { parses: 0, shardBuilds: 0, routeBuilds: 0, loads: 0, keptBack: 0 };

  constructor(opts: AssemblerOptions) {
    this.gateway = opts.gateway;
    this.#compileRoutes = opts.compileRoutes;
    this.#now = opts.now ?? Date.now;
    this.#partGraceMs = opts.partGraceMs ?? 2000;
  }

  get current(): CompiledConfig | undefined {
    return this.#current;
  }

  /** Records a part's JSON text (undefined: the object exists but has no config.json). Returns whether it changed. */
  set(name: string, text: string | undefined): boolean {
    if (text === undefined) return this.delete(name);
    if (this.#texts.get(name) === text) return false;
    this.#texts.set(name, text);
    this.#dirty = true;
    return true;
  }

  delete(name: string): boolean {
    if (!this.#texts.delete(name)) return false;
    this.#parsed.delete(name);
    this.#dirty = true;
    return true;
  }

  names(): string[] {
    return [...this.#texts.keys()];
  }

  #parse(name: string): Parsed | undefined {
    const text = this.#texts.get(name);
    if (text === undefined) return undefined;
    const cached = this.#parsed.get(name);
    if (cached && cached.text === text) return cached.result;
    const result = this.#parseText(name, text);
    this.#parsed.set(name, { text, result });
    return result;
  }

  #parseText(name: string, text: string): Parsed {
    this.stats.parses++;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      return { ok: false, error: `not JSON (${(e as Error).message})` };
    }
    // A ConfigMap saved as is (kubectl get -o json): take its config.json.
    const cm = obj as { kind?: unknown; data?: Record<string, unknown> };
    if (cm && cm.kind === 'ConfigMap') {
      const inner = cm.data?.[PART_DATA_KEY];
      if (typeof inner !== 'string') return { ok: false, error: `ConfigMap without data["${PART_DATA_KEY}"]` };
      try {
        obj = JSON.parse(inner);
      } catch (e) {
        return { ok: false, error: `data["${PART_DATA_KEY}"] is not JSON (${(e as Error).message})` };
      }
    }
    const kind = (obj as { kind?: unknown } | null)?.kind;
    if (kind === 'Manifest') {
      const errs = validateManifest(obj);
      if (errs) return { ok: false, error: `invalid Manifest: ${errs}` };
      return { ok: true, kind: 'Manifest', manifest: obj as Manifest };
    }
    if (kind === 'Routes') {
      const errs = validateRoutes(obj);
      if (errs) return { ok: false, error: `invalid Routes part: ${errs}` };
      const part = obj as RoutesPart;
      if (part.shard >= part.shards) return { ok: false, error: `route shard ${part.shard} out of range (shards ${part.shards})` };
      const actual = checksumOf(part.routes);
      if (actual !== part.checksum) return { ok: false, error: `content hashes to ${actual}, the part says ${part.checksum}` };
      for (const r of part.routes) {
        if (routeShardOf(r.id, part.shards) !== part.shard) return { ok: false, error: `route ${r.id} belongs to route shard ${routeShardOf(r.id, part.shards)}, not ${part.shard}` };
      }
      return { ok: true, kind: 'Routes', meta: { gateway: part.gateway, generation: part.generation, checksum: part.checksum }, part };
    }
    if (kind === 'Credentials') {
      const errs = validateCredentials(obj);
      if (errs) return { ok: false, error: `invalid Credentials part: ${errs}` };
      const part = obj as CredentialsPart;
      if (part.shard >= part.shards) return { ok: false, error: `shard ${part.shard} out of range (shards ${part.shards})` };
      const actual = checksumOf(part.entries);
      if (actual !== part.checksum) return { ok: false, error: `content hashes to ${actual}, the part says ${part.checksum}` };
      const map = new Map<string, CompiledCredential>();
      for (const hash in part.entries) {
        if (shardOf(hash, part.shards) !== part.shard) return { ok: false, error: `key hash ${hash.slice(0, 12)}… belongs to shard ${shardOf(hash, part.shards)}, not ${part.shard}` };
        map.set(hash, compileCredential(part.entries[hash]!));
      }
      this.stats.shardBuilds++;
      return { ok: true, kind: 'Credentials', meta: { gateway: part.gateway, generation: part.generation, checksum: part.checksum }, shard: part.shard, shards: part.shards, map };
    }
    return { ok: false, error: `unknown part kind ${JSON.stringify(kind)}` };
  }

  /** Tries to build a new config from the parts seen so far. */
  assemble(): AssembleResult {
    if (!this.#dirty) return { status: 'unchanged' };
    this.#dirty = false;
    const mName = manifestName(this.gateway);
    const m = this.#parse(mName);
    if (!m) return { status: 'pending', reason: `manifest ${mName} not found`, invalid: false };
    if (!m.ok) return { status: 'pending', reason: `manifest ${mName}: ${m.error}`, invalid: true };
    if (m.kind !== 'Manifest') return { status: 'pending', reason: `${mName} is a ${m.kind} part, not a Manifest`, invalid: true };
    const manifest = m.manifest;
    const gen = manifest.generation;
    if (manifest.gateway !== this.gateway) return { status: 'pending', reason: `manifest ${mName} is for gateway ${manifest.gateway}`, invalid: true };
    const names = new Set<string>();
    for (const p of manifest.parts) {
      if (names.has(p.name)) return { status: 'pending', reason: `manifest generation ${gen} lists part ${p.name} twice`, invalid: true };
      names.add(p.name);
    }

    const cur = this.#current;
    if (cur && cur.generation === gen && cur.parts.size === manifest.parts.length && manifest.parts.every((p) => cur.parts.get(p.name) === p.checksum)) {
      // Same manifest; make sure no listed part changed under it (re-parse is cached).
      let same = true;
      for (const p of manifest.parts) {
        const r = this.#parse(p.name);
        if (!r || !r.ok || r.kind === 'Manifest' || r.meta.checksum !== p.checksum) same = false;
      }
      if (same) return { status: 'unchanged' };
    }

    // Every listed part: usable, or kept back with the reason.
    const keptBack: KeptBack[] = [];
    const routeParts: Array<{ name: string; part: RoutesPart }> = [];
    const credParts: Array<{ name: string; checksum: string; shard: number; shards: number; map: ShardMap }> = [];
    for (const entry of manifest.parts) {
      const p = this.#parse(entry.name);
      const hold = (reason: string, invalid: boolean) => keptBack.push({ name: entry.name, kind: entry.kind, reason, invalid });
      if (!p) hold(`part ${entry.name} listed by manifest generation ${gen} not found`, false);
      else if (!p.ok) hold(`part ${entry.name}: ${p.error}`, true);
      else if (p.kind === 'Manifest' || p.kind !== entry.kind) hold(`part ${entry.name} is a ${p.kind}, the manifest says ${entry.kind}`, true);
      else if (p.meta.gateway !== this.gateway) hold(`part ${entry.name} is for gateway ${p.meta.gateway}`, true);
      else if (p.meta.checksum !== entry.checksum) hold(`part ${entry.name} has checksum ${p.meta.checksum}, manifest generation ${gen} expects ${entry.checksum}`, false);
      else if (p.meta.generation > gen) hold(`part ${entry.name} is of generation ${p.meta.generation}, newer than manifest generation ${gen}`, false);
      else if (p.kind === 'Routes') routeParts.push({ name: entry.name, part: p.part });
      else if (p.kind === 'Credentials') credParts.push({ name: entry.name, checksum: p.meta.checksum, shard: p.shard, shards: p.shards, map: p.map });
    }
    // The shard count: the one most usable shards agree on (a writer that could not write one shard may list
    // fewer parts than the count); shards saying another count are kept back.
    const credentialShards = majorityShardCount(credParts.map((c) => c.shards), manifest.parts.filter((p) => p.kind === 'Credentials').length);
    for (const c of credParts.filter((x) => x.shards !== credentialShards)) {
      keptBack.push({ name: c.name, kind: 'Credentials', reason: `part ${c.name} says ${c.shards} shards, the other shards ${credentialShards}`, invalid: true });
    }
    const usableCreds = credParts.filter((x) => x.shards === credentialShards);
    // Parts not arrived yet: wait a little for them (the writer writes parts before the manifest, but sources may deliver out of order).
    if (keptBack.some((k) => !k.invalid && !this.#keptBackNames.has(k.name))) {
      const now = this.#now();
      if (this.#waiting?.generation !== gen) this.#waiting = { generation: gen, since: now };
      const left = this.#waiting.since + this.#partGraceMs - now;
      if (left > 0) {
        this.#dirty = true; // assemble again after retryMs even without a change
        const first = keptBack.find((k) => !k.invalid && !this.#keptBackNames.has(k.name))!;
        return { status: 'pending', reason: first.reason, invalid: false, retryMs: left };
      }
    }

    // Route shards: the usable ones (compiled again only when their checksum changed), else what the config in force had.
    const loaded = new Map<string, string>();
    const routeShards = new Map<string, CompiledRoutes>();
    let routesRebuilt = false;
    for (const { name, part } of routeParts) {
      let compiled = this.#routeShards.get(name);
      if (compiled?.checksum !== part.checksum) {
        try {
          compiled = this.#compileRoutes(part);
        } catch (e) {
          keptBack.push({ name, kind: 'Routes', reason: `part ${name}: routes refused: ${(e as Error).message}`, invalid: true });
          continue;
        }
        this.stats.routeBuilds++;
        routesRebuilt = true;
      }
      routeShards.set(name, compiled);
      loaded.set(name, part.checksum);
    }
    for (const k of keptBack) {
      const last = k.kind === 'Routes' ? this.#routeShards.get(k.name) : undefined;
      if (last) {
        routeShards.set(k.name, last);
        loaded.set(k.name, cur?.parts.get(k.name) ?? last.checksum);
      }
    }
    if (!routesRebuilt && (routeShards.size !== this.#routeShards.size || [...routeShards].some(([n, r]) => this.#routeShards.get(n) !== r))) routesRebuilt = true;
    const routes = !routesRebuilt && cur ? cur.routes : mergeRoutes([...routeShards.keys()].sort().map((n) => routeShards.get(n)!));

    // Credential shards: the usable ones, else the entries the config in force had for that part (at the same shard count).
    const maps: Array<ShardMap | undefined> = new Array(credentialShards).fill(undefined);
    const credShards = new Map<string, { shard: number; shards: number; map: ShardMap }>();
    for (const c of usableCreds) {
      if (maps[c.shard]) {
        keptBack.push({ name: c.name, kind: 'Credentials', reason: `part ${c.name}: shard ${c.shard} listed twice`, invalid: true });
        continue;
      }
      maps[c.shard] = c.map;
      credShards.set(c.name, c);
      loaded.set(c.name, c.checksum);
    }
    for (const k of keptBack) {
      const last = k.kind === 'Credentials' ? this.#credShards.get(k.name) : undefined;
      if (last && last.shards === credentialShards && !maps[last.shard]) {
        maps[last.shard] = last.map;
        credShards.set(k.name, last);
        const was = cur?.parts.get(k.name);
        if (was) loaded.set(k.name, was);
      }
    }
    const rebuiltShards = usableCreds.filter((s) => !cur || cur.credentials.maps[s.shard] !== s.map).length;
    const config: CompiledConfig = {
      gateway: this.gateway,
      generation: gen,
      // What was loaded, part by part: a part kept back shows its old checksum (or none), so it is tried again when it changes.
      parts: loaded,
      routes,
      credentials: new CredentialIndex(Math.max(1, credentialShards), maps),
      loadedAt: this.#now(),
    };
    // Parse results of parts that are no longer listed only cost memory.
    const listed = new Set([mName, ...manifest.parts.map((p) => p.name)]);
    for (const name of this.#parsed.keys()) if (!listed.has(name)) this.#parsed.delete(name);
    const previous = this.#current;
    this.#current = config;
    this.#routeShards = routeShards;
    this.#credShards = credShards;
    this.#waiting = undefined;
    this.#keptBackNames = new Set(keptBack.map((k) => k.name));
    this.stats.loads++;
    this.stats.keptBack = keptBack.length;
    return { status: 'loaded', config, previous, rebuiltShards, routesRebuilt, keptBack };
  }
}
