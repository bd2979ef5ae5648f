// Writing a config directory for standalone use, tests and benchmarks: the
// same parts the operator renders into ConfigMaps, as `<name>.json` files.
//
// renderParts() follows the generation rule the gateway checks (see
// assembler.ts): a part keeps its previous generation while its content is
// unchanged, so updating one key rewrites one shard and the Manifest.
// writeParts() writes each changed file to a temp name and renames it into
// place, parts first and the Manifest last.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checksumOf, routeShardOf, shardOf } from '../../api/gateway/checksum.ts';
import {
  CREDENTIAL_SHARDS,
  GATEWAY_CONFIG_API_VERSION,
  ROUTE_SHARDS,
  manifestName,
  routesName,
  shardName,
  type Credential,
  type CredentialsPart,
  type Manifest,
  type Route,
  type RoutesPart,
} from '../../api/gateway/config.ts';

export interface ConfigInput {
  gateway: string;
  generation: number;
  routes: Route[];
  /** Key hash (lower-case hex SHA-256) → credential. */
  credentials: Record<string, Credential>;
  shards?: number;
}

export interface RenderedPart {
  name: string;
  part: Manifest | RoutesPart | CredentialsPart;
}

/** All parts, Manifest last. `previous` (from an earlier render) keeps unchanged parts' generations. */
export function renderParts(input: ConfigInput, previous?: readonly RenderedPart[]): RenderedPart[] {
  const shards = input.shards ?? CREDENTIAL_SHARDS;
  const prev = new Map((previous ?? []).map((p) => [p.name, p.part]));
  const keep = <T extends RoutesPart | CredentialsPart>(name: string, fresh: T): T => {
    const old = prev.get(name) as T | undefined;
    return old && old.kind === fresh.kind && old.checksum === fresh.checksum ? old : fresh;
  };
  const routes = [...input.routes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const meta = { apiVersion: GATEWAY_CONFIG_API_VERSION, gateway: input.gateway, generation: input.generation } as const;
  const out: RenderedPart[] = [];
  const routeBuckets: Route[][] = Array.from({ length: ROUTE_SHARDS }, () => []);
  for (const r of routes) routeBuckets[routeShardOf(r.id, ROUTE_SHARDS)]!.push(r);
  routeBuckets.forEach((shardRoutes, shard) => {
    const name = routesName(input.gateway, shard);
    out.push({ name, part: keep(name, { ...meta, kind: 'Routes', shard, shards: ROUTE_SHARDS, checksum: checksumOf(shardRoutes), routes: shardRoutes } satisfies RoutesPart) });
  });
  const buckets: Array<Record<string, Credential>> = Array.from({ length: shards }, () => ({}));
  for (const [hash, cred] of Object.entries(input.credentials)) buckets[shardOf(hash, shards)]![hash] = cred;
  for (let s = 0; s < shards; s++) {
    const name = shardName(input.gateway, s);
    const entries = buckets[s]!;
    out.push({ name, part: keep(name, { ...meta, kind: 'Credentials', shard: s, shards, checksum: checksumOf(entries), entries } satisfies CredentialsPart) });
  }
  const manifest: Manifest = {
    apiVersion: GATEWAY_CONFIG_API_VERSION,
    kind: 'Manifest',
    gateway: input.gateway,
    generation: input.generation,
    parts: out.map((p) => ({ name: p.name, kind: (p.part as RoutesPart | CredentialsPart).kind, checksum: (p.part as RoutesPart | CredentialsPart).checksum })),
  };
  out.push({ name: manifestName(input.gateway), part: manifest });
  return out;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** Writes the parts that differ from `previous` (all when absent); the Manifest last. Returns the names written. */
export async function writeParts(dir: string, parts: readonly RenderedPart[], previous?: readonly RenderedPart[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const prev = new Map((previous ?? []).map((p) => [p.name, p.part]));
  const written: string[] = [];
  const ordered = [...parts.filter((p) => p.part.kind !== 'Manifest'), ...parts.filter((p) => p.part.kind === 'Manifest')];
  for (const p of ordered) {
    if (prev.get(p.name) === p.part) continue; // same object: unchanged (renderParts kept it)
    await writeAtomic(join(dir, `${p.name}.json`), JSON.stringify(p.part));
    written.push(p.name);
  }
  return written;
}
