// Pure decisions for the Gateway API step of an ApiInstance (gatewayroute.ts):
// which HTTPRoute, Envoy Gateway SecurityPolicy (with the instance's CORS
// policy) and ReferenceGrant should exist for an instance with
// spec.parentRefs, whether an object found under their name is the one
// rendered for it, and what its GatewayRouteAccepted condition says (from the
// route's status, written by the Gateway API controller). Who may attach where
// is model/gateway-parents.ts. No I/O.
import { hash } from 'node:crypto';
import type { ApiInstance, Policy } from '../../api/v1alpha1/index.ts';
import { DEFAULT_CORS_METHODS, type CorsPolicyConfig } from '../../api/policies.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../../api/labels.ts';
import type { ConditionInput } from '../../kube/conditions.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { gatewayRouteScope, parentGateway } from '../../model/gateway-parents.ts';
import { routeIdOf } from '../../model/route-entry.ts';
import { policiesFor, policyConfigErrors } from '../../model/policy-selection.ts';

export const GATEWAY_ROUTE_CONDITION = 'GatewayRouteAccepted';
/** On every rendered object: the instance it was rendered for. */
export const LABEL_GATEWAY_ROUTE = 'crossgate.dev/apiinstance';

/**
 * The value of LABEL_GATEWAY_ROUTE for an instance: its name, or for a name over a label value's 63 characters its
 * first 50 and 12 hex digits of its SHA-256 (names go up to 253, and a label the apiserver refuses renders nothing).
 */
export function routeLabel(name: string): string {
  return name.length <= 63 ? name : `${name.slice(0, 50)}-${hash('sha256', name, 'hex').slice(0, 12)}`;
}
/** On a ReferenceGrant in the authz namespace: the namespace whose SecurityPolicies it lets call crossgate-authz. */
export const LABEL_GRANT_FROM = 'crossgate.dev/authz-grant-from';
/** The contextExtensions key carrying the route identity ("namespace/name") to crossgate-authz. */
export const ROUTE_CONTEXT_KEY = 'crossgate-route';

export const HTTPROUTES = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', kind: 'HTTPRoute' } as const;
export const SECURITYPOLICIES = { group: 'gateway.envoyproxy.io', version: 'v1alpha1', plural: 'securitypolicies', kind: 'SecurityPolicy' } as const;
export const REFERENCEGRANTS = { group: 'gateway.networking.k8s.io', version: 'v1beta1', plural: 'referencegrants', kind: 'ReferenceGrant' } as const;

/** Where crossgate-authz listens (operator config; default crossgate-authz in the operator's namespace). */
export interface AuthzService {
  name: string;
  namespace: string;
  port: number;
}

type Obj = { apiVersion: string; kind: string; metadata: Record<string, unknown>; spec: Record<string, unknown> };
type Instance = Pick<ApiInstance, 'metadata' | 'spec'> & { apiVersion?: string; kind?: string };

export type GatewayRouteDecision =
  | { render: false; condition?: ConditionInput }
  | { render: true; route: Obj; policy: Obj; grant?: Obj };

const notRendered = (reason: string, message: string): GatewayRouteDecision => ({
  render: false,
  condition: { type: GATEWAY_ROUTE_CONDITION, status: 'False', reason, message },
});

export const grantName = (fromNamespace: string) => `crossgate-authz-from-${fromNamespace}`;

/**
 * What should exist for `instance`: nothing without spec.parentRefs (no
 * condition); nothing, with the reason, when its upstream is a URL (an
 * HTTPRoute names Services only) or model/gateway-parents.ts objects; else the
 * HTTPRoute, its SecurityPolicy and, when authz lives elsewhere, the
 * ReferenceGrant letting this namespace's policies call it.
 */
