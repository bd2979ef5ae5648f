// The webhook's NetworkPolicy (issue 14, weakness 5): off by default; when on,
// only the apiserver's CIDRs (and the peers in extraFrom) reach the webhook
// port; without any source it refuses to render rather than lock the apiserver
// out. Rendered by the real helm (hack/helm.sh builds it, cached outside the
// clone); without a cached helm the tests skip: `hack/helm.sh` builds it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT, CHART } from '../../hack/sync-chart.ts';

/** The helm binary hack/helm.sh would print, if it has already been built (the version pinned there). */
function cachedHelm(): string | undefined {
  const version = process.env['CROSSGATE_HELM_VERSION'] ?? /CROSSGATE_HELM_VERSION:-([^}]+)\}/.exec(readFileSync(join(ROOT, 'hack/helm.sh'), 'utf8'))?.[1];
  const cache = process.env['CROSSGATE_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'crossgate');
  const bin = version ? join(cache, 'helm', version, 'bin', 'helm') : undefined;
  return bin && existsSync(bin) ? bin : undefined;
}
const helm = cachedHelm();
const skip = helm ? false : 'helm is not built yet: run hack/helm.sh (it caches helm outside the clone)';

type Obj = { kind: string; metadata: { name: string; namespace?: string }; spec: any };
function template(args: string[]): { ok: true; objects: Obj[] } | { ok: false; stderr: string } {
  const r = spawnSync(helm!, ['template', 'r', join(ROOT, CHART), '--namespace', 'crossgate-system', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) return { ok: false, stderr: r.stderr };
  return { ok: true, objects: parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj | null).filter((o): o is Obj => !!o && typeof o === 'object' && 'kind' in o) };
}
const policies = (args: string[]) => {
  const r = template(args);
  assert.ok(r.ok, r.ok ? '' : r.stderr);
  return r.objects.filter((o) => o.kind === 'NetworkPolicy');
};

test('no NetworkPolicy by default', { skip }, () => {
  assert.deepEqual(policies([]), []);
});

test('enabled: only the apiserver CIDRs and extraFrom reach the webhook port, and only the webhook pods are selected', { skip }, () => {
  const [np, ...more] = policies([
    '--set', 'webhook.networkPolicy.enabled=true',
    '--set', 'webhook.networkPolicy.apiserverCidrs={10.0.0.0/24,fd00::/64}',
    '--set-json', 'webhook.networkPolicy.extraFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]',
  ]);
  assert.equal(more.length, 0);
  assert.equal(np!.metadata.name, 'r-crossgate-webhook');
  assert.equal(np!.metadata.namespace, 'crossgate-system');
  assert.deepEqual(np!.spec, {
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'crossgate', 'app.kubernetes.io/instance': 'r', 'app.kubernetes.io/component': 'webhook' } },
    policyTypes: ['Ingress'],
    ingress: [
      {
        ports: [{ port: 9443, protocol: 'TCP' }],
        from: [{ ipBlock: { cidr: '10.0.0.0/24' } }, { ipBlock: { cidr: 'fd00::/64' } }, { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
      },
    ],
  });
  // The port follows webhook.port.
  const [moved] = policies(['--set', 'webhook.networkPolicy.enabled=true', '--set', 'webhook.networkPolicy.apiserverCidrs={10.0.0.0/24}', '--set', 'webhook.port=8443']);
  assert.deepEqual(moved!.spec.ingress[0].ports, [{ port: 8443, protocol: 'TCP' }]);
});

test('enabled without any source: refused with a message, not a policy that locks the apiserver out', { skip }, () => {
  const r = template(['--set', 'webhook.networkPolicy.enabled=true']);
  assert.equal(r.ok, false);
  assert.match(
    (r as { stderr: string }).stderr,
    /webhook\.networkPolicy\.enabled needs webhook\.networkPolicy\.apiserverCidrs \(the addresses the kube-apiserver connects from, e\.g\. the control-plane nodes' CIDR\): without them the apiserver could not reach the webhook and every crossgate write would be refused/,
  );
});

test('values.schema.json refuses a CIDR that is not one, and unknown peer fields', { skip }, () => {
  const bad = template(['--set', 'webhook.networkPolicy.enabled=true', '--set', 'webhook.networkPolicy.apiserverCidrs={apiserver}']);
  assert.equal(bad.ok, false);
  assert.match((bad as { stderr: string }).stderr, /\/webhook\/networkPolicy\/apiserverCidrs\/0': 'apiserver' does not match pattern/);
  const peer = template(['--set', 'webhook.networkPolicy.enabled=true', '--set-json', 'webhook.networkPolicy.extraFrom=[{"everyone":{}}]']);
  assert.equal(peer.ok, false);
  assert.match((peer as { stderr: string }).stderr, /additional properties 'everyone' not allowed/);
});
