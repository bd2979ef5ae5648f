// Route claims (model/route-claims.ts): path and hostname overlap (examples and
// fast-check properties), claim conflicts between Organizations, effective
// claims when admission was skipped (the older Organization keeps contested
// space), and whether an ApiInstance sits inside its organization's claims,
// with the messages a user reads. Also the route verdict it feeds.
import { routeConflictOf, routeConflicts } from '../../../model/route-conflicts.ts';
import { servedRoutes } from '../../../operator/controllers/gatewayconfig/served-routes.ts';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  claimOverlaps, claimsOf, claimsSummary, withinRouteSpace, effectiveClaims, effectiveClaimsAmong, hostCovered, hostPatternOverlap, outsideRouteClaims, overlapMessage,
  pathsOverlap, pathUnder, voidClaimsMessage,
} from '../../../model/route-claims.ts';
import { routeVerdict } from '../../../model/route-verdict.ts';
import { snapshotFrom } from '../../../model/snapshot.ts';
import { NO_PLATFORM_SETTINGS, type PlatformSettings } from '../../../api/platform.ts';
import type { ApiInstance, Organization } from '../../../api/v1alpha1/index.ts';

const platform = (gatewayHostnames: string[] = []): PlatformSettings => ({ ...NO_PLATFORM_SETTINGS, gatewayHostnames });

function org(name: string, created: string, routes: { hostnames?: string[]; pathPrefixes?: string[] } | undefined, env = `${name}-prod`): Organization {
  return {
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'Organization',
    metadata: { name, creationTimestamp: new Date(created) },
    spec: { domain: name, displayName: name, homeNamespace: `${name}-home`, environments: [{ name: 'prod', namespace: env }], ...(routes ? { routes } : {}) },
  } as Organization;
}

function instance(namespace: string, basePath: string, hostnames?: string[]): ApiInstance {
  return {
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'ApiInstance',
    metadata: { name: 'api', namespace },
    spec: { assetRef: { name: 'a' }, basePath, ...(hostnames ? { hostnames } : {}), upstream: { backendRef: { name: 'up', port: 80 } } },
  } as ApiInstance;
}

const rail = org('rail', '2025-01-01T00:00:00Z', { hostnames: ['api.rail.example', '*.rail.example'], pathPrefixes: ['/rail/v2', '/rail/v3'] });

// ---- generators: path prefixes and hostname patterns as the CRD admits them ----
const segment = fc.constantFrom('a', 'b', 'rail', 'railway', 'v2', 'x', 'flights', 'r');
const pathArb = fc.array(segment, { maxLength: 4 }).map((s) => `/${s.join('/')}`);
const label = fc.constantFrom('a', 'b', 'api', 'rail', 'example', 'x', 'gw');
const exactHost = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
const hostArb = fc.oneof(exactHost, exactHost.map((h) => `*.${h}`));

describe('path overlap', () => {
  test('segment-wise: equal, one a prefix of the other; never a partial segment', () => {
    assert.equal(pathsOverlap('/rail/v2', '/rail/v2'), true);
    assert.equal(pathsOverlap('/rail/v2', '/rail/v2/x'), true);
    assert.equal(pathsOverlap('/rail/v2/x', '/rail/v2'), true);
    assert.equal(pathsOverlap('/', '/anything/at/all'), true);
    assert.equal(pathsOverlap('/rail', '/railway'), false);
    assert.equal(pathsOverlap('/rail/v2', '/rail/v3'), false);
    assert.equal(pathUnder('/rail/v2/x', '/rail/v2'), true);
    assert.equal(pathUnder('/rail/v2', '/rail/v2/x'), false, 'a prefix is not under a longer path');
    assert.equal(pathUnder('/rail/', '/rail'), true, 'a trailing slash is the same path');
  });

  test('property: symmetric', () => {
    fc.assert(fc.property(pathArb, pathArb, (a, b) => pathsOverlap(a, b) === pathsOverlap(b, a)));
  });

  test('property: "/" overlaps every path and covers it', () => {
    fc.assert(fc.property(pathArb, (p) => pathsOverlap('/', p) && pathUnder(p, '/')));
  });

  test('property: a path overlaps everything nested under it, and what it is nested under', () => {
    fc.assert(
      fc.property(pathArb, fc.array(segment, { minLength: 1, maxLength: 3 }), (p, more) => {
        const nested = `${p === '/' ? '' : p}/${more.join('/')}`;
        return pathUnder(nested, p) && !pathUnder(p, nested) && pathsOverlap(p, nested) && pathsOverlap(nested, p);
      }),
    );
  });

  test('property: segment boundaries: extending the last segment never overlaps', () => {
    fc.assert(
      fc.property(pathArb.filter((p) => p !== '/'), fc.constantFrom('way', 's', '-x', '2'), (p, suffix) => !pathsOverlap(p, `${p}${suffix}`)),
    );
  });

  test('property: overlap is exactly "one segment list is a prefix of the other"', () => {
    fc.assert(
      fc.property(pathArb, pathArb, (a, b) => {
        const sa = a.split('/').filter(Boolean);
        const sb = b.split('/').filter(Boolean);
        const n = Math.min(sa.length, sb.length);
        return pathsOverlap(a, b) === sa.slice(0, n).every((s, i) => s === sb[i]);
      }),
    );
  });
});

