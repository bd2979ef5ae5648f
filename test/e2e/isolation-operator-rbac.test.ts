// The operator's permissions, played by someone who stole its token (a
// compromised operator pod, a leaked TokenRequest): what the generated RBAC of
// api/rbac.ts lets that token do, asked of the real apiserver with
// `kubectl auth can-i --as=system:serviceaccount:...`, and tried for real with
// a TokenRequest token of the operator's ServiceAccount (server-side dry runs:
// authorization runs, nothing is stored). Every other e2e file runs the
// operator as this ServiceAccount, so a permission it still needs would fail
// there; this file pins what it no longer has. docs/security-model.md
// "The operator's permissions" says why each remaining rule exists.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyYaml, canI, installCrossgate, kubectl, operatorKubeconfig, uniqueName, OPERATOR_NAMESPACE, WEBHOOK_CONFIGURATION } from './support/index.ts';
import { OPERATOR_SA } from './support/install.ts';
import { KINDS } from '../../api/v1alpha1/index.ts';
import { OPERATOR_PATCHED_PLURALS, OPERATOR_PROMOTED_PLURALS } from '../../api/rbac.ts';

const OPERATOR = `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SA}`;
/** A namespace no Organization owns (the attacker's target: another product's, or kube-system). */
const outsider = uniqueName('outsider');
/** Another product's admission webhook: the token must not be able to redirect or disable it. */
const foreignWebhook = uniqueName('someone-elses-webhook');

/** Asks the apiserver whether the operator's ServiceAccount may; collects every wrong answer so one run lists them all. */
async function wrongAnswers(checks: Array<{ want: boolean; verb: string; resource: string; namespace?: string }>): Promise<string[]> {
  const wrong: string[] = [];
  for (let i = 0; i < checks.length; i += 8) {
    await Promise.all(
      checks.slice(i, i + 8).map(async (c) => {
        const got = await canI(c.verb, c.resource, c.namespace, { as: OPERATOR });
        if (got !== c.want) wrong.push(`${c.verb} ${c.resource}${c.namespace ? ` -n ${c.namespace}` : ''}: ${got ? 'yes' : 'no'}, want ${c.want ? 'yes' : 'no'}`);
      }),
    );
  }
  return wrong;
}

