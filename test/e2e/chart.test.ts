// The Helm chart against the real apiserver: `helm lint`, then `helm template`
// with several value sets, and every rendered manifest accepted by a
// server-side dry run (schema, defaulting, admission: what `helm install` would
// meet, minus the pods). The chart's RBAC is applied for real (only RBAC: no
// Deployment, no webhook configuration) and checked with `kubectl auth can-i`
// as each ServiceAccount.
//
// helm comes from hack/helm.sh (built from its Go module on first use, ~3 min
// cold, then cached) or from $CROSSGATE_HELM.
//
// No container engine runs here, so the image is checked as far as it can be:
// hadolint (hack/hadolint.sh), and the image's file set - what the Dockerfile
// copies, with `npm ci --omit=dev` - staged in a directory, from which each
// entrypoint starts against this cluster.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { KINDS } from '../../api/v1alpha1/index.ts';
import { renderValidatingWebhookConfiguration } from '../../webhook/registration.ts';
import { canI, kubectl, startProcess, uniqueName, ROOT } from './support/index.ts';
import { CrdsUnavailable, gatewayCrds } from '../controlplane/gateway-crds.ts';

const CHART = join(ROOT, 'charts', 'crossgate');
const run = promisify(execFile);

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: any };

let helm = '';
const ns = uniqueName('e2e-chart');
// Contains "crossgate", so the chart's full name is the release name itself.
const release = uniqueName('crossgate').slice(0, 30);
const sa = (component: string) => `system:serviceaccount:${ns}:${release}-${component}`;

/** Builds helm if needed, streaming hack/helm.sh's progress, and resolves to its path. */
function buildHelm(): Promise<string> {
  if (process.env['CROSSGATE_HELM']) return Promise.resolve(process.env['CROSSGATE_HELM']);
  return new Promise((resolve, reject) => {
    const child = spawn(join(ROOT, 'hack', 'helm.sh'), [], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`hack/helm.sh exited ${code}`))));
  });
}

async function helmRun(args: string[]): Promise<string> {
  try {
    return (await run(helm, args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`helm ${args.join(' ')}: ${e.stderr || e.message}`);
  }
}

async function template(set: Record<string, string | number | boolean> = {}, extra: string[] = []): Promise<{ text: string; objects: Obj[] }> {
  const sets = Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const text = await helmRun(['template', release, CHART, '--namespace', ns, '--include-crds', ...sets, ...extra]);
  const objects = parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null && typeof o === 'object' && 'kind' in o);
  return { text, objects };
}

const toYaml = (objects: Obj[]) => objects.map((o) => JSON.stringify(o)).join('\n---\n');

/** Every object through `kubectl apply --dry-run=server`; one "(server dry run)" line per object. */
async function dryRun(objects: Obj[]): Promise<void> {
  const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: toYaml(objects), allowFail: true, timeoutMs: 120_000 });
  assert.equal(r.code, 0, `server-side dry run refused:\n${r.stderr}`);
  const accepted = r.stdout.split('\n').filter((l) => /\(server dry run\)\s*$/.test(l));
  assert.equal(accepted.length, objects.length, `expected ${objects.length} objects accepted, got:\n${r.stdout}`);
}

const find = (objects: Obj[], kind: string, name?: string) => objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const one = (objects: Obj[], kind: string, name: string) => {
  const found = find(objects, kind, name);
  assert.equal(found.length, 1, `${kind} ${name}: found ${found.length}`);
  return found[0]!;
};

before(async () => {
  helm = await buildHelm();
  await kubectl(['create', 'namespace', ns]);
}, { timeout: 30 * 60_000 });

after(async () => {
  await kubectl(['delete', 'clusterrole,clusterrolebinding', '-l', `app.kubernetes.io/instance=${release},app.kubernetes.io/component`, '--ignore-not-found', '--wait=false'], { allowFail: true });
  await kubectl(['delete', 'namespace', ns, '--wait=false'], { allowFail: true });
});

test('helm lint passes with the default values and with every option on', async () => {
  const out = await helmRun(['lint', CHART]);
  assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  await helmRun(['lint', CHART, '--strict', '--namespace', ns,
    '--set', 'operator.replicas=2', '--set', 'webhook.replicas=3', '--set', 'gateway.replicas=2',
    '--set', 'webhook.tls.certManager.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true',
    '--set', 'gateway.redis.url=redis://redis:6379/0', '--set', 'gateway.service.type=LoadBalancer']);
});

