// Route conflicts, host overlap, Asset resolution, endpoints and the status of
// an ApiInstance: the decisions the reconciler and the gateway-config renderer share.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { snapshotFrom } from '../../../model/snapshot.ts';
import type { ApiInstance, Asset, Organization } from '../../../api/v1alpha1/index.ts';
import { desiredInstanceStatus, endpointOf, resolveAsset } from '../../../operator/controllers/apiinstance-desired.ts';
import { conflictMessage, gatewayOf, olderInstanceFirst, routeConflictOf, routeConflicts, routeNeighbours } from '../../../model/route-conflicts.ts';
import { hostnamesOverlap, hostPatternOverlap } from '../../../model/route-claims.ts';

const org = (name: string, envs: string[] = [`${name}-prod`]): Organization =>
  ({
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'Organization',
    metadata: { name, creationTimestamp: '2026-01-01T00:00:00Z' as unknown as Date },
    spec: { domain: name, displayName: name, homeNamespace: `${name}-home`, environments: envs.map((ns, i) => ({ name: `env${i}`, namespace: ns })) },
  }) as Organization;

function inst(
  name: string,
  opts: { ns?: string; created?: string; basePath?: string; hostnames?: string[]; gateway?: string; asset?: { name: string; namespace?: string }; deleting?: boolean } = {},
): ApiInstance {
  return {
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'ApiInstance',
    metadata: {
      name,
      namespace: opts.ns ?? 'max-prod',
      creationTimestamp: (opts.created ?? '2026-01-01T00:00:00Z') as unknown as Date,
      ...(opts.deleting ? { deletionTimestamp: '2026-02-01T00:00:00Z' as unknown as Date } : {}),
    },
    spec: {
      assetRef: opts.asset ?? { name: 'flights-eapi' },
      basePath: opts.basePath ?? '/flights/v1',
      ...(opts.hostnames ? { hostnames: opts.hostnames } : {}),
      ...(opts.gateway ? { gateway: opts.gateway } : {}),
      upstream: { url: 'http://user:secret@flights.svc:8080' },
    },
  } as ApiInstance;
}
const asset = (ns: string, name: string, deleting = false): Asset =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'Asset', metadata: { name, namespace: ns, ...(deleting ? { deletionTimestamp: new Date() } : {}) }, spec: { type: 'http', title: name, version: '1.0.0' } }) as Asset;

describe('hostname overlap', () => {
  test('exact names overlap only when equal', () => {
    assert.equal(hostPatternOverlap('api.max.com', 'api.max.com'), 'api.max.com');
    assert.equal(hostPatternOverlap('api.max.com', 'www.max.com'), undefined);
  });

  test('a wildcard covers every name below its suffix, one label or more, never the suffix itself', () => {
    assert.equal(hostPatternOverlap('*.max.com', 'api.max.com'), 'api.max.com');
    assert.equal(hostPatternOverlap('a.b.max.com', '*.max.com'), 'a.b.max.com');
    assert.equal(hostPatternOverlap('*.max.com', 'max.com'), undefined);
    assert.equal(hostPatternOverlap('*.max.com', 'amax.com'), undefined, 'a suffix match is label-wise');
  });

  test('two wildcards overlap when one suffix lies below the other; the narrower is named', () => {
    assert.equal(hostPatternOverlap('*.max.com', '*.eu.max.com'), '*.eu.max.com');
    assert.equal(hostPatternOverlap('*.eu.max.com', '*.max.com'), '*.eu.max.com');
    assert.equal(hostPatternOverlap('*.max.com', '*.mule.com'), undefined);
  });

  // Issue 13 changed this: no hostnames is the shared host, which a named host's requests never reach.
  test('no hostnames means the shared host: it overlaps only another shared-host list, never a named host', () => {
    assert.equal(hostnamesOverlap(undefined, []), '*');
    assert.equal(hostnamesOverlap([], ['api.max.com']), undefined);
    assert.equal(hostnamesOverlap(['*.max.com'], undefined), undefined);
    assert.equal(hostnamesOverlap(['a.com', 'b.com'], ['c.com', 'b.com']), 'b.com');
    assert.equal(hostnamesOverlap(['a.com'], ['b.com']), undefined);
  });
});