describe('hostname overlap and coverage', () => {
  test('examples', () => {
    assert.equal(hostCovered('api.rail.example', 'api.rail.example'), true);
    assert.equal(hostCovered('eu.rail.example', '*.rail.example'), true);
    assert.equal(hostCovered('*.eu.rail.example', '*.rail.example'), true, 'a narrower wildcard lies inside');
    assert.equal(hostCovered('*.rail.example', '*.rail.example'), true);
    assert.equal(hostCovered('rail.example', '*.rail.example'), false, 'a wildcard never covers its apex');
    assert.equal(hostCovered('*.rail.example', 'api.rail.example'), false, 'an exact claim covers only itself');
    assert.equal(hostCovered('xrail.example', '*.rail.example'), false, 'label-wise, not a string suffix');
  });

  test('property: overlap is symmetric (as a yes/no)', () => {
    fc.assert(fc.property(hostArb, hostArb, (a, b) => (hostPatternOverlap(a, b) === undefined) === (hostPatternOverlap(b, a) === undefined)));
  });

  test('property: what a claim covers overlaps it, and coverage is transitive', () => {
    fc.assert(fc.property(hostArb, hostArb, (h, c) => !hostCovered(h, c) || hostPatternOverlap(h, c) !== undefined));
    fc.assert(fc.property(hostArb, hostArb, hostArb, (a, b, c) => !(hostCovered(a, b) && hostCovered(b, c)) || hostCovered(a, c)));
  });

  test('property: a wildcard covers and overlaps every name below its suffix, never the suffix itself', () => {
    fc.assert(
      fc.property(exactHost, exactHost, (sub, suffix) => {
        const wild = `*.${suffix}`;
        return hostCovered(`${sub}.${suffix}`, wild) && hostCovered(`*.${sub}.${suffix}`, wild) && hostPatternOverlap(wild, `${sub}.${suffix}`) !== undefined &&
          !hostCovered(suffix, wild) && hostPatternOverlap(wild, suffix) === undefined;
      }),
    );
  });

  test('property: two distinct exact names never overlap', () => {
    fc.assert(fc.property(exactHost, exactHost, (a, b) => a === b || hostPatternOverlap(a, b) === undefined));
  });
});