test('values.schema.json refuses what the chart cannot honour', async () => {
  await assert.rejects(template({ 'operator.replicas': 'two' }), /operator\/replicas|replicas/);
  await assert.rejects(template({ 'webhook.tlss': true }), /additional properties 'tlss' not allowed/);
  await assert.rejects(template({ 'operator.replicas': 2, 'operator.leaderElection.enabled': false }), /leaderElection.enabled must be true/);
});

test('default values: every rendered manifest is accepted by the apiserver (server-side dry run)', async () => {
  const { objects } = await template();
  const kinds = objects.map((o) => o.kind);
  assert.equal(kinds.filter((k) => k === 'CustomResourceDefinition').length, KINDS.length);
  assert.equal(kinds.filter((k) => k === 'Deployment').length, 3);
  assert.equal(kinds.filter((k) => k === 'PodDisruptionBudget').length, 0, 'no PDB with one replica');
  assert.ok(!kinds.includes('ServiceMonitor') && !kinds.includes('Certificate'), 'optional kinds are off by default');
  await dryRun(objects);
});

test('replicas=2 (cert-manager off): PDBs, and everything accepted by the apiserver', async () => {
  const { objects } = await template({ 'operator.replicas': 2, 'webhook.replicas': 2, 'gateway.replicas': 2 });
  const pdbs = find(objects, 'PodDisruptionBudget');
  assert.deepEqual(pdbs.map((p) => p.metadata.name).sort(), ['gateway', 'operator', 'webhook'].map((c) => `${release}-${c}`));
  for (const pdb of pdbs) assert.equal(pdb['spec'].minAvailable, 1);
  await dryRun(objects);
});

test('authz.enabled (issue 17): its Deployment, Services, RBAC, NetworkPolicy and PDB, all accepted by the apiserver', async () => {
  const { objects } = await template({
    'authz.enabled': true, 'authz.tokenSecret': 'authz-token', 'authz.replicas': 2,
    'authz.grpcTls.secretName': 'authz-tls', 'authz.grpcTls.clientCaSecretName': 'envoy-client-ca', 'gateway.redis.url': 'redis://redis:6379/0',
  });
  const mine = objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'authz').map((o) => `${o.kind}/${o.metadata.name}`).sort();
  assert.deepEqual(mine, [
    `Deployment/${release}-authz`, `NetworkPolicy/${release}-authz`, `PodDisruptionBudget/${release}-authz`, `Role/${release}-authz`, `RoleBinding/${release}-authz`,
    'Service/crossgate-authz', `Service/${release}-authz-admin-peers`, `Service/${release}-authz-metrics`, `ServiceAccount/${release}-authz`,
  ].sort());
  // The traffic nginx logs to authz reaches analytics and Alerts: the operator reads every authz replica too.
  const operatorEnv = Object.fromEntries(one(objects, 'Deployment', `${release}-operator`)['spec'].template.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));
  assert.equal(operatorEnv['CROSSGATE_GATEWAY_ADMIN_URLS'], `http://${release}-gateway-admin-peers.${ns}.svc:9090,http://${release}-authz-admin-peers.${ns}.svc:9090`);
  assert.equal(one(objects, 'Service', `${release}-authz-admin-peers`)['spec'].clusterIP, 'None');
  const pod = one(objects, 'Deployment', `${release}-authz`)['spec'].template.spec;
  assert.equal(pod.serviceAccountName, `${release}-authz`);
  assert.deepEqual(pod.containers[0].args, ['gateway/main.js', '--mode=authz']);
  await dryRun(objects);
  await helmRun(['lint', CHART, '--strict', '--namespace', ns, '--set', 'authz.enabled=true', '--set', 'authz.tokenSecret=authz-token', '--set', 'authz.replicas=2']);
});