describe('route conflicts', () => {
  const older = inst('flights', { created: '2026-01-01T00:00:00Z' });
  const newer = inst('flights-copy', { created: '2026-01-02T00:00:00Z' });

  test('same gateway, same basePath, overlapping hosts: the older keeps the route, the newer is named with host and path', () => {
    const c = routeConflicts([newer, older]);
    assert.deepEqual([...c.keys()], ['max-prod/flights-copy']);
    assert.deepEqual(c.get('max-prod/flights-copy'), {
      instance: 'max-prod/flights-copy',
      heldBy: 'max-prod/flights',
      gateway: 'default',
      host: '*',
      basePath: '/flights/v1',
      claimants: 1,
    });
    assert.equal(
      conflictMessage(c.get('max-prod/flights-copy')!),
      'route conflict on gateway "default": ApiInstance "max-prod/flights" is older and already claims any host with basePath "/flights/v1"; ' +
        'the older instance keeps the route: change spec.basePath or spec.hostnames, or delete the other instance',
    );
    assert.deepEqual(routeConflictOf(newer, [older, newer]), c.get('max-prod/flights-copy'));
    assert.equal(routeConflictOf(older, [older, newer]), undefined);
  });

  test('no conflict across gateways, base paths or disjoint hosts; the default gateway is "default"', () => {
    assert.equal(gatewayOf(older), 'default');
    assert.equal(routeConflicts([older, inst('b', { created: '2026-01-02T00:00:00Z', gateway: 'internal' })]).size, 0);
    assert.equal(routeConflicts([older, inst('b', { created: '2026-01-02T00:00:00Z', gateway: 'default' })]).size, 1, 'explicit "default" is the default gateway');
    assert.equal(routeConflicts([older, inst('b', { created: '2026-01-02T00:00:00Z', basePath: '/flights/v2' })]).size, 0);
    assert.equal(routeConflicts([older, inst('b', { created: '2026-01-02T00:00:00Z', basePath: '/flights' })]).size, 0, 'a prefix is a different route');
    const a = inst('a', { hostnames: ['api.max.com'] });
    const b = inst('b', { created: '2026-01-02T00:00:00Z', hostnames: ['api.mule.com'] });
    assert.equal(routeConflicts([a, b]).size, 0);
    const w = inst('w', { created: '2026-01-03T00:00:00Z', hostnames: ['*.mule.com'] });
    assert.equal(routeConflicts([a, b, w]).get('max-prod/w')?.host, 'api.mule.com');
  });

  test('instances of different namespaces (and organizations) compete on a shared gateway', () => {
    const theirs = inst('flights', { ns: 'mule-prod', created: '2026-01-03T00:00:00Z' });
    assert.equal(routeConflicts([older, theirs]).get('mule-prod/flights')?.heldBy, 'max-prod/flights');
  });

  test('equal creation times break by namespace/name; a missing timestamp counts as newest', () => {
    const a = inst('a');
    const b = inst('b');
    assert.deepEqual([...routeConflicts([b, a]).keys()], ['max-prod/b']);
    assert.ok(olderInstanceFirst(inst('z', { ns: 'a-ns' }), inst('a', { ns: 'b-ns' })) < 0);
    const undated = { ...inst('0-first-by-name'), metadata: { name: '0-first-by-name', namespace: 'max-prod' } } as ApiInstance;
    assert.deepEqual([...routeConflicts([undated, a]).keys()], ['max-prod/0-first-by-name']);
  });

  test('every older claimant blocks, served or not; the oldest is named and the others counted', () => {
    const a = inst('a', { created: '2026-01-01T00:00:00Z', hostnames: ['x.com'] });
    const b = inst('b', { created: '2026-01-02T00:00:00Z', hostnames: ['x.com', 'y.com'] });
    const c = inst('c', { created: '2026-01-03T00:00:00Z', hostnames: ['y.com'] });
    const d = inst('d', { created: '2026-01-04T00:00:00Z', hostnames: ['x.com', 'y.com'] });
    const shared = inst('shared', { created: '2026-01-05T00:00:00Z' });
    const all = routeConflicts([a, b, c, d, shared]);
    assert.deepEqual([...all.keys()].sort(), ['max-prod/b', 'max-prod/c', 'max-prod/d'], 'the shared host conflicts with no named host');
    assert.equal(all.get('max-prod/c')!.heldBy, 'max-prod/b', 'b loses to a, and still keeps c off y.com');
    assert.equal(all.get('max-prod/d')!.heldBy, 'max-prod/a');
    assert.equal(all.get('max-prod/d')!.claimants, 3);
    assert.match(conflictMessage(all.get('max-prod/d')!), /host "x.com" with basePath "\/flights\/v1" \(2 more older instances claim it too\)/);
    // Deleting the oldest frees only what it blocked.
    const after = routeConflicts([b, c, d]);
    assert.deepEqual([...after.keys()].sort(), ['max-prod/c', 'max-prod/d']);
  });

  test('an instance being deleted claims nothing and loses nothing', () => {
    const leaving = inst('flights', { deleting: true });
    assert.equal(routeConflicts([leaving, newer]).size, 0);
    assert.equal(routeConflictOf(leaving, [older, leaving]), undefined);
  });

  test('routeNeighbours: the instances sharing a gateway and basePath', () => {
    const other = inst('other', { basePath: '/other' });
    assert.deepEqual(routeNeighbours(newer, [older, newer, other]), ['max-prod/flights', 'max-prod/flights-copy']);
  });
});