describe('claim conflicts between Organizations', () => {
  test('overlapping hostnames and path prefixes of another Organization are found, naming it; disjoint ones are not', () => {
    const claims = { hostnames: ['*.example', 'api.bus.example'], pathPrefixes: ['/rail/v2/x', '/rail', '/railway', '/bus'] };
    const found = claimOverlaps(claims, [rail], []);
    assert.deepEqual(found, [
      { field: 'hostnames', claim: '*.example', heldBy: 'rail', held: 'api.rail.example' },
      { field: 'pathPrefixes', claim: '/rail/v2/x', heldBy: 'rail', held: '/rail/v2' },
      { field: 'pathPrefixes', claim: '/rail', heldBy: 'rail', held: '/rail/v2' },
    ]);
    assert.equal(
      overlapMessage(found[1]!),
      'spec.routes.pathPrefixes "/rail/v2/x" overlaps path prefix "/rail/v2", claimed by Organization "rail"',
    );
    assert.equal(overlapMessage(found[0]!), 'spec.routes.hostnames "*.example" overlaps hostname "api.rail.example", claimed by Organization "rail"');
  });

  test('"/" overlaps every other Organization\'s prefix', () => {
    assert.deepEqual(claimOverlaps({ hostnames: [], pathPrefixes: ['/'] }, [rail], []), [{ field: 'pathPrefixes', claim: '/', heldBy: 'rail', held: '/rail/v2' }]);
  });

  test('a reserved gateway host name is refused, exact or under a wildcard claim', () => {
    const found = claimOverlaps({ hostnames: ['gw.example', '*.example', 'api.bus.example'], pathPrefixes: [] }, [], ['gw.example']);
    assert.deepEqual(found.map((o) => o.claim), ['gw.example', '*.example']);
    assert.equal(overlapMessage(found[0]!), 'spec.routes.hostnames "gw.example" overlaps "gw.example", a host name of the gateway itself (reserved by the platform settings)');
  });

  test('property: claims of two Organizations conflict exactly when some pair overlaps', () => {
    fc.assert(
      fc.property(fc.array(pathArb, { maxLength: 3 }), fc.array(pathArb, { maxLength: 3 }), (mine, theirs) => {
        const other = org('other', '2025-01-01T00:00:00Z', { pathPrefixes: theirs });
        const found = claimOverlaps({ hostnames: [], pathPrefixes: mine }, [other], []);
        return new Set(found.map((f) => f.claim)).size === new Set(mine.filter((m) => theirs.some((t) => pathsOverlap(m, t)))).size;
      }),
    );
  });
});

