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

// crossgate-authz (authz.enabled, issue 17): its NetworkPolicy admits only the proxies to the check ports.
const authz = ['--set', 'authz.enabled=true', '--set', 'authz.tokenSecret=authz-token'];
const authzSelector = { matchLabels: { 'app.kubernetes.io/name': 'crossgate', 'app.kubernetes.io/instance': 'r', 'app.kubernetes.io/component': 'authz' } };

/** The operator's pods reach authz's admin port: it sums /summary and /summary/day over authz's replicas too. */
const operatorReadsAdmin = (port: number) => ({
  ports: [{ port, protocol: 'TCP' }],
  from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'crossgate', 'app.kubernetes.io/instance': 'r', 'app.kubernetes.io/component': 'operator' } } }],
});

test('authz enabled: the check ports only from checkFrom (default: envoy-gateway-system), the admin port only from the operator and adminFrom', { skip }, () => {
  const [np, ...more] = policies(authz);
  assert.equal(more.length, 0);
  assert.equal(np!.metadata.name, 'r-crossgate-authz');
  assert.deepEqual(np!.spec, {
    podSelector: authzSelector,
    policyTypes: ['Ingress'],
    ingress: [
      {
        ports: [{ port: 9191, protocol: 'TCP' }, { port: 9001, protocol: 'TCP' }],
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'envoy-gateway-system' } } }],
      },
      operatorReadsAdmin(9090),
    ],
  });
  const [custom] = policies([
    ...authz,
    '--set', 'authz.port=9101', '--set', 'authz.httpPort=9292',
    '--set-json', 'authz.networkPolicy.checkFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"ingress-nginx"}},"podSelector":{"matchLabels":{"app.kubernetes.io/name":"ingress-nginx"}}}]',
    '--set-json', 'authz.networkPolicy.adminFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]',
  ]);
  assert.deepEqual(custom!.spec.ingress, [
    {
      ports: [{ port: 9292, protocol: 'TCP' }, { port: 9101, protocol: 'TCP' }],
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } } }],
    },
    operatorReadsAdmin(9090),
    { ports: [{ port: 9090, protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
  ]);
  assert.deepEqual(policies([...authz, '--set', 'authz.networkPolicy.enabled=false']), []);
});

test('authz: an empty checkFrom, a missing token Secret, another namespace or mTLS without TLS are refused with a message', { skip }, () => {
  const refused = (args: string[], message: RegExp) => {
    const r = template(args);
    assert.equal(r.ok, false, args.join(' '));
    assert.match((r as { stderr: string }).stderr, message);
  };
  refused([...authz, '--set', 'authz.networkPolicy.checkFrom=null'], /authz\.networkPolicy\.enabled needs authz\.networkPolicy\.checkFrom/);
  refused(['--set', 'authz.enabled=true'], /authz\.enabled needs authz\.tokenSecret: the name of an existing Secret/);
  refused([...authz, '--set', 'authz.namespace=elsewhere'], /release namespace "crossgate-system", but authz\.namespace is "elsewhere"/);
  refused([...authz, '--set', 'authz.grpcTls.clientCaSecretName=ca'], /clientCaSecretName \(mTLS\) needs authz\.grpcTls\.secretName/);
  refused([...authz, '--set', 'authz.grpcTls.secretName=t', '--set-json', 'authz.grpcTls.allowedClientSANs=["envoy.example"]'], /allowedClientSANs needs authz\.grpcTls\.clientCaSecretName: only a client certificate \(mTLS\) names a SAN/);
  refused([...authz, '--set', 'authz.grpcTls.secretName=t', '--set', 'authz.grpcTls.clientCaSecretName=ca', '--set-json', 'authz.grpcTls.allowedClientSANs=["a,b"]'], /allowedClientSANs/);
  refused([...authz, '--set-json', 'authz.networkPolicy.checkFrom=[{"everyone":{}}]'], /additional properties 'everyone' not allowed/);
  refused([...authz, '--set', 'authz.tokenSecret=Not_A_Name'], /tokenSecret/);
});