describe('asset resolution', () => {
  const max = org('max');
  const mule = org('mule');
  const snap = (assets: Asset[]) => snapshotFrom({ organizations: [max, mule], assets });

  test("by default the Asset is looked up in the organization's home namespace", () => {
    const r = resolveAsset(snap([asset('max-home', 'flights-eapi')]), inst('f'));
    assert.equal(r.ok, true);
    assert.equal(r.ok && `${r.namespace}/${r.name}`, 'max-home/flights-eapi');
  });

  test('a missing Asset is named with the namespace it was looked for in', () => {
    assert.deepEqual(resolveAsset(snap([]), inst('f')), { ok: false, reason: 'AssetNotFound', message: 'Asset "flights-eapi" does not exist in namespace "max-home"' });
    assert.equal(resolveAsset(snap([asset('max-home', 'flights-eapi', true)]), inst('f')).ok, false, 'an Asset being deleted is gone');
  });

  test('a given namespace must belong to the same organization', () => {
    const own = inst('f', { asset: { name: 'flights-eapi', namespace: 'max-prod' } });
    assert.equal(resolveAsset(snap([asset('max-prod', 'flights-eapi')]), own).ok, true);
    const theirs = inst('f', { asset: { name: 'flights-eapi', namespace: 'mule-home' } });
    assert.deepEqual(resolveAsset(snap([asset('mule-home', 'flights-eapi')]), theirs), {
      ok: false,
      reason: 'AssetNotFound',
      message:
        'Asset "flights-eapi" is looked for in namespace "mule-home", which does not belong to Organization "max": an ApiInstance implements an Asset of its own organization (default namespace "max-home")',
    });
  });

  test('an instance outside any organization, or in a home namespace, is reported', () => {
    assert.equal(resolveAsset(snap([]), inst('f', { ns: 'nowhere' })).ok === false && (resolveAsset(snap([]), inst('f', { ns: 'nowhere' })) as { reason: string }).reason, 'NoOrganization');
    const r = resolveAsset(snap([asset('max-home', 'flights-eapi')]), inst('f', { ns: 'max-home' }));
    assert.equal(!r.ok && r.reason, 'NotAnEnvironment');
  });
});

describe('endpoint and status', () => {
  test('endpoint: first hostname or "*", then basePath; a gateway URL gives scheme, port and path prefix', () => {
    assert.equal(endpointOf(inst('f')), 'http://*/flights/v1');
    assert.equal(endpointOf(inst('f', { hostnames: ['api.max.com', 'b.com'] })), 'http://api.max.com/flights/v1');
    assert.equal(endpointOf(inst('f'), 'http://127.0.0.1:8080'), 'http://127.0.0.1:8080/flights/v1');
    assert.equal(endpointOf(inst('f'), 'https://gw.example.com/edge/'), 'https://gw.example.com/edge/flights/v1');
    assert.equal(endpointOf(inst('f', { hostnames: ['api.max.com'] }), 'https://127.0.0.1:8443'), 'https://api.max.com:8443/flights/v1');
    assert.equal(endpointOf(inst('f', { basePath: '/' }), 'http://gw:80'), 'http://gw/');
    assert.equal(endpointOf(inst('f'), 'not a url'), 'http://*/flights/v1');
  });

  test('Ready=True Routed with endpoint and gateway; never the upstream URL (it may carry credentials)', () => {
    const i = inst('f');
    const d = desiredInstanceStatus({ ok: true, namespace: 'max-home', name: 'flights-eapi', organization: org('max') }, undefined, i);
    assert.deepEqual(d, {
      gateway: 'default',
      endpoint: 'http://*/flights/v1',
      ready: { type: 'Ready', status: 'True', reason: 'Routed', message: 'served by gateway "default" at http://*/flights/v1 (Asset "max-home/flights-eapi")' },
    });
    assert.doesNotMatch(JSON.stringify(d), /secret/);
  });

  test('the Asset is checked before the route; neither failure has an endpoint', () => {
    const c = routeConflictOf(inst('b', { created: '2026-01-02T00:00:00Z' }), [inst('a'), inst('b', { created: '2026-01-02T00:00:00Z' })]);
    const missing = desiredInstanceStatus({ ok: false, reason: 'AssetNotFound', message: 'gone' }, c, inst('b'));
    assert.deepEqual(missing, { gateway: 'default', ready: { type: 'Ready', status: 'False', reason: 'AssetNotFound', message: 'gone' } });
    const conflict = desiredInstanceStatus({ ok: true, namespace: 'max-home', name: 'flights-eapi', organization: org('max') }, c, inst('b'));
    assert.equal(conflict.ready.reason, 'RouteConflict');
    assert.equal(conflict.endpoint, undefined);
    assert.match(conflict.ready.message, /ApiInstance "max-prod\/a" is older/);
  });
});