export function desiredGatewayRoute(snapshot: Snapshot, instance: Instance, authz: AuthzService, policies: readonly Policy[] = []): GatewayRouteDecision {
  const refs = instance.spec.parentRefs ?? [];
  if (!refs.length) return { render: false };
  const backend = instance.spec.upstream.backendRef;
  if (!backend) {
    return notRendered(
      'URLUpstream',
      'spec.upstream.url cannot be expressed in an HTTPRoute, which forwards to Services only: no route is rendered and the instance stays on the crossgate gateway. Use spec.upstream.backendRef to be served through spec.parentRefs',
    );
  }
  const scope = gatewayRouteScope(snapshot, instance);
  if (!scope.ok) return notRendered(scope.reason, `no HTTPRoute is rendered: ${scope.message}`);
  const ns = instance.metadata.namespace!;
  const name = instance.metadata.name!;
  const labels = { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_GATEWAY_ROUTE]: routeLabel(name) };
  const owner = instance.metadata.uid
    ? [{ apiVersion: instance.apiVersion ?? 'crossgate.dev/v1alpha1', kind: instance.kind ?? 'ApiInstance', name, uid: instance.metadata.uid, controller: true, blockOwnerDeletion: true }]
    : undefined;
  const metadata = { name, namespace: ns, labels, ...(owner ? { ownerReferences: owner } : {}) };
  const route: Obj = {
    apiVersion: `${HTTPROUTES.group}/${HTTPROUTES.version}`,
    kind: HTTPROUTES.kind,
    metadata,
    spec: {
      parentRefs: refs.map((r) => ({
        group: 'gateway.networking.k8s.io',
        kind: 'Gateway',
        name: r.name,
        namespace: r.namespace ?? ns,
        ...(r.sectionName ? { sectionName: r.sectionName } : {}),
        ...(r.port ? { port: r.port } : {}),
      })),
      hostnames: scope.hostnames,
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: instance.spec.basePath } }], backendRefs: [{ name: backend.name, port: backend.port }] }],
    },
  };
  const cors = desiredCors(instance, policies);
  const policy: Obj = {
    apiVersion: `${SECURITYPOLICIES.group}/${SECURITYPOLICIES.version}`,
    kind: SECURITYPOLICIES.kind,
    metadata,
    spec: {
      targetRefs: [{ group: HTTPROUTES.group, kind: HTTPROUTES.kind, name }],
      extAuth: {
        grpc: { backendRefs: [{ name: authz.name, namespace: authz.namespace, port: authz.port }] },
        contextExtensions: [{ name: ROUTE_CONTEXT_KEY, type: 'Value', value: routeIdOf(instance) }],
      },
      // Envoy answers preflights in its CORS filter, before ext_authz, as the crossgate gateway does.
      ...(cors ? { cors } : {}),
    },
  };
  return { render: true, route, policy, ...(ns === authz.namespace ? {} : { grant: desiredGrant(ns, authz) }) };
}

/** Envoy Gateway v1.7.0's SecurityPolicy CRD: spec.cors.allowOrigins[] maxLength. */
const EG_ORIGIN_MAX = 253;

/**
 * An origin Envoy Gateway v1.7.0 accepts (its CRD's length and pattern, the latter checked here without its backtracking regex) and
 * means as the gateway does: "*", or http(s)://label(.label)*[:port]. Envoy Gateway reads a "*" host
 * ("https://*") or a "*." prefix as a wildcard, while the gateway compares origins literally (no browser sends
 * one): rendered, "https://*" with allowCredentials would let any site read responses made with visitors'
 * credentials (security-model row 13), so those are left out.
 */
export function egOrigin(origin: string): boolean {
  if (origin === '*') return true;
  // Its CRD's maxLength (crossgate's cors schema allows 512): a longer one would get the SecurityPolicy refused.
  if (origin.length > EG_ORIGIN_MAX) return false;
  const m = /^https?:\/\/([^:/]+)(?::(\d{1,5}))?$/.exec(origin);
  if (!m) return false;
  return m[1]!.split('.').every((l) => /^[\w-]+$/.test(l));
}

/**
 * Envoy Gateway's SecurityPolicy spec.cors from the first CORS policy that
 * applies to the instance (the one the gateway enforces), or undefined: none,
 * or its config invalid (the route is then withheld from crossgate-authz too,
 * and a browser without CORS headers is refused). Origins are normalized as
 * the gateway compares them (lower case, no trailing "/"); one Envoy Gateway
 * cannot express, or would read as a wildcard, is left out, which only narrows who may call. Unset
 * allowHeaders means any requested header (the gateway reflects them): "*".
 */
