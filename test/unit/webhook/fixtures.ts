// The seed story as a cluster snapshot: Max Airlines and Mule United Airports,
// each with a home namespace and environments, trusting each other.
import type { AdmissionRequestLike, KubeObject } from '../../../webhook/admission.ts';
import { snapshotFrom, type SnapshotLists, type Snapshot } from '../../../model/snapshot.ts';
import type { ApiInstance, Asset, AssetShare, Organization, OrgTrust } from '../../../api/v1alpha1/index.ts';
import { LABEL_DOMAIN, LABEL_ENVIRONMENT, LABEL_ORGANIZATION, LABEL_ROLE } from '../../../api/labels.ts';

export const API_VERSION = 'crossgate.dev/v1alpha1';

export function organization(name: string, domain: string, home: string, envs: [string, string][], created = '2025-01-01T00:00:00Z'): Organization {
  return {
    apiVersion: API_VERSION,
    kind: 'Organization',
    metadata: { name, creationTimestamp: new Date(created) },
    spec: {
      domain,
      displayName: name,
      homeNamespace: home,
      environments: envs.map(([envName, namespace]) => ({ name: envName, namespace, type: envName === 'production' ? 'production' : 'sandbox' })),
    },
  } as Organization;
}

export function orgTrust(namespace: string, peerDomain: string, extra: Partial<OrgTrust['metadata']> = {}): OrgTrust {
  return { apiVersion: API_VERSION, kind: 'OrgTrust', metadata: { name: peerDomain, namespace, ...extra }, spec: { peerDomain } } as OrgTrust;
}

export function asset(namespace: string, name: string): Asset {
  return {
    apiVersion: API_VERSION,
    kind: 'Asset',
    metadata: { name, namespace },
    spec: { type: 'http', title: 'Flights EAPI', version: '1.0.0' },
  } as Asset;
}

export function apiInstance(namespace: string, name: string, assetRef: { name: string; namespace?: string } = { name: 'flights-eapi' }): ApiInstance {
  return {
    apiVersion: API_VERSION,
    kind: 'ApiInstance',
    metadata: { name, namespace },
    spec: { assetRef, basePath: '/flights/v1', upstream: { url: `http://flights.${namespace}.svc:8080` } },
  } as ApiInstance;
}

export function assetShare(
  namespace: string,
  name: string,
  peers: { domain: string; access?: string }[],
  targetRef: { kind: string; name: string; namespace?: string } = { kind: 'Asset', name: 'flights-eapi' },
): AssetShare {
  return { apiVersion: API_VERSION, kind: 'AssetShare', metadata: { name, namespace }, spec: { targetRef, peers } } as AssetShare;
}

/** An organization with route space assigned (spec.routes). */
export function withRoutes(org: Organization, routes: { hostnames?: string[]; pathPrefixes?: string[] }): Organization {
  return { ...org, spec: { ...org.spec, routes } };
}

export const maxAirlines = withRoutes(
  organization('max-airlines', 'max-airlines', 'max-airlines-home', [
    ['sandbox', 'max-airlines-sandbox'],
    ['production', 'max-airlines-prod'],
  ]),
  { hostnames: ['*.max-airlines.example'], pathPrefixes: ['/flights'] },
);
/** Max Airlines may call its identity provider (jwksUrl) and its external flights backend. */
maxAirlines.spec.upstreams = { allowedHosts: ['id.example.com', '*.max-airlines.example'] };
export const muleUnited = withRoutes(
  organization('mule-united', 'mule-united', 'mule-united-home', [['production', 'mule-united-prod']], '2025-02-01T00:00:00Z'),
  { hostnames: ['api.mule-united.example'], pathPrefixes: ['/gates'] },
);

export function namespacesOf(org: Organization) {
  const base = { [LABEL_ORGANIZATION]: org.metadata.name!, [LABEL_DOMAIN]: org.spec.domain };
  return [
    { name: org.spec.homeNamespace, labels: { ...base, [LABEL_ROLE]: 'home' } },
    ...org.spec.environments.map((e) => ({ name: e.namespace, labels: { ...base, [LABEL_ROLE]: 'environment', [LABEL_ENVIRONMENT]: e.name } })),
  ];
}

/** Both organizations, mutual trust, the Flights EAPI asset and its production instance. */
export function story(overrides: Partial<SnapshotLists> = {}): Snapshot {
  return snapshotFrom({
    organizations: [maxAirlines, muleUnited],
    namespaces: [
      ...namespacesOf(maxAirlines),
      ...namespacesOf(muleUnited),
      { name: 'team-a', labels: {} },
      { name: 'ghost-ns', labels: { [LABEL_ORGANIZATION]: 'ghost' } },
    ],
    orgTrusts: [orgTrust('max-airlines-home', 'mule-united'), orgTrust('mule-united-home', 'max-airlines')],
    assets: [asset('max-airlines-home', 'flights-eapi')],
    apiInstances: [apiInstance('max-airlines-prod', 'flights')],
    assetShares: [],
    reservedNamespaces: ['crossgate-system'],
    ...overrides,
  });
}

export function request(operation: 'CREATE' | 'UPDATE' | 'DELETE', object: KubeObject, oldObject?: KubeObject): AdmissionRequestLike {
  const kind = String(object.kind);
  const namespace = object.metadata?.namespace;
  return {
    uid: 'b5f2c7e0-0000-4000-8000-000000000001',
    kind: { group: 'crossgate.dev', version: 'v1alpha1', kind },
    operation,
    ...(namespace ? { namespace } : {}),
    name: object.metadata?.name ?? '',
    object,
    oldObject: oldObject ?? null,
  };
}