describe('effective claims (the operator, admission skipped)', () => {
  const squatter = org('squat', '2025-06-01T00:00:00Z', { hostnames: ['*.rail.example', 'bus.example'], pathPrefixes: ['/rail/v2/x', '/', '/bus'] }, 'squat-prod');

  test('the older Organization keeps contested claims; the newer one\'s are void and reported', () => {
    const eff = effectiveClaimsAmong(squatter, [rail, squatter], platform());
    assert.deepEqual(eff.hostnames, ['bus.example']);
    assert.deepEqual(eff.pathPrefixes, ['/bus']);
    assert.deepEqual(eff.void.map((v) => `${v.claim} <- ${v.heldBy}:${v.held}`), ['*.rail.example <- rail:api.rail.example', '/rail/v2/x <- rail:/rail/v2', '/ <- rail:/rail/v2']);
    const older = effectiveClaimsAmong(rail, [rail, squatter], platform());
    assert.deepEqual(older.void, [], 'a newer Organization takes nothing from an older one');
    assert.deepEqual(older.pathPrefixes, ['/rail/v2', '/rail/v3']);
  });

  test('claims overlapping a reserved gateway host name are void even for the oldest Organization', () => {
    const eff = effectiveClaimsAmong(rail, [rail], platform(['gw.rail.example']));
    assert.deepEqual(eff.hostnames, ['api.rail.example']);
    assert.deepEqual(eff.void, [{ field: 'hostnames', claim: '*.rail.example', held: 'gw.rail.example' }]);
  });

  test('the RouteClaims condition\'s messages', () => {
    const eff = effectiveClaimsAmong(org('late', '2026-01-01T00:00:00Z', { pathPrefixes: ['/rail'] }), [rail], platform());
    assert.equal(
      voidClaimsMessage(eff),
      'spec.routes.pathPrefixes "/rail" overlaps path prefix "/rail/v2", claimed by Organization "rail": this claim is void, because contested route space stays with the claim granted first (else the older Organization) ' +
        'and the gateway\'s own host names belong to no Organization, so no ApiInstance route under it is served. A platform admin removes the claim here, or from the other Organization',
    );
    assert.equal(voidClaimsMessage(effectiveClaimsAmong(rail, [rail], platform())), '');
    assert.equal(
      claimsSummary(claimsOf(rail)),
      'route space: hostnames "api.rail.example", "*.rail.example"; path prefixes "/rail/v2", "/rail/v3" on the gateway\'s shared host',
    );
    assert.equal(claimsSummary(claimsOf(org('none', '2026-01-01T00:00:00Z', undefined))), 'no route space assigned (spec.routes): its ApiInstances are not served until a platform admin assigns some');
  });

  test('nesting within one Organization is allowed', () => {
    const nested = org('nested', '2025-01-01T00:00:00Z', { hostnames: ['*.n.example', 'api.n.example'], pathPrefixes: ['/n', '/n/v1'] });
    assert.deepEqual(effectiveClaimsAmong(nested, [nested], platform()).void, []);
  });

  test('memoized on the snapshot: its lifetime is the snapshot\'s, and another snapshot computes its own', () => {
    const orgs = [rail, squatter];
    const snap = snapshotFrom({ organizations: orgs });
    assert.equal(effectiveClaims(snap, squatter), effectiveClaims(snap, squatter), 'computed once per snapshot');
    // A new snapshot over the very same Organization list (the operator keeps one list until it changes) does not reuse it.
    const next = snapshotFrom({ organizations: orgs });
    assert.notEqual(effectiveClaims(next, squatter), effectiveClaims(snap, squatter));
    assert.deepEqual(effectiveClaims(next, squatter), effectiveClaims(snap, squatter));
    const reserved = snapshotFrom({ organizations: orgs, platform: platform(['bus.example']) });
    assert.deepEqual(effectiveClaims(reserved, squatter).hostnames, []);
    // Kept where the snapshot keeps its memos, nowhere else.
    let made = 0;
    const key = Symbol('test');
    assert.equal(snap.memo(key, () => ++made), 1);
    assert.equal(snap.memo(key, () => ++made), 1);
    assert.equal(next.memo(key, () => ++made), 2);
  });

  test('property: no two Organizations ever hold overlapping effective claims', () => {
    const orgArb = fc.record({ hostnames: fc.array(hostArb, { maxLength: 3 }), pathPrefixes: fc.array(pathArb, { maxLength: 3 }) });
    fc.assert(
      fc.property(fc.array(orgArb, { minLength: 2, maxLength: 4 }), (routes) => {
        const orgs = routes.map((r, i) => org(`o${i}`, `2025-0${i + 1}-01T00:00:00Z`, r));
        const effs = orgs.map((o) => effectiveClaimsAmong(o, orgs, platform()));
        for (let i = 0; i < effs.length; i++) for (let j = i + 1; j < effs.length; j++) {
          const a = effs[i]!;
          const b = effs[j]!;
          if (a.pathPrefixes.some((p) => b.pathPrefixes.some((q) => pathsOverlap(p, q)))) return false;
          if (a.hostnames.some((p) => b.hostnames.some((q) => hostPatternOverlap(p, q) !== undefined))) return false;
        }
        return true;
      }),
    );
  });
});

