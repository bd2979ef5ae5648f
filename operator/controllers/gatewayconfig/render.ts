// Pure rendering of the gateway config (api/gateway/config.ts): the route shards
// and the credential shards become parts, each with its checksum. Unchanged
// parts keep their checksum and generation, so the writer rewrites only what
// changed (one shard per key change).
import {
  GATEWAY_CONFIG_API_VERSION, ROUTE_SHARDS, routesName, shardName,
  type Credential, type CredentialsPart, type Manifest, type RoutesPart,
} from '../../../api/gateway/config.ts';
import { CredentialShards, type LeftOut } from './credential-shards.ts';
import type { RouteInput } from '../../../model/route-entry.ts';
import { renderRoutes, type RenderedRoutes } from './routes.ts';

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
  /** Credentials left out of a shard over budget (CredentialShards.shard), each with why. */
  leftOut: LeftOut[];
}

/** The previous config as found: manifest generation and each part's stamp (RenderedPart) and generation. */
export interface PreviousConfig {
  generation: number;
  parts: Map<string, { stamp: string; generation: number }>;
}

export function render(
  gateway: string,
  routes: RouteInput[] | RenderedRoutes,
  credentials: Iterable<[string, Credential]> | CredentialShards,
  previous: PreviousConfig | undefined,
  /** The organization of a credential owner id, which gives up its credentials first when their shard is over budget; default its namespace. */
  groupOf?: (owner: string) => string,
): Rendered {
  const rendered = Array.isArray(routes) ? renderRoutes(routes) : routes;
  const index = credentials instanceof CredentialShards ? credentials : CredentialShards.from(credentials);

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
  const leftOut: LeftOut[] = [];
  for (let shard = 0; shard < shards; shard++) {
    const { entries, checksum, left } = index.shard(shard, groupOf);
    leftOut.push(...left);
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
    leftOut,
  };
}