describe("the operator's token in an attacker's hands", () => {
  let token: string;

  before(async () => {
    await installCrossgate();
    await kubectl(['create', 'namespace', outsider]);
    await applyYaml(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: ${foreignWebhook}}
webhooks: []
`);
    token = await operatorKubeconfig();
  });

  after(async () => {
    await kubectl(['delete', 'namespace', outsider, '--wait=false', '--ignore-not-found'], { allowFail: true });
    await kubectl(['delete', 'validatingwebhookconfiguration', foreignWebhook, '--ignore-not-found'], { allowFail: true });
  });

  /** A real request with the operator's token; resolves to kubectl's error text ('' when it was allowed). */
  async function asOperator(args: string[]): Promise<string> {
    const r = await kubectl(args, { kubeconfig: token, allowFail: true });
    return r.code === 0 ? '' : r.stderr.trim();
  }

  test('it cannot disable or redirect any admission webhook, crossgate\'s own included', async () => {
    const vwc = 'validatingwebhookconfigurations.admissionregistration.k8s.io';
    const checks = ['create', 'update', 'patch', 'delete', 'deletecollection'].flatMap((verb) => [
      { want: false, verb, resource: vwc },
      { want: false, verb, resource: `${vwc}/${WEBHOOK_CONFIGURATION}` },
      { want: false, verb, resource: `${vwc}/${foreignWebhook}` },
    ]);
    assert.deepEqual(await wrongAnswers(checks), []);
    // Pointing another product's webhook at the attacker's server would hand it every object that webhook sees.
    const err = await asOperator(['patch', 'validatingwebhookconfiguration', foreignWebhook, '--type=merge', '-p', '{"metadata":{"labels":{"pwned":"true"}}}', '--dry-run=server']);
    assert.match(err, /forbidden/i);
    assert.match(err, /validatingwebhookconfigurations/);
  });

  test('it writes ConfigMaps and Leases only in its own namespace (the gateway config and its Lease)', async () => {
    const checks = [
      ...['create', 'update', 'patch', 'delete'].flatMap((verb) => [
        { want: false, verb, resource: 'configmaps', namespace: outsider },
        { want: false, verb, resource: 'configmaps', namespace: 'kube-system' },
        { want: false, verb, resource: 'leases.coordination.k8s.io', namespace: 'kube-system' },
      ]),
      ...['create', 'update', 'delete'].map((verb) => ({ want: true, verb, resource: 'configmaps', namespace: OPERATOR_NAMESPACE })),
      ...['get', 'create', 'update'].map((verb) => ({ want: true, verb, resource: 'leases.coordination.k8s.io', namespace: OPERATOR_NAMESPACE })),
      // Asset specifications live in any organization's namespace: reading stays cluster-wide.
      { want: true, verb: 'get', resource: 'configmaps', namespace: outsider },
    ];
    assert.deepEqual(await wrongAnswers(checks), []);
    // kube-system's leader Leases and ConfigMaps (kube-proxy's, coredns') are not the operator's to rewrite.
    const err = await asOperator(['create', 'configmap', 'planted', '-n', 'kube-system', '--from-literal=k=v', '--dry-run=server']);
    assert.match(err, /forbidden/i);
    assert.match(err, /configmaps/);
  });

  test("it cannot grant itself its namespace role, or anything it does not hold, elsewhere", async () => {
    const rb = (name: string, clusterrole: string) =>
      asOperator(['create', 'rolebinding', name, '-n', outsider, `--clusterrole=${clusterrole}`, `--serviceaccount=${OPERATOR_NAMESPACE}:${OPERATOR_SA}`, '--dry-run=server']);
    // RBAC's escalation check: binding a role needs `bind` on it, or holding every permission it grants there.
    for (const role of ['crossgate-operator-namespace', 'cluster-admin', 'admin', 'edit']) {
      const err = await rb(uniqueName('grab'), role);
      assert.match(err, /forbidden/i, `binding ${role} in ${outsider}`);
      assert.match(err, /escalat|not currently held|bind/i, `binding ${role}: ${err}`);
    }
    assert.deepEqual(
      await wrongAnswers([
        { want: false, verb: 'bind', resource: 'clusterroles.rbac.authorization.k8s.io/crossgate-operator-namespace' },
        { want: false, verb: 'escalate', resource: 'clusterroles.rbac.authorization.k8s.io' },
        { want: false, verb: 'escalate', resource: 'roles.rbac.authorization.k8s.io', namespace: outsider },
        { want: false, verb: 'create', resource: 'clusterrolebindings.rbac.authorization.k8s.io' },
        { want: false, verb: 'create', resource: 'serviceaccounts/token', namespace: 'kube-system' },
        { want: false, verb: 'create', resource: 'pods', namespace: outsider },
      ]),
      [],
    );
  });

  test("it cannot rewrite a tenant's spec: it patches only the kinds it finalizes and the Contracts it opens, and replaces only what ApiPromotions copy", async () => {
    const checks = KINDS.flatMap((k) => {
      const resource = `${k.plural}.crossgate.dev`;
      const patched = (OPERATOR_PATCHED_PLURALS as readonly string[]).includes(k.plural);
      // What an ApiPromotion copies (docs/security-model.md): created, replaced at a resourceVersion, deleted; never patched.
      const promoted = (OPERATOR_PROMOTED_PLURALS as readonly string[]).includes(k.plural);
      const namespace = k.scope === 'Namespaced' ? outsider : undefined;
      return [
        { want: patched, verb: 'patch', resource, namespace },
        { want: promoted, verb: 'update', resource, namespace },
        { want: k.plural === 'contracts' || promoted, verb: 'delete', resource, namespace },
        { want: false, verb: 'deletecollection', resource, namespace },
      ];
    });
    assert.deepEqual(await wrongAnswers(checks), []);
  });

  test('it still may what the reconcilers do: key Secrets, share and group RBAC, namespaces, Events', async () => {
    const checks = [
      ...['list', 'watch', 'create', 'patch', 'delete'].map((verb) => ({ want: true, verb, resource: 'secrets', namespace: outsider })),
      ...['roles', 'rolebindings'].flatMap((r) => ['list', 'watch', 'create', 'update', 'delete'].map((verb) => ({ want: true, verb, resource: `${r}.rbac.authorization.k8s.io`, namespace: outsider }))),
      { want: true, verb: 'bind', resource: 'clusterroles.rbac.authorization.k8s.io/crossgate-view' },
      { want: true, verb: 'bind', resource: 'clusterroles.rbac.authorization.k8s.io/crossgate-edit' },
      { want: true, verb: 'create', resource: 'namespaces' },
      { want: true, verb: 'patch', resource: 'namespaces' },
      { want: false, verb: 'delete', resource: 'namespaces' },
      { want: true, verb: 'create', resource: 'events', namespace: outsider },
      { want: true, verb: 'patch', resource: 'apikeys.crossgate.dev/status', namespace: outsider },
    ];
    assert.deepEqual(await wrongAnswers(checks), []);
  });
});