describe('an ApiInstance inside its organization\'s claims', () => {
  const squatter = org('squat', '2025-06-01T00:00:00Z', { hostnames: ['*.squat.example'], pathPrefixes: ['/squat', '/rail'] }, 'squat-prod');
  const snap = (p = platform()) => snapshotFrom({ organizations: [rail, squatter], platform: p });

  test('on the shared host: a basePath equal to or under a claimed prefix is inside', () => {
    assert.equal(outsideRouteClaims(snap(), instance('rail-prod', '/rail/v2')), undefined);
    assert.equal(outsideRouteClaims(snap(), instance('rail-prod', '/rail/v2/trips')), undefined);
    assert.equal(outsideRouteClaims(snap(), instance('squat-prod', '/squat/x')), undefined);
  });

  test('attack 1: a basePath under another Organization\'s prefix, or "/", is outside, saying what is claimed', () => {
    assert.deepEqual(outsideRouteClaims(snap(), instance('squat-prod', '/rail/v2/x')), {
      field: 'spec.basePath',
      message:
        'spec.basePath "/rail/v2/x" on the gateway\'s shared host (no spec.hostnames) is outside the route space of Organization "squat": it claims path prefixes "/squat" ' +
        '(spec.routes.pathPrefixes); its claim "/rail" would cover it but is void because Organization "rail" holds "/rail/v2" (granted first, or older). ' +
        'Use a basePath under one of its prefixes, or hostnames it claims; route space is assigned by a platform admin in the Organization (spec.routes)',
    });
    assert.equal(outsideRouteClaims(snap(), instance('squat-prod', '/'))?.field, 'spec.basePath');
    assert.equal(outsideRouteClaims(snap(), instance('squat-prod', '/railway'))?.field, 'spec.basePath');
  });

  test('attack 2: a hostname the organization does not claim (the gateway\'s, another organization\'s) is outside', () => {
    const gw = outsideRouteClaims(snap(platform(['gw.example'])), instance('squat-prod', '/', ['api.squat.example', 'gw.example']));
    assert.deepEqual(gw, {
      field: 'spec.hostnames[1]',
      message:
        'spec.hostnames[1] "gw.example" is outside the route space of Organization "squat": it claims hostnames "*.squat.example" (spec.routes.hostnames). ' +
        'Use a hostname it claims, or no hostnames and a basePath under its path prefixes; route space is assigned by a platform admin in the Organization (spec.routes)',
    });
    assert.equal(outsideRouteClaims(snap(), instance('squat-prod', '/', ['api.rail.example']))?.field, 'spec.hostnames[0]');
    assert.equal(outsideRouteClaims(snap(), instance('squat-prod', '/', ['*.example']))?.field, 'spec.hostnames[0]', 'a wider wildcard is not covered');
    assert.equal(outsideRouteClaims(snap(), instance('squat-prod', '/', ['squat.example']))?.field, 'spec.hostnames[0]', 'the apex is not under "*.squat.example"');
    assert.equal(outsideRouteClaims(snap(), instance('squat-prod', '/', ['*.eu.squat.example', 'a.squat.example'])), undefined);
    assert.equal(outsideRouteClaims(snap(), instance('rail-prod', '/anything', ['api.rail.example'])), undefined, 'with hostnames, any basePath');
  });

  test('an organization without route space serves nothing; a namespace of no organization has none', () => {
    const bare = org('bare', '2025-01-01T00:00:00Z', undefined);
    const s = snapshotFrom({ organizations: [bare] });
    assert.match(outsideRouteClaims(s, instance('bare-prod', '/x'))!.message, /it claims no path prefix \(spec\.routes\.pathPrefixes\)/);
    assert.match(outsideRouteClaims(s, instance('bare-prod', '/x', ['a.example']))!.message, /it claims no hostname \(spec\.routes\.hostnames\)/);
    assert.deepEqual(outsideRouteClaims(s, instance('nowhere', '/x')), {
      field: 'metadata.namespace',
      message: 'namespace "nowhere" belongs to no Organization, so it has no route space: route space is assigned by a platform admin in the Organization (spec.routes)',
    });
  });

  test('property: a route admitted for one Organization never overlaps another Organization\'s effective claims', () => {
    const routesArb = fc.record({ hostnames: fc.array(hostArb, { maxLength: 3 }), pathPrefixes: fc.array(pathArb, { maxLength: 3 }) });
    fc.assert(
      fc.property(routesArb, routesArb, fc.boolean(), pathArb, fc.array(hostArb, { maxLength: 2 }), (ra, rb, aOlder, basePath, hostnames) => {
        const a = org('a', aOlder ? '2025-01-01T00:00:00Z' : '2025-03-01T00:00:00Z', ra);
        const b = org('b', '2025-02-01T00:00:00Z', rb);
        const s = snapshotFrom({ organizations: [a, b] });
        if (outsideRouteClaims(s, instance('b-prod', basePath, hostnames))) return true; // refused / not emitted
        const victim = effectiveClaims(s, a);
        if (hostnames.length === 0) return !victim.pathPrefixes.some((p) => pathsOverlap(p, basePath));
        return !hostnames.some((h) => victim.hostnames.some((c) => hostPatternOverlap(h, c) !== undefined));
      }),
      { numRuns: 500 },
    );
  });

  test('the route verdict omits such a route (OutsideRouteClaims), ahead of any other problem', () => {
    const brokenPolicy = { metadata: { name: 'broken' }, spec: { type: 'rate-limit', config: { nonsense: true } } } as never;
    const v = routeVerdict({ snapshot: snap(), instance: instance('squat-prod', '/rail/v2/x'), policies: [brokenPolicy] });
    assert.equal(v?.action, 'omit');
    assert.equal(v?.reason, 'OutsideRouteClaims');
    assert.match(v!.message, /^the gateway does not serve this route: spec\.basePath "\/rail\/v2\/x"/);
    assert.equal(routeVerdict({ snapshot: snap(), instance: instance('rail-prod', '/rail/v2/x'), policies: [] }), undefined);
  });
});