test('authz.envoyGateway.backendTLSPolicy: the BackendTLSPolicy accepted by the apiserver with the Gateway API v1.4.1 standard CRDs', async (t) => {
  let files: string[];
  try {
    files = await gatewayCrds();
  } catch (err) {
    if (!(err instanceof CrdsUnavailable)) throw err;
    return t.skip(`the Gateway API CRDs are not available: ${err.message}`);
  }
  const crd = files.find((f) => f.endsWith('gateway.networking.k8s.io_backendtlspolicies.yaml'));
  assert.ok(crd, 'test/controlplane/gateway-crds.ts fetches the BackendTLSPolicy CRD');
  // Server-side apply: some Gateway API CRDs exceed client-side apply's annotation limit.
  await kubectl(['apply', '--server-side', '--field-manager=crossgate-e2e', '-f', crd]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', crd]);
  const { objects } = await template({
    'authz.enabled': true, 'authz.tokenSecret': 'authz-token', 'authz.grpcTls.secretName': 'authz-tls', 'authz.grpcTls.clientCaSecretName': 'envoy-client-ca',
    'authz.envoyGateway.backendTLSPolicy.enabled': true, 'authz.envoyGateway.backendTLSPolicy.caCertificateRef.name': 'authz-ca',
  });
  const policy = one(objects, 'BackendTLSPolicy', 'crossgate-authz');
  assert.equal(policy.apiVersion, 'gateway.networking.k8s.io/v1');
  assert.equal(policy['spec'].validation.hostname, `crossgate-authz.${ns}.svc`);
  // The policy and the Service it targets, together: schema and CEL of the real CRD.
  await dryRun([policy, one(objects, 'Service', 'crossgate-authz')]);
  // Its CEL refuses what the chart must never render: neither caCertificateRefs nor wellKnownCACertificates.
  const bad = structuredClone(policy);
  delete bad['spec'].validation.caCertificateRefs;
  const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: JSON.stringify(bad), allowFail: true });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /must specify either CACertificateRefs or WellKnownCACertificates/);
});

test('cert-manager and ServiceMonitor on: all but their own kinds accepted (their CRDs are not installed here)', async () => {
  const { objects } = await template({ 'webhook.tls.certManager.enabled': true, 'metrics.serviceMonitor.enabled': true });
  const foreign = objects.filter((o) => o.apiVersion.startsWith('cert-manager.io/') || o.apiVersion.startsWith('monitoring.coreos.com/'));
  assert.deepEqual(foreign.map((o) => o.kind).sort(), ['Certificate', 'Certificate', 'Issuer', 'Issuer', 'ServiceMonitor']);
  const vwc = one(objects, 'ValidatingWebhookConfiguration', `${release}-validating-webhook`);
  assert.equal(vwc.metadata.annotations?.['cert-manager.io/inject-ca-from'], `${ns}/${release}-webhook`);
  const serving = one(objects, 'Certificate', `${release}-webhook`);
  assert.equal(serving['spec'].secretName, `${release}-webhook-tls`);
  assert.ok(serving['spec'].dnsNames.includes(`${release}-webhook.${ns}.svc`));
  const webhook = one(objects, 'Deployment', `${release}-webhook`);
  const env = Object.fromEntries(webhook['spec'].template.spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]));
  assert.equal(env['CROSSGATE_WEBHOOK_CERT_DIR'], '/run/crossgate/webhook-tls');
  // The kubelet mounts the Secret and cainjector sets caBundle: the webhook gets neither permission.
  assert.equal(find(objects, 'Role', `${release}-webhook-tls`).length, 0);
  const role = one(objects, 'ClusterRole', `${release}-webhook`);
  assert.ok(!role['rules'].some((r: { resources: string[] }) => r.resources.includes('validatingwebhookconfigurations') || r.resources.includes('secrets')));
  await dryRun(objects.filter((o) => !foreign.includes(o)));
});

test("the ValidatingWebhookConfiguration is webhook/registration.ts's, for this release's Service and namespace", async () => {
  const { objects } = await template({ 'webhook.excludedNamespaces[0]': 'legacy' });
  const vwc = one(objects, 'ValidatingWebhookConfiguration', `${release}-validating-webhook`);
  const expected = renderValidatingWebhookConfiguration({
    operatorNamespace: ns,
    clientConfig: { service: { namespace: ns, name: `${release}-webhook` } },
    extraExcludedNamespaces: ['legacy'],
  });
  assert.deepEqual(vwc['webhooks'], JSON.parse(JSON.stringify(expected.webhooks)));
  // The webhook process injects caBundle into exactly this configuration and serves this Service's names.
  const env = Object.fromEntries(
    one(objects, 'Deployment', `${release}-webhook`)['spec'].template.spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]),
  );
  assert.equal(env['CROSSGATE_WEBHOOK_CONFIGURATION'], vwc.metadata.name);
  assert.equal(env['CROSSGATE_WEBHOOK_SERVICE'], `${release}-webhook`);
  assert.equal(env['CROSSGATE_NAMESPACE'], ns);
  assert.equal(env['CROSSGATE_WEBHOOK_REGISTER'], 'false');
  const svc = one(objects, 'Service', `${release}-webhook`);
  assert.equal(svc['spec'].ports[0].port, 443);
});

