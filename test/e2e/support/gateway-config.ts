// Reads the gateway config the operator wrote (api/gateway/config.ts) the way a
// gateway would: the manifest, then every part it names (route shards and
// credential shards), checksums verified.
import { kubectl } from './kubectl.ts';
import type { Credential, CredentialsPart, Manifest, Route, RoutesPart } from '../../../api/gateway/config.ts';
import { checksumOf } from '../../../api/gateway/checksum.ts';

export interface GatewayConfig {
  manifest: Manifest;
  /** The routes of every route shard the manifest lists, sorted by id. */
  routes: Route[];
  /** The route shards themselves, in manifest order. */
  routeParts: RoutesPart[];
  credentials: Map<string, Credential>;
  /** Bytes of each ConfigMap's JSON, by name. */
  sizes: Map<string, number>;
}

export async function readGatewayConfig(namespace = 'crossgate-system', gateway = 'default'): Promise<GatewayConfig> {
  const list = JSON.parse((await kubectl(['get', 'configmaps', '-n', namespace, '-l', `crossgate.dev/gateway=${gateway}`, '-o', 'json'])).stdout) as {
    items: Array<{ metadata: { name: string }; data?: Record<string, string> }>;
  };
  const byName = new Map(list.items.map((i) => [i.metadata.name, i.data?.['config.json'] ?? '']));
  const manifestText = byName.get(`crossgate-gw-${gateway}`);
  if (!manifestText) throw new Error(`no manifest ConfigMap crossgate-gw-${gateway} in ${namespace}`);
  const manifest = JSON.parse(manifestText) as Manifest;
  const routeParts: RoutesPart[] = [];
  const credentials = new Map<string, Credential>();
  const sizes = new Map<string, number>();
  for (const part of manifest.parts) {
    const text = byName.get(part.name);
    if (!text) throw new Error(`manifest names part ${part.name}, which does not exist`);
    sizes.set(part.name, Buffer.byteLength(text));
    const body = JSON.parse(text) as RoutesPart | CredentialsPart;
    const content = body.kind === 'Routes' ? body.routes : body.entries;
    if (body.checksum !== part.checksum || checksumOf(content) !== part.checksum) throw new Error(`part ${part.name} does not match its checksum`);
    if (body.kind === 'Routes') routeParts.push(body);
    else for (const [h, c] of Object.entries(body.entries)) credentials.set(h, c);
  }
  if (routeParts.length === 0) throw new Error('manifest has no Routes part');
  const routes = routeParts.flatMap((p) => p.routes).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { manifest, routes, routeParts, credentials, sizes };
}
