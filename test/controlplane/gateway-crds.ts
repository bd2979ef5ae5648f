// Fetches (or reuses) the Gateway API standard CRDs and Envoy Gateway's
// SecurityPolicy CRD that the Gateway API e2e tests install, from the Go
// modules that ship them, through the Go module proxy ($GOPROXY, default
// https://proxy.golang.org): a module zip is a plain HTTPS download, so no Go
// toolchain is needed. Each zip is pinned by version and by the SHA-256 of the
// zip, checked before anything is extracted.
//
// The files are cached outside the clone, like the control plane
// ($CROSSGATE_CACHE, default ~/.cache/crossgate/gateway-crds/<module>@<version>/).
// Prints the directory holding the CRD files on stdout; exits 2 with a reason
// on stderr when the proxy cannot be reached (the tests then skip).
//
//   node test/controlplane/gateway-crds.ts
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface PinnedModule {
  module: string;
  version: string;
  /** SHA-256 (hex) of the module zip the proxy serves. */
  sha256: string;
  /** Paths inside the module of the CRD files to extract. */
  files: readonly string[];
}

export const GATEWAY_API: PinnedModule = {
  module: 'sigs.k8s.io/gateway-api',
  version: 'v1.4.1',
  sha256: 'c20dca8192e9c4d3b5045da5df21123a3268910e982c5e056bd0878a06734bb1',
  files: ['backendtlspolicies', 'gatewayclasses', 'gateways', 'httproutes', 'referencegrants'].map((p) => `config/crd/standard/gateway.networking.k8s.io_${p}.yaml`),
};

/** v1.7.0: SecurityPolicy extAuth with contextExtensions (the route identity crossgate-authz reads). */
export const ENVOY_GATEWAY: PinnedModule = {
  module: 'github.com/envoyproxy/gateway',
  version: 'v1.7.0',
  sha256: 'aaf1b25f5ccbce7f8b94a595d8f6caa072ea84c63c049f5bd4656cc20e71ad80',
  files: ['charts/gateway-helm/crds/generated/gateway.envoyproxy.io_securitypolicies.yaml'],
};

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.CROSSGATE_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'crossgate');
}

/** The first proxy of $GOPROXY (a list separated by , or |; "direct" and "off" are no proxies). */
export function goProxy(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const first = (env.GOPROXY || 'https://proxy.golang.org').split(/[,|]/).map((s) => s.trim()).find((s) => s && s !== 'direct' && s !== 'off');
  return first?.replace(/\/+$/, '');
}

/** Module paths are case-encoded on the proxy: an upper-case letter becomes "!" and its lower case. */
const escapePath = (m: string) => m.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);

export class CrdsUnavailable extends Error {}

async function fetchModule(pin: PinnedModule, root: string): Promise<string> {
  const dir = join(root, 'gateway-crds', `${pin.module.replaceAll('/', '_')}@${pin.version}`);
  const names = pin.files.map((f) => f.split('/').pop()!);
  if (names.every((n) => existsSync(join(dir, n)))) return dir;
  const proxy = goProxy();
  if (!proxy) throw new CrdsUnavailable('GOPROXY names no proxy (direct/off): the Gateway API CRDs are fetched from the Go module proxy');
  const url = `${proxy}/${escapePath(pin.module)}/@v/${pin.version}.zip`;
  let zip: Buffer;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    zip = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    throw new CrdsUnavailable(`cannot download ${url}: ${(err as Error).message}`);
  }
  const sum = createHash('sha256').update(zip).digest('hex');
  if (sum !== pin.sha256) throw new Error(`${pin.module}@${pin.version}: the zip's SHA-256 is ${sum}, pinned ${pin.sha256}: refusing it`);
  mkdirSync(join(root, 'gateway-crds'), { recursive: true });
  const work = mkdtempSync(join(root, 'gateway-crds', '.fetch-'));
  try {
    const zipFile = join(work, 'module.zip');
    writeFileSync(zipFile, zip);
    const out = join(work, 'out');
    mkdirSync(out);
    for (const f of pin.files) {
      // Entries of a module zip are "<module>@<version>/<path>".
      const data = execFileSync('unzip', ['-p', zipFile, `${pin.module}@${pin.version}/${f}`], { maxBuffer: 64 << 20 });
      if (data.length === 0) throw new Error(`${pin.module}@${pin.version} has no ${f}`);
      writeFileSync(join(out, f.split('/').pop()!), data);
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(out, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return dir;
}

/**
 * Every CRD file of the pinned modules, fetched once into the cache.
 */
export async function gatewayCrds(root = cacheRoot()): Promise<string[]> {
  const files: string[] = [];
  for (const pin of [GATEWAY_API, ENVOY_GATEWAY]) {
    const dir = await fetchModule(pin, root);
    for (const f of readdirSync(dir).sort()) files.push(join(dir, f));
  }
  return files;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    for (const f of await gatewayCrds()) console.log(f);
  } catch (err) {
    console.error(`[gateway-crds] ${(err as Error).message}`);
    process.exit(err instanceof CrdsUnavailable ? 2 : 1);
  }
}