test('every pod is non-root, read-only, without capabilities, RuntimeDefault seccomp, probed and resourced', async () => {
  const { objects } = await template({ 'authz.enabled': true, 'authz.tokenSecret': 'authz-token' });
  assert.equal(find(objects, 'Deployment').length, 4);
  for (const d of find(objects, 'Deployment')) {
    const pod = d['spec'].template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true, d.metadata.name);
    assert.equal(typeof pod.securityContext.runAsUser, 'number', `${d.metadata.name}: numeric uid, so runAsNonRoot can be verified`);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', d.metadata.name);
    for (const c of pod.containers) {
      assert.equal(c.securityContext.readOnlyRootFilesystem, true, c.name);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false, c.name);
      assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], c.name);
      assert.ok(c.livenessProbe && c.readinessProbe, `${c.name}: probes`);
      assert.ok(c.resources.requests.cpu && c.resources.requests.memory, `${c.name}: requests`);
      // authz is the gateway's entrypoint in its decision mode.
      assert.deepEqual(c.args, c.name === 'authz' ? ['gateway/main.js', '--mode=authz'] : [`${c.name}/main.js`], 'the JavaScript the image holds (hack/build-dist.ts)');
    }
  }
  const operator = one(objects, 'Deployment', `${release}-operator`)['spec'].template.spec.containers[0];
  const env = Object.fromEntries(operator.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  assert.equal(env['CROSSGATE_LEADER_ELECT'], 'true');
  assert.equal(env['CROSSGATE_NAMESPACE'], ns);
  assert.equal(env['CROSSGATE_GATEWAY_NAMESPACE'], ns);
  // Alerts and analytics read /summary from every gateway and authz replica's admin port: headless Services' names, resolved per read.
  assert.equal(env['CROSSGATE_GATEWAY_ADMIN_URLS'], `http://${release}-gateway-admin-peers.${ns}.svc:9090,http://${release}-authz-admin-peers.${ns}.svc:9090`);
  const peers = one(objects, 'Service', `${release}-gateway-admin-peers`)['spec'];
  assert.equal(peers.clusterIP, 'None');
  assert.equal(peers.ports[0].port, 9090);
  assert.equal(one(objects, 'Service', `${release}-gateway-metrics`)['spec'].ports[0].port, 9090);
  assert.equal(operator.readinessProbe.httpGet.path, '/readyz');
  assert.equal(operator.livenessProbe.httpGet.path, '/healthz');
  const gateway = one(objects, 'Deployment', `${release}-gateway`)['spec'].template.spec.containers[0];
  const genv = Object.fromEntries(gateway.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  assert.equal(genv['GATEWAY_NAMESPACE'], ns, 'the gateway watches where the operator writes');
});