describe('a granted claim keeps its place', () => {
  const granted = (o: Organization, routeClaims: { hostnames: string[]; pathPrefixes: string[] }): Organization => ({ ...o, status: { routeClaims } }) as Organization;

  test('an older Organization that adds an overlapping claim later does not take the space: its new claim is void', () => {
    const newer = granted(org('victim', '2025-06-01T00:00:00Z', { pathPrefixes: ['/rail'], hostnames: ['api.victim.example'] }), { pathPrefixes: ['/rail'], hostnames: ['api.victim.example'] });
    const older = org('rogue', '2025-01-01T00:00:00Z', { pathPrefixes: ['/rogue', '/rail/v2'], hostnames: ['*.victim.example'] });
    const all = [newer, older];
    const v = effectiveClaimsAmong(newer, all, NO_PLATFORM_SETTINGS);
    assert.deepEqual([v.pathPrefixes, v.hostnames, v.void], [['/rail'], ['api.victim.example'], []]);
    const r = effectiveClaimsAmong(older, all, NO_PLATFORM_SETTINGS);
    assert.deepEqual(r.pathPrefixes, ['/rogue']);
    assert.deepEqual(r.hostnames, []);
    assert.deepEqual(r.void.map((o) => [o.claim, o.heldBy]), [['*.victim.example', 'victim'], ['/rail/v2', 'victim']]);
  });

  test('between two claims both new (or both granted), the older Organization keeps the space', () => {
    const a = org('a', '2025-01-01T00:00:00Z', { pathPrefixes: ['/x'] });
    const b = org('b', '2025-02-01T00:00:00Z', { pathPrefixes: ['/x/y'] });
    assert.deepEqual(effectiveClaimsAmong(b, [a, b], NO_PLATFORM_SETTINGS).pathPrefixes, []);
    assert.deepEqual(effectiveClaimsAmong(a, [a, b], NO_PLATFORM_SETTINGS).pathPrefixes, ['/x']);
    const both = [granted(a, { pathPrefixes: ['/x'], hostnames: [] }), granted(b, { pathPrefixes: ['/x/y'], hostnames: [] })];
    assert.deepEqual(effectiveClaimsAmong(both[1]!, both, NO_PLATFORM_SETTINGS).pathPrefixes, []);
  });
});


describe('a squatter outside its route space holds no contested route', () => {
  test('an older instance outside its claims neither is served nor keeps the owner\'s newer instance off the route', () => {
    const victim = org('victim', '2025-03-01T00:00:00Z', { pathPrefixes: ['/rail'] });
    const rogue = org('rogue', '2025-01-01T00:00:00Z', { pathPrefixes: ['/rogue'] });
    const squat = { ...instance('rogue-prod', '/rail/v2'), metadata: { name: 'squat', namespace: 'rogue-prod', creationTimestamp: new Date('2025-04-01T00:00:00Z') } } as ApiInstance;
    const owner = { ...instance('victim-prod', '/rail/v2'), metadata: { name: 'rail', namespace: 'victim-prod', creationTimestamp: new Date('2025-05-01T00:00:00Z') } } as ApiInstance;
    const snapshot = snapshotFrom({ organizations: [victim, rogue] });
    assert.equal(routeConflicts([squat, owner]).has('victim-prod/rail'), true, 'unfiltered, the older squatter would win');
    assert.equal(routeConflictOf(owner, [squat, owner].filter(withinRouteSpace(snapshot))), undefined);
    const served = servedRoutes('default', { instances: [squat, owner], policies: [], tiers: [], snapshot }, { warn: () => undefined });
    assert.deepEqual([...served.ids], ['victim-prod/rail']);
  });
});