export function desiredCors(instance: Instance, policies: readonly Policy[]): Record<string, unknown> | undefined {
  const first = policiesFor(instance, policies).find((p) => p.spec.type === 'cors');
  if (!first || policyConfigErrors(first).length) return undefined;
  const cfg = first.spec.config as CorsPolicyConfig;
  const origins = [...new Set(cfg.allowOrigins.map((o) => o.toLowerCase().replace(/\/+$/, '')))].filter(egOrigin);
  if (!origins.length) return undefined;
  return {
    allowOrigins: origins,
    allowMethods: cfg.allowMethods?.length ? [...cfg.allowMethods] : [...DEFAULT_CORS_METHODS],
    allowHeaders: cfg.allowHeaders ? [...cfg.allowHeaders] : ['*'],
    ...(cfg.exposeHeaders?.length ? { exposeHeaders: [...cfg.exposeHeaders] } : {}),
    ...(cfg.maxAgeSeconds !== undefined ? { maxAge: `${cfg.maxAgeSeconds}s` } : {}),
    ...(cfg.allowCredentials !== undefined ? { allowCredentials: cfg.allowCredentials } : {}),
  };
}

type Rendered = {
  metadata?: { labels?: Record<string, string>; ownerReferences?: { uid?: string; controller?: boolean }[]; managedFields?: { manager?: string; operation?: string; subresource?: string }[] };
};

/**
 * Whether an object found under the name of a rendered object is the one
 * crossgate rendered for `instance`: its controller owner reference is this
 * instance (by uid, so not a namesake deleted and made again) and it carries
 * crossgate's labels. Anything else (a user's own HTTPRoute) is never
 * overwritten nor deleted.
 */
export function renderedFor(obj: Rendered, instance: Instance): boolean {
  const labels = obj.metadata?.labels ?? {};
  const uid = instance.metadata.uid;
  return (
    !!uid &&
    labels[LABEL_MANAGED_BY] === MANAGED_BY &&
    labels[LABEL_GATEWAY_ROUTE] === routeLabel(instance.metadata.name ?? '') &&
    (obj.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.uid === uid)
  );
}

/**
 * Whether an object under the name `name` is one crossgate rendered that no controller owns any more: the instance
 * was deleted with --cascade=orphan (delete on ApiInstances is all it takes), or the owner reference was removed.
 * It carries crossgate's labels for that name, `manager` (crossgate's field manager) applied it, and it has no
 * controller owner reference. Left alone it would stay in force unowned, its hostnames never checked again, so it
 * is still crossgate's: removed when no instance of that name renders it, taken back when one does.
 */
export function orphanedRender(obj: Rendered, name: string, manager: string): boolean {
  const labels = obj.metadata?.labels ?? {};
  return (
    labels[LABEL_MANAGED_BY] === MANAGED_BY &&
    labels[LABEL_GATEWAY_ROUTE] === routeLabel(name) &&
    !(obj.metadata?.ownerReferences ?? []).some((r) => r.controller === true) &&
    (obj.metadata?.managedFields ?? []).some((f) => f.manager === manager && f.operation === 'Apply' && !f.subresource)
  );
}

/** The condition while an object crossgate did not render holds the name of the route or its policy. */
export function nameTakenCondition(kind: string, namespace: string, name: string): ConditionInput {
  return {
    type: GATEWAY_ROUTE_CONDITION,
    status: 'False',
    reason: 'NameTaken',
    message:
      `${kind} "${namespace}/${name}" already exists and was not rendered by crossgate for this ApiInstance (it has no controller owner reference to it): ` +
      `it is left untouched and no route is rendered; delete or rename that ${kind} (or rename the ApiInstance), and the route is rendered once the name is free`,
  };
}

/** The ReferenceGrant in authz's namespace letting `from`'s SecurityPolicies name the authz Service. */
export function desiredGrant(from: string, authz: AuthzService): Obj {
  return {
    apiVersion: `${REFERENCEGRANTS.group}/${REFERENCEGRANTS.version}`,
    kind: REFERENCEGRANTS.kind,
    metadata: { name: grantName(from), namespace: authz.namespace, labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_GRANT_FROM]: from } },
    spec: { from: [{ group: SECURITYPOLICIES.group, kind: SECURITYPOLICIES.kind, namespace: from }], to: [{ group: '', kind: 'Service', name: authz.name }] },
  };
}

