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

/** crossgate kinds whose objects (not only their status) the operator patches: its finalizers, and the Contracts it opens. */
export const OPERATOR_PATCHED_PLURALS = ['organizations', 'assetshares', 'apikeys', 'contracts', 'apipromotions'] as const;

/** crossgate kinds an ApiPromotion copies into its environment: the operator creates, updates (PUT at a resourceVersion) and deletes them. */
export const OPERATOR_PROMOTED_PLURALS = ['apiinstances', 'policies', 'slatiers', 'alerts'] as const;

/** crossgate kinds that own what the operator makes (blockOwnerDeletion) without the operator patching them: the Application's Secret. */
export const OPERATOR_OWNER_PLURALS = ['applications'] as const;

/**
 * The operator's cluster-wide permissions: see docs/security-model.md "The operator's permissions" for
 * why each rule exists and what its abuse gives. Writes that only ever happen in the operator's own
 * namespace are in operatorNamespaceRole(), bound there and nowhere else.
 */
export function operatorClusterRole(name = 'crossgate-operator'): Record<string, unknown> {
  const crossgate = KINDS.map((k) => k.plural);
  const patched = [...OPERATOR_PATCHED_PLURALS];
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels },
    rules: [
      { apiGroups: [GROUP], resources: crossgate, verbs: ['get', 'list', 'watch'] },
      // Finalizers (Organization, AssetShare, ApiKey, ApiPromotion) and Contract spec: never another kind's spec.
      { apiGroups: [GROUP], resources: patched, verbs: ['patch'] },
      { apiGroups: [GROUP], resources: crossgate.map((p) => `${p}/status`), verbs: ['patch'] },
      // blockOwnerDeletion on objects these kinds own needs update on the owner's finalizers (OwnerReferencesPermissionEnforcement).
      { apiGroups: [GROUP], resources: [...patched, ...OPERATOR_OWNER_PLURALS].map((p) => `${p}/finalizers`), verbs: ['update'] },
      { apiGroups: [GROUP], resources: ['contracts'], verbs: ['create', 'delete'] },
      // ApiPromotion: its copies in the target environment (never Contracts, ApiKeys, Applications); admission still judges each write.
      { apiGroups: [GROUP], resources: [...OPERATOR_PROMOTED_PLURALS], verbs: ['create', 'update', 'delete'] },
      // Organization: label (and create) its namespaces.
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
      // Organization and AssetShare: RoleBindings for groups, Roles scoped to shared objects (watched by label only).
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings', 'roles'], verbs: ['list', 'watch', 'create', 'update', 'delete'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: [CLUSTERROLE_VIEW, CLUSTERROLE_EDIT] },
      // ApiKey and Application: key and client Secrets in the consumers' namespaces (watched by label only; written with POST, merge patch, DELETE).
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
      // Asset specifications by ConfigMap, and the gateway config (written only in its namespace: operatorNamespaceRole).
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      // ApiInstance spec.parentRefs: the HTTPRoute rendered in the instance's namespace (server-side apply; watched by
      // label, its status read back), and the Envoy Gateway SecurityPolicy beside it (read by name: one crossgate did
      // not render is never overwritten).
      { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
      { apiGroups: ['gateway.envoyproxy.io'], resources: ['securitypolicies'], verbs: ['get', 'create', 'patch', 'delete'] },
    ],
  };
}

/** The operator's writes in its own namespace only (gateway config ConfigMaps, leader Lease): bound by a RoleBinding there. */
export function operatorNamespaceRole(name = 'crossgate-operator-namespace'): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels },
    rules: [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'update', 'delete'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
      // The ReferenceGrants letting tenants' SecurityPolicies call crossgate-authz (in this namespace by default),
      // watched by label so that unneeded ones are swept at start.
      { apiGroups: ['gateway.networking.k8s.io'], resources: ['referencegrants'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
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

/**
 * crossgate-authz is the gateway process in its decision mode (--mode=authz): it reads the same
 * gateway config ConfigMaps and nothing else (its token and TLS files are mounted by the kubelet,
 * not read through the API). Same rules as the gateway's, under its own name, so that the two
 * can be bound, audited and narrowed apart.
 */
export function authzClusterRole(name = 'crossgate-authz'): Record<string, unknown> {
  return { ...gatewayClusterRole(name) };
}