test("the chart's RBAC, applied for real: each ServiceAccount may do what config/rbac grants, and no more", async () => {
  const { objects } = await template({ 'authz.enabled': true, 'authz.tokenSecret': 'authz-token' });
  // Only RBAC and ServiceAccounts; crossgate-view/edit keep fixed names that other tests own.
  const rbac = objects.filter(
    (o) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind) && !['crossgate-view', 'crossgate-edit'].includes(o.metadata.name),
  );
  await kubectl(['apply', '-f', '-'], { stdin: toYaml(rbac) });
  // can-i resolves crossgate resources through discovery: the CRDs must exist (the same ones other tests install).
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(CHART, 'crds')]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(CHART, 'crds')]);
  // So must the Gateway API kinds the operator renders (fetched and cached as gateway-api.test.ts does); without them, their rules are not checked.
  let unchecked = new Set<string>();
  try {
    const files = await gatewayCrds();
    for (const f of files) await kubectl(['apply', '--server-side', '--field-manager=crossgate-e2e', '-f', f]);
    for (const f of files) await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', f]);
  } catch (err) {
    if (!(err instanceof CrdsUnavailable)) throw err;
    unchecked = new Set(['gateway.networking.k8s.io', 'gateway.envoyproxy.io']);
    console.log(`# chart RBAC: the Gateway API rules are not checked: ${err.message}`);
  }

  type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
  const rulesOf = async (file: string): Promise<Rule[]> => (parse(await readFile(join(ROOT, 'config/rbac', file), 'utf8')) as { rules: Rule[] }).rules;
  const resource = (group: string, r: string) => (group ? `${r}.${group}` : r);
  // `kubectl auth can-i VERB TYPE/NAME` reads after the slash a name, so a subresource goes in --subresource.
  const can = async (user: string, verb: string, res: string, namespace?: string): Promise<boolean> => {
    const [type, sub] = res.split('#');
    if (!sub) return canI(verb, type!, namespace, { as: user });
    const r = await kubectl(['auth', 'can-i', verb, type!, `--subresource=${sub}`, `--as=${user}`, ...(namespace ? ['-n', namespace] : [])], { allowFail: true });
    return r.stdout.trim() === 'yes';
  };

  // Checks run 8 at a time; each is one `kubectl auth can-i`.
  const checks: Array<{ what: string; run: () => Promise<boolean>; want: boolean }> = [];
  const expect = (want: boolean, user: string, verb: string, res: string, namespace?: string) =>
    checks.push({ what: `${user} ${verb} ${res}${namespace ? ` -n ${namespace}` : ''}`, want, run: () => can(user, verb, res, namespace) });

  // Operator: every verb of every generated rule, cluster-wide.
  for (const rule of await rulesOf('operator-clusterrole.yaml')) {
    for (const group of rule.apiGroups.filter((g) => !unchecked.has(g))) {
      for (const r of rule.resources) {
        for (const verb of rule.verbs) {
          const [plural, sub] = r.split('/');
          const base = resource(group, plural!) + (sub ? `#${sub}` : '');
          const target = rule.resourceNames ? `${base}/${rule.resourceNames[0]}` : base;
          expect(true, sa('operator'), verb, target, r === 'namespaces' || r === 'clusterroles' ? undefined : 'default');
        }
      }
    }
  }
  // Its namespace rules (gateway config ConfigMaps, Lease): in the release namespace only.
  for (const rule of await rulesOf('operator-namespace-role.yaml')) {
    for (const group of rule.apiGroups.filter((g) => !unchecked.has(g))) {
      for (const r of rule.resources) {
        for (const verb of rule.verbs) {
          expect(true, sa('operator'), verb, resource(group, r), ns);
          expect(false, sa('operator'), verb, resource(group, r), 'default');
        }
      }
    }
  }
  expect(false, sa('operator'), 'update', 'validatingwebhookconfigurations.admissionregistration.k8s.io');
  expect(false, sa('operator'), 'delete', 'namespaces');
  expect(false, sa('operator'), 'create', 'clusterroles.rbac.authorization.k8s.io');
  expect(false, sa('operator'), 'bind', 'clusterroles.rbac.authorization.k8s.io/cluster-admin');

  // Webhook: reads crossgate kinds and namespaces; only its TLS Secret; only its configuration.
  for (const k of KINDS) for (const verb of ['get', 'list', 'watch']) expect(true, sa('webhook'), verb, `${k.plural}.crossgate.dev`, 'default');
  expect(true, sa('webhook'), 'list', 'namespaces');
  for (const verb of ['get', 'update', 'patch']) expect(true, sa('webhook'), verb, `secrets/${release}-webhook-tls`, ns);
  expect(true, sa('webhook'), 'create', 'secrets', ns);
  expect(false, sa('webhook'), 'get', 'secrets/other', ns);
  expect(false, sa('webhook'), 'get', `secrets/${release}-webhook-tls`, 'default');
  expect(false, sa('webhook'), 'create', 'secrets', 'default');
  expect(false, sa('webhook'), 'list', 'secrets', ns);
  for (const verb of ['get', 'update', 'patch']) expect(true, sa('webhook'), verb, `validatingwebhookconfigurations.admissionregistration.k8s.io/${release}-validating-webhook`);
  expect(false, sa('webhook'), 'update', 'validatingwebhookconfigurations.admissionregistration.k8s.io/someone-elses');
  expect(false, sa('webhook'), 'create', 'validatingwebhookconfigurations.admissionregistration.k8s.io');
  expect(false, sa('webhook'), 'update', 'organizations.crossgate.dev');

  // Gateway: read ConfigMaps in the release namespace, nothing else.
  for (const verb of ['get', 'list', 'watch']) expect(true, sa('gateway'), verb, 'configmaps', ns);
  expect(false, sa('gateway'), 'list', 'configmaps', 'default');
  expect(false, sa('gateway'), 'update', 'configmaps', ns);
  expect(false, sa('gateway'), 'get', 'secrets', ns);
  expect(false, sa('gateway'), 'list', 'apikeys.crossgate.dev', ns);

  // crossgate-authz: exactly the generated crossgate-authz rules (the gateway config ConfigMaps), in the release namespace only.
  for (const rule of await rulesOf('authz-clusterrole.yaml')) {
    for (const group of rule.apiGroups) {
      for (const r of rule.resources) {
        for (const verb of rule.verbs) {
          expect(true, sa('authz'), verb, resource(group, r), ns);
          expect(false, sa('authz'), verb, resource(group, r), 'default');
        }
      }
    }
  }
  expect(false, sa('authz'), 'update', 'configmaps', ns);
  expect(false, sa('authz'), 'create', 'configmaps', ns);
  expect(false, sa('authz'), 'delete', 'configmaps', ns);
  // Its token and TLS Secrets are mounted by the kubelet: no Secret read through the API.
  expect(false, sa('authz'), 'get', 'secrets/authz-token', ns);
  expect(false, sa('authz'), 'list', 'secrets', ns);
  expect(false, sa('authz'), 'list', 'apikeys.crossgate.dev', ns);
  expect(false, sa('authz'), 'list', 'apiinstances.crossgate.dev', 'default');
  expect(false, sa('authz'), 'create', 'referencegrants.gateway.networking.k8s.io', ns);
  expect(false, sa('authz'), 'list', 'namespaces');
  expect(false, sa('authz'), 'create', 'leases.coordination.k8s.io', ns);

  const wrong: string[] = [];
  for (let i = 0; i < checks.length; i += 8) {
    await Promise.all(
      checks.slice(i, i + 8).map(async (c) => {
        const got = await c.run();
        if (got !== c.want) wrong.push(`${c.what}: ${got ? 'allowed' : 'denied'}, want ${c.want ? 'allowed' : 'denied'}`);
      }),
    );
  }
  assert.deepEqual(wrong, [], `${checks.length} checks`);
});

