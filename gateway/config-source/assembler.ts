// Turns the raw parts of a gateway config (the JSON texts of the Manifest,
// Routes and Credentials ConfigMaps or files, by name) into a CompiledConfig,
// or explains why not.
//
// A config is assembled only when the Manifest and every part it lists are
// present, valid (ajv, from the TypeBox schemas in api/gateway/v1.ts), carry
// the checksum the Manifest lists (and their content really hashes to it),
// belong to this gateway and were computed at or before the Manifest's
// generation. Anything else leaves the last good config in place; the
// caller keeps serving it and logs the reason.
//
// Generation rule: a part's `generation` is the generation at which its
// content last changed, so it may be lower than the Manifest's (one key
// change rewrites one shard and the Manifest, not all 66 objects); a part
// NEWER than the Manifest means the Manifest is about to be rewritten, and
// we wait for it.
//
// Work is proportional to what changed: a part's text is parsed, validated
// and (for a shard) turned into its Map only when the text changes; the
// compiled routes are reused while the Routes checksum stays the same. So a
// one-key change at 100,000 keys rebuilds one shard of ~1,600 entries.
import { ajvCompileOnce } from './validate.ts';
import { checksumOf, shardOf } from '../../api/gateway/checksum.ts';
import { CredentialsPart, Manifest, RoutesPart, manifestName, PART_DATA_KEY } from '../../api/gateway/v1.ts';
import { CredentialIndex, compileCredential, type CompiledConfig, type CompiledCredential, type CompiledRoutes, type ShardMap } from '../compiled.ts';

type Meta = { gateway: string; generation: number; checksum: string };

type Parsed =
  | { ok: true; kind: 'Manifest'; manifest: Manifest }
  | { ok: true; kind: 'Routes'; meta: Meta; part: RoutesPart }
  | { ok: true; kind: 'Credentials'; meta: Meta; shard: number; shards: number; map: ShardMap }
  | { ok: false; error: string };

export type AssembleResult =
  | { status: 'loaded'; config: CompiledConfig; previous: CompiledConfig | undefined; rebuiltShards: number; routesRebuilt: boolean }
  | { status: 'unchanged' }
  /** Waiting for parts (transient) or refused (invalid: true); the last good config stays. */
  | { status: 'pending'; reason: string; invalid: boolean };

export interface AssemblerOptions {
  gateway: string;
  compileRoutes: (part: RoutesPart) => CompiledRoutes;
  now?: () => number;
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
  #routes: CompiledRoutes | undefined;
  #current: CompiledConfig | undefined;
  #dirty = true;
  /** Work counters, for tests and the /configz endpoint. */
  readonly stats = { parses: 0, shardBuilds: 0, routeBuilds: 0, loads: 0 };

  constructor(opts: AssemblerOptions) {
    this.gateway = opts.gateway;
    this.#compileRoutes = opts.compileRoutes;
    this.#now = opts.now ?? Date.now;
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
      const actual = checksumOf(part.routes);
      if (actual !== part.checksum) return { ok: false, error: `content hashes to ${actual}, the part says ${part.checksum}` };
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
    const routeEntries = manifest.parts.filter((p) => p.kind === 'Routes');
    if (routeEntries.length !== 1) return { status: 'pending', reason: `manifest generation ${gen} lists ${routeEntries.length} Routes parts, not 1`, invalid: true };

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

    let routesPart: RoutesPart | undefined;
    const shardParts: Array<{ name: string; shard: number; shards: number; map: ShardMap }> = [];
    for (const entry of manifest.parts) {
      const p = this.#parse(entry.name);
      if (!p) return { status: 'pending', reason: `part ${entry.name} listed by manifest generation ${gen} not found`, invalid: false };
      if (!p.ok) return { status: 'pending', reason: `part ${entry.name}: ${p.error}`, invalid: true };
      if (p.kind === 'Manifest' || p.kind !== entry.kind) return { status: 'pending', reason: `part ${entry.name} is a ${p.kind}, the manifest says ${entry.kind}`, invalid: true };
      if (p.meta.gateway !== this.gateway) return { status: 'pending', reason: `part ${entry.name} is for gateway ${p.meta.gateway}`, invalid: true };
      if (p.meta.checksum !== entry.checksum) {
        return { status: 'pending', reason: `part ${entry.name} has checksum ${p.meta.checksum}, manifest generation ${gen} expects ${entry.checksum}`, invalid: false };
      }
      if (p.meta.generation > gen) return { status: 'pending', reason: `part ${entry.name} is of generation ${p.meta.generation}, newer than manifest generation ${gen}`, invalid: false };
      if (p.kind === 'Routes') routesPart = p.part;
      else shardParts.push({ name: entry.name, shard: p.shard, shards: p.shards, map: p.map });
    }

    const shards = shardParts[0]?.shards ?? 1;
    const maps: Array<ShardMap | undefined> = new Array(shards).fill(undefined);
    for (const s of shardParts) {
      if (s.shards !== shards) return { status: 'pending', reason: `part ${s.name} says ${s.shards} shards, others ${shards}`, invalid: true };
      if (maps[s.shard]) return { status: 'pending', reason: `shard ${s.shard} listed twice (${s.name})`, invalid: true };
      maps[s.shard] = s.map;
    }

    let routes = this.#routes;
    let routesRebuilt = false;
    if (!routes || routes.checksum !== routesPart!.checksum) {
      try {
        routes = this.#compileRoutes(routesPart!);
      } catch (e) {
        return { status: 'pending', reason: `routes of generation ${gen} refused: ${(e as Error).message}`, invalid: true };
      }
      this.stats.routeBuilds++;
      routesRebuilt = true;
      this.#routes = routes;
    }

    const rebuiltShards = shardParts.filter((s) => !cur || cur.credentials.maps[s.shard] !== s.map).length;
    const config: CompiledConfig = {
      gateway: this.gateway,
      generation: gen,
      parts: new Map(manifest.parts.map((p) => [p.name, p.checksum])),
      routes,
      credentials: new CredentialIndex(shards, maps),
      loadedAt: this.#now(),
    };
    // Parse results of parts that are no longer listed only cost memory.
    const listed = new Set([mName, ...manifest.parts.map((p) => p.name)]);
    for (const name of this.#parsed.keys()) if (!listed.has(name)) this.#parsed.delete(name);
    const previous = this.#current;
    this.#current = config;
    this.stats.loads++;
    return { status: 'loaded', config, previous, rebuiltShards, routesRebuilt };
  }
}