/** Longest text of another writer (the apiserver, a route status) quoted in a condition, whose message the CRD bounds at 32768. */
const MAX_QUOTED = 1024;
const quote = (text: string) => (text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text);

/** The condition when the apiserver does not serve a kind the route needs (Gateway API or Envoy Gateway CRDs absent). */
export function kindAbsentCondition(kind: string, group: string): ConditionInput {
  return {
    type: GATEWAY_ROUTE_CONDITION,
    status: 'False',
    reason: 'GatewayAPINotInstalled',
    message: `the cluster does not serve ${kind} (${group}): install the Gateway API and Envoy Gateway CRDs to serve this instance through spec.parentRefs; until then no route is rendered and it stays on the crossgate gateway`,
  };
}

/**
 * The condition when the apiserver refuses a rendered object (a rule of the Gateway API or Envoy Gateway CRD that
 * crossgate's schema does not have; a platform's admission policy): nothing is rendered,
 * and what was rendered for an older spec is removed, so it never stays in force.
 */
export function renderRejectedCondition(kind: string, group: string, reason: string): ConditionInput {
  return {
    type: GATEWAY_ROUTE_CONDITION,
    status: 'False',
    reason: 'RenderRejected',
    message: `the apiserver refused the rendered ${kind} (${group}): ${quote(reason)}; no route is rendered for this instance (one rendered before is removed) until its spec changes`,
  };
}

type RouteParentStatus = {
  parentRef?: { name?: string; namespace?: string; sectionName?: string; port?: number };
  controllerName?: string;
  conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
};

/**
 * GatewayRouteAccepted from the route's status.parents: the first parent not Accepted or with unresolved refs, else
 * True. The controller's message is quoted bounded: a status message may be as long as the instance's own bound.
 */
export function routeAcceptance(route: { metadata?: { namespace?: string }; spec?: { parentRefs?: RouteParentStatus['parentRef'][] }; status?: { parents?: RouteParentStatus[] } }): ConditionInput {
  const ns = route.metadata?.namespace ?? '';
  const parents = route.status?.parents ?? [];
  const accepted: string[] = [];
  for (const ref of route.spec?.parentRefs ?? []) {
    const gw = parentGateway({ name: ref?.name ?? '', namespace: ref?.namespace }, ns);
    const st = parents.find(
      (p) => parentGateway({ name: p.parentRef?.name ?? '', namespace: p.parentRef?.namespace }, ns) === gw && (p.parentRef?.sectionName ?? '') === (ref?.sectionName ?? '') && (p.parentRef?.port ?? 0) === (ref?.port ?? 0),
    );
    const of = (t: string) => st?.conditions?.find((c) => c.type === t);
    const acc = of('Accepted');
    if (!st || !acc) return { type: GATEWAY_ROUTE_CONDITION, status: 'Unknown', reason: 'Pending', message: `HTTPRoute rendered; no Gateway API controller has reported on it for Gateway "${gw}" yet` };
    const who = st.controllerName ? ` (${st.controllerName})` : '';
    if (acc.status !== 'True') return { type: GATEWAY_ROUTE_CONDITION, status: 'False', reason: acc.reason || 'NotAccepted', message: `Gateway "${gw}"${who} did not accept the HTTPRoute: ${quote(acc.message ?? '')}`.trim() };
    const refs = of('ResolvedRefs');
    if (refs && refs.status !== 'True') return { type: GATEWAY_ROUTE_CONDITION, status: 'False', reason: refs.reason || 'RefsNotResolved', message: `Gateway "${gw}"${who} cannot resolve the HTTPRoute's references: ${quote(refs.message ?? '')}`.trim() };
    accepted.push(`"${gw}"${who}`);
  }
  return { type: GATEWAY_ROUTE_CONDITION, status: 'True', reason: 'Accepted', message: `HTTPRoute accepted by Gateway ${accepted.join(', ')}` };
}