test("each container's heap cap follows its memory limit (heapPercent), glibc keeps 2 arenas, and both can be turned off", async () => {
  const envOf = (objects: Obj[], component: string) => {
    const c = one(objects, 'Deployment', `${release}-${component}`)['spec'].template.spec.containers[0];
    return Object.fromEntries((c.env ?? []).map((e: { name: string; value: string }) => [e.name, e.value]));
  };
  const { objects } = await template();
  for (const component of ['operator', 'webhook', 'gateway']) {
    assert.equal(envOf(objects, component)['NODE_OPTIONS'], '--max-old-space-size-percentage=50', component);
    assert.equal(envOf(objects, component)['MALLOC_ARENA_MAX'], '2', component);
  }
  const off = (await template({ 'operator.heapPercent': 0, mallocArenaMax: 0 })).objects;
  assert.equal(envOf(off, 'operator')['NODE_OPTIONS'], undefined);
  assert.equal(envOf(off, 'operator')['MALLOC_ARENA_MAX'], undefined);
  assert.equal(envOf(off, 'webhook')['NODE_OPTIONS'], '--max-old-space-size-percentage=50', 'per component');
  await assert.rejects(template({ 'operator.heapPercent': 95 }), /heapPercent.*(less than or equal to 90|maximum)/s);
});

test('the Dockerfile passes hadolint', async () => {
  const r = await run(join(ROOT, 'hack', 'hadolint.sh'), [join(ROOT, 'Dockerfile')]).catch((e: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`hadolint: ${e.stdout || ''}${e.stderr || e.message}`);
  });
  assert.equal(r.stdout.trim(), '', 'no findings');
});