test('authz: --mode=authz on the gateway entrypoint, token and TLS files from the Secrets, the check Service named authz.name', { skip }, () => {
  const r = template([
    ...authz,
    '--set', 'authz.grpcTls.secretName=authz-tls',
    '--set', 'authz.grpcTls.clientCaSecretName=envoy-client-ca',
    '--set-json', 'authz.grpcTls.allowedClientSANs=["spiffe://cluster.local/ns/envoy-gateway-system/sa/envoy","envoy.example"]',
    '--set', 'gateway.redis.url=redis://redis:6379/0',
  ]);
  assert.ok(r.ok, r.ok ? '' : r.stderr);
  const of = (kind: string, name: string) => r.objects.find((o) => o.kind === kind && o.metadata.name === name)!;
  const pod = of('Deployment', 'r-crossgate-authz').spec.template.spec;
  const c = pod.containers[0];
  assert.deepEqual(c.args, ['gateway/main.js', '--mode=authz']);
  const env = Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  assert.equal(env['GATEWAY_NAME'], 'default');
  assert.equal(env['GATEWAY_NAMESPACE'], 'crossgate-system');
  assert.equal(env['GATEWAY_LISTEN'], '0.0.0.0:9191');
  assert.equal(env['AUTHZ_GRPC_LISTEN'], '0.0.0.0:9001');
  assert.equal(env['GATEWAY_ADMIN_LISTEN'], '0.0.0.0:9090');
  assert.equal(env['GATEWAY_REDIS_URL'], 'redis://redis:6379/0', "the gateway's counters");
  const mounts = Object.fromEntries(c.volumeMounts.map((m: { name: string; mountPath: string }) => [m.name, m.mountPath]));
  const volumes = Object.fromEntries(pod.volumes.map((v: { name: string; secret?: unknown }) => [v.name, v.secret]));
  // Whole directories (no subPath), so rotated Secrets reach the files authz re-reads.
  assert.ok(c.volumeMounts.every((m: { subPath?: string }) => !m.subPath));
  assert.equal(env['AUTHZ_TOKEN_FILE'], `${mounts['token']}/token`);
  assert.deepEqual(volumes['token'], { secretName: 'authz-token', items: [{ key: 'token', path: 'token' }] });
  assert.equal(env['AUTHZ_GRPC_TLS_CERT'], `${mounts['grpc-tls']}/tls.crt`);
  assert.equal(env['AUTHZ_GRPC_TLS_KEY'], `${mounts['grpc-tls']}/tls.key`);
  assert.equal(env['AUTHZ_GRPC_CLIENT_CA'], `${mounts['grpc-client-ca']}/ca.crt`);
  assert.deepEqual(volumes['grpc-client-ca'], { secretName: 'envoy-client-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] });
  assert.equal(env['AUTHZ_GRPC_CLIENT_SANS'], 'spiffe://cluster.local/ns/envoy-gateway-system/sa/envoy,envoy.example');
  assert.equal(c.readinessProbe.httpGet.port, 'admin');
  assert.equal(c.livenessProbe.httpGet.port, 'admin');
  // The Service the operator's SecurityPolicies name (CROSSGATE_AUTHZ_NAME / _PORT).
  const svc = of('Service', 'crossgate-authz');
  assert.deepEqual(svc.spec.ports, [
    { name: 'http', port: 9191, targetPort: 'http', protocol: 'TCP' },
    { name: 'grpc', port: 9001, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'grpc' },
  ]);
  assert.deepEqual(of('Service', 'r-crossgate-authz-metrics').spec.ports, [{ name: 'metrics', port: 9090, targetPort: 'admin', protocol: 'TCP' }]);
  const op = of('Deployment', 'r-crossgate-operator').spec.template.spec.containers[0];
  const openv = Object.fromEntries(op.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  assert.equal(openv['CROSSGATE_AUTHZ_NAME'], svc.metadata.name);
  assert.equal(openv['CROSSGATE_AUTHZ_PORT'], '9001');
  // Without TLS: h2c with the token, no TLS env or volume.
  const plain = template(authz);
  assert.ok(plain.ok);
  const pc = plain.objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'r-crossgate-authz')!.spec.template.spec.containers[0];
  assert.ok(!pc.env.some((e: { name: string }) => e.name.startsWith('AUTHZ_GRPC_TLS') || e.name.startsWith('AUTHZ_GRPC_CLIENT')));
  // Nothing of authz by default.
  const off = template([]);
  assert.ok(off.ok);
  assert.deepEqual(off.objects.filter((o) => JSON.stringify(o.metadata).includes('authz')).map((o) => `${o.kind}/${o.metadata.name}`), []);
});

test("authz.envoyGateway.backendTLSPolicy: a BackendTLSPolicy on the check Service's grpc port only, verifying authz's certificate with the named CA and hostname; refused with a message without what it needs", { skip }, () => {
  const on = [...authz, '--set', 'authz.grpcTls.secretName=authz-tls', '--set', 'authz.envoyGateway.backendTLSPolicy.enabled=true'];
  const r = template([...on, '--set', 'authz.envoyGateway.backendTLSPolicy.caCertificateRef.name=authz-ca']);
  assert.ok(r.ok, r.ok ? '' : r.stderr);
  const policies = r.objects.filter((o) => o.kind === 'BackendTLSPolicy');
  assert.equal(policies.length, 1);
  const p = policies[0]! as Obj & { apiVersion?: string; metadata: { labels?: Record<string, string> } };
  assert.equal(p.apiVersion, 'gateway.networking.k8s.io/v1');
  assert.equal(p.metadata.name, 'crossgate-authz');
  assert.equal(p.metadata.namespace, 'crossgate-system', "the Service's namespace: a BackendTLSPolicy only targets its own");
  assert.equal(p.metadata.labels?.['app.kubernetes.io/component'], 'authz');
  assert.deepEqual(p.spec, {
    // The HTTP check port (9191) stays plain: only the grpc port is named.
    targetRefs: [{ group: '', kind: 'Service', name: 'crossgate-authz', sectionName: 'grpc' }],
    validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'authz-ca' }], hostname: 'crossgate-authz.crossgate-system.svc' },
  });
  const svc = r.objects.find((o) => o.kind === 'Service' && o.metadata.name === 'crossgate-authz')!;
  assert.ok(svc.spec.ports.some((port: { name: string }) => port.name === 'grpc'), 'the sectionName is a port of the Service');
  const secret = template([...on, '--set', 'authz.envoyGateway.backendTLSPolicy.caCertificateRef.kind=Secret', '--set', 'authz.envoyGateway.backendTLSPolicy.caCertificateRef.name=authz-tls', '--set', 'authz.envoyGateway.backendTLSPolicy.hostname=authz.internal.example']);
  assert.ok(secret.ok, secret.ok ? '' : secret.stderr);
  assert.deepEqual(secret.objects.find((o) => o.kind === 'BackendTLSPolicy')!.spec.validation, { caCertificateRefs: [{ group: '', kind: 'Secret', name: 'authz-tls' }], hostname: 'authz.internal.example' });
  // Off by default.
  const plain = template([...authz, '--set', 'authz.grpcTls.secretName=authz-tls']);
  assert.ok(plain.ok && !plain.objects.some((o) => o.kind === 'BackendTLSPolicy'));
  const refused = (args: string[], message: RegExp) => {
    const x = template(args);
    assert.equal(x.ok, false, args.join(' '));
    assert.match((x as { stderr: string }).stderr, message);
  };
  refused(on, /backendTLSPolicy\.caCertificateRef\.name is empty: name the ConfigMap \(or Secret\) in the release namespace whose ca\.crt signed authz's serving certificate/);
  refused([...authz, '--set', 'authz.envoyGateway.backendTLSPolicy.enabled=true', '--set', 'authz.envoyGateway.backendTLSPolicy.caCertificateRef.name=ca'], /backendTLSPolicy\.enabled needs authz\.grpcTls\.secretName: Envoy can only speak TLS to a gRPC port that serves it/);
  refused(['--set', 'authz.envoyGateway.backendTLSPolicy.enabled=true', '--set', 'authz.envoyGateway.backendTLSPolicy.caCertificateRef.name=ca'], /backendTLSPolicy\.enabled needs authz\.enabled/);
  refused([...on, '--set', 'authz.envoyGateway.backendTLSPolicy.caCertificateRef.name=ca', '--set', 'authz.envoyGateway.backendTLSPolicy.caCertificateRef.kind=Pod'], /caCertificateRef/);
  refused([...on, '--set', 'authz.envoyGateway.backendTLSPolicy.caCertificateRef.name=ca', '--set', 'authz.envoyGateway.backendTLSPolicy.hostname=Bad_Host'], /hostname/);
});
