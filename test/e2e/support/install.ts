// Installs crossgate's cluster-wide pieces (CRDs, generated ClusterRoles, the
// namespace and ServiceAccounts of config/local/) and makes kubeconfigs that
// act as those ServiceAccounts. No node:test here: the demo uses it too.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kubectl } from './kubectl.ts';
import { kubeConfig } from './client.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const OPERATOR_NAMESPACE = 'crossgate-system';
export const OPERATOR_SA = 'crossgate-operator';
export const WEBHOOK_SA = 'crossgate-webhook';
export const GATEWAY_SA = 'crossgate-gateway';

let installed: Promise<void> | undefined;

/** Idempotent. */
export function installCrossgate(): Promise<void> {
  installed ??= (async () => {
    await kubectl(['apply', '-f', join(ROOT, 'crds'), '-f', join(ROOT, 'config', 'rbac'), '-f', join(ROOT, 'config', 'local')]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(ROOT, 'crds')]);
  })();
  return installed;
}

/** A kubeconfig acting as a crossgate ServiceAccount (TokenRequest token), optionally built from another kubeconfig. */
export async function serviceAccountKubeconfig(sa: string, opts: { from?: string } = {}): Promise<string> {
  await installCrossgate();
  const token = (await kubectl(['create', 'token', sa, '-n', OPERATOR_NAMESPACE, '--duration=2h'])).stdout.trim();
  const kc = kubeConfig(opts.from);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: sa, token }],
    contexts: [{ name: sa, cluster: cluster.name, user: sa }],
    currentContext: sa,
  });
  const dir = mkdtempSync(join(tmpdir(), 'crossgate-sa-kubeconfig-'));
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  // Not node:test's after(): called from a before() hook it would run as soon as that hook ends.
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return file;
}

/** A port free on 127.0.0.1 right now (for processes the tests and the demo start). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The raw key of a consumer's key Secret (tests and the demo use it for requests; never printed). */
export async function rawKeyOf(secret: string, namespace: string): Promise<string> {
  const b64 = (await kubectl(['get', 'secret', secret, '-n', namespace, '-o', 'jsonpath={.data.apiKey}'])).stdout;
  return Buffer.from(b64, 'base64').toString('utf8');
}