test("the image's file set (Dockerfile COPY lines, its build stage + npm ci --omit=dev) starts the operator, the webhook and the gateway", { timeout: 300_000 }, async () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const stage = mkdtempSync(join(tmpdir(), 'crossgate-image-'));
  after(() => rmSync(stage, { recursive: true, force: true }));
  // The deps stage: manifests, then production dependencies only.
  for (const f of ['package.json', 'package-lock.json']) cpSync(join(ROOT, f), join(stage, f));
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: stage, maxBuffer: 16 * 1024 * 1024 });
  assert.throws(() => readFileSync(join(stage, 'node_modules', 'typescript', 'package.json')), 'dev dependencies are left out');
  // The build stage: exactly the context paths its COPY lines name, minus what
  // .dockerignore drops, then its build (npm ci there: this clone's node_modules).
  const buildAt = dockerfile.search(/^FROM .* AS build$/m);
  const build = dockerfile.slice(buildAt, dockerfile.indexOf('\nFROM ', buildAt + 1));
  const src = mkdtempSync(join(tmpdir(), 'crossgate-image-build-'));
  after(() => rmSync(src, { recursive: true, force: true }));
  for (const m of build.matchAll(/^COPY\s+(?!--from)(?:--\S+\s+)*(.+)$/gm)) {
    const parts = m[1]!.trim().split(/\s+/);
    const dest = parts.pop()!;
    for (const from of parts) {
      const to = dest.endsWith('/') ? join(src, dest, from.split('/').pop()!) : join(src, dest);
      cpSync(join(ROOT, from), to, { recursive: true, filter: (p) => !p.endsWith('.test.ts') });
    }
  }
  symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'));
  // The runtime stage: `COPY --from=build /src/dist ./` puts the build's output at the root.
  assert.match(dockerfile, /^RUN node hack\/build-dist\.ts --out \/src\/dist$/m);
  assert.match(dockerfile, /^COPY --from=build \/src\/dist \.\/$/m);
  await run(process.execPath, [join(src, 'hack', 'build-dist.ts'), '--out', stage], { cwd: src });
  const [, ...nodeFlags] = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(dockerfile)![1]!) as string[];
  assert.ok(nodeFlags.includes('--no-experimental-strip-types'), nodeFlags.join(' '));
  const node = process.execPath;
  const base = { ...process.env, LOG_LEVEL: 'info', NODE_ENV: 'production' };

  const operator = startProcess(node, [...nodeFlags, 'operator/main.js'], {
    name: 'image-operator',
    cwd: stage,
    env: { ...base, CROSSGATE_NAMESPACE: ns, CROSSGATE_LEASE_NAME: uniqueName('image-lease'), CROSSGATE_HEALTH_ADDR: '127.0.0.1:0', CROSSGATE_GATEWAY_NAMESPACE: ns },
  });
  const webhook = startProcess(node, [...nodeFlags, 'webhook/main.js'], {
    name: 'image-webhook',
    cwd: stage,
    env: {
      ...base,
      CROSSGATE_NAMESPACE: ns,
      CROSSGATE_WEBHOOK_ADDR: '127.0.0.1:0',
      CROSSGATE_WEBHOOK_SECRET: `${release}-image-tls`,
      CROSSGATE_WEBHOOK_CONFIGURATION: `${release}-image-not-registered`,
    },
  });
  const gateway = startProcess(node, [...nodeFlags, 'gateway/main.js', '--gateway', 'image', '--namespace', ns, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'], {
    name: 'image-gateway',
    cwd: stage,
    env: base,
  });
  const expectLine = async (p: typeof operator, re: RegExp) => {
    try {
      await p.waitForLine(re, { timeoutMs: 60_000 });
    } catch (err) {
      throw new Error(`${p.name}: no line matching ${re}:\n${p.tail(30)}`, { cause: err });
    }
  };
  await Promise.all([expectLine(operator, /became leader/), expectLine(webhook, /webhook ready/), expectLine(gateway, /gateway listening/)]);
  for (const p of [operator, webhook, gateway]) assert.ok(!p.lines.some((l) => /ERR_MODULE_NOT_FOUND|ERR_UNKNOWN_FILE_EXTENSION|Cannot find (module|package)/.test(l)), p.tail(10));
  await Promise.all([operator.stop(), webhook.stop(), gateway.stop()]);
});
