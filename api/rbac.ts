// Pure: the ClusterRoles crossgate ships, derived from the kinds in api/ so a
// new kind can never be forgotten in RBAC. Written to config/rbac/ by hack/generate.ts.
import { GROUP, KINDS } from './v1alpha1/index.ts';
import { CLUSTERROLE_EDIT, CLUSTERROLE_VIEW } from './labels.ts';

const plurals = () => KINDS.filter((k) => k.scope === 'Namespaced').map((k) => k.plural);
const labels = { 'app.kubernetes.io/part-of': 'crossgate' };

/** Bound per namespace by the Organization reconciler to member and admin groups. */
export function userClusterRoles(): Record<string, unknown>[] {
  const all = plurals();
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: CLUSTERROLE_VIEW, labels },
      rules: [{ apiGroups: [GROUP], resources: all, verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: CLUSTERROLE_EDIT, labels },
      rules: [
        { apiGroups: [GROUP], resources: all.filter((p) => p !== 'contracts'), verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] },
        // Contracts are written by the operator; the owner only decides on them.
        { apiGroups: [GROUP], resources: ['contracts'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
      ],
    },
  ];
}

/** The operator's own permissions: see docs/security-model.md for why each rule exists. */
export function operatorClusterRole(name = 'crossgate-operator'): Record<string, unknown> {
  const crossgate = KINDS.map((k) => k.plural);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels },
    rules: [
      { apiGroups: [GROUP], resources: crossgate, verbs: ['get', 'list', 'watch', 'patch', 'update'] },
      { apiGroups: [GROUP], resources: crossgate.map((p) => `${p}/status`), verbs: ['get', 'patch', 'update'] },
      { apiGroups: [GROUP], resources: crossgate.map((p) => `${p}/finalizers`), verbs: ['update'] },
      { apiGroups: [GROUP], resources: ['contracts'], verbs: ['create', 'delete'] },
      // Organization: label (and create) its namespaces.
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
      // Organization and AssetShare: RoleBindings for groups, Roles scoped to shared objects.
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings', 'roles'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: [CLUSTERROLE_VIEW, CLUSTERROLE_EDIT] },
      // ApiKey: key Secrets (watched by label only); webhook serving certificate.
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
      // Gateway configuration and Asset specifications.
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
      { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch', 'update'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['validatingwebhookconfigurations'],
        verbs: ['get', 'list', 'watch', 'update', 'patch'],
      },
    ],
  };
}

/** The webhook reads what its rules need, keeps its TLS Secret, and injects its caBundle. */
export function webhookClusterRole(name = 'crossgate-webhook'): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels },
    rules: [
      { apiGroups: [GROUP], resources: KINDS.map((k) => k.plural), verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
      // Its own serving certificate (the chart narrows this to a Role in its namespace).
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update', 'patch'] },
      // caBundle injection; create only matters with CROSSGATE_WEBHOOK_REGISTER=true (local runs).
      { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
    ],
  };
}

/** The gateway only reads its config: bound by a RoleBinding in the gateway config namespace, so it reads nothing else. */
export function gatewayClusterRole(name = 'crossgate-gateway'): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
  };
}
