// model/share-grant.ts: what an AssetShare may grant (view-only, its own
// organization's target in the right namespace), with the messages a user
// reads; the hashed RBAC names (property: no two (uid, peer) pairs collide);
// and which grant objects the sweep removes. Also the operator's use of it
// (peerState, shareGrants) when the webhook was skipped.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { grantBelongsTo, grantsToSweep, nonViewPeers, shareRbacName, shareTargetProblem, viewOnlyProblem } from '../../../model/share-grant.ts';
import { snapshotFrom } from '../../../model/snapshot.ts';
import { LABEL_SHARE_UID } from '../../../api/labels.ts';
import type { AssetShare, Organization, OrgTrust } from '../../../api/v1alpha1/index.ts';
import { peerState, shareGrants, sharedWith } from '../../../operator/controllers/trust-desired.ts';

function org(name: string, created: string, envs: string[] = [`${name}-prod`]): Organization {
  return {
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'Organization',
    metadata: { name, uid: `uid-${name}`, creationTimestamp: new Date(created) },
    spec: { domain: name, displayName: name, homeNamespace: `${name}-home`, environments: envs.map((namespace, i) => ({ name: `env${i}`, namespace })), memberGroups: [`${name}:members`] },
  } as Organization;
}
const trust = (ns: string, peer: string): OrgTrust =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'OrgTrust', metadata: { name: peer, namespace: ns }, spec: { peerDomain: peer } }) as OrgTrust;
const share = (name: string, uid: string, target: AssetShare['spec']['targetRef'], peers: AssetShare['spec']['peers'] = [{ domain: 'mule' }]): AssetShare =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'AssetShare', metadata: { name, uid, namespace: 'max-home' }, spec: { targetRef: target, peers } }) as AssetShare;
const instance = (namespace: string, name: string) =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance', metadata: { name, namespace }, spec: { assetRef: { name: 'a' }, basePath: '/x', upstream: { url: 'https://x.example' } } }) as never;
const asset = (namespace: string, name: string) => ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'Asset', metadata: { name, namespace }, spec: { type: 'http', title: name, version: '1.0.0' } }) as never;

const max = org('max', '2026-01-01T00:00:00Z');
const mule = org('mule', '2026-01-02T00:00:00Z');
const trusts = [trust('max-home', 'mule'), trust('mule-home', 'max')];
const world = (organizations = [max, mule]) =>
  snapshotFrom({ organizations, orgTrusts: trusts, apiInstances: [instance('max-prod', 'flights'), instance('mule-prod', 'gates')], assets: [asset('max-home', 'eapi')] });

describe('view-only', () => {
  test('every peer that asks for more than view is named, with the field to fix', () => {
    assert.equal(viewOnlyProblem([{ domain: 'mule' }, { domain: 'sky', access: 'view' }]), undefined);
    assert.deepEqual(viewOnlyProblem([{ domain: 'mule' }, { domain: 'sky', access: 'edit' }, { domain: 'x', access: 'admin' }]), {
      reason: 'AccessNotAllowed',
      message: 'cross-organization grants are view-only: spec.peers[1] (domain "sky") asks for "edit" access, spec.peers[2] (domain "x") asks for "admin" access. Set access to "view" or leave it out.',
      field: 'spec.peers[1].access',
    });
    assert.deepEqual(nonViewPeers([{ domain: 'a', access: 'edit' }]), [{ index: 0, domain: 'a', access: 'edit' }]);
  });
});

describe('share target', () => {
  test('own Asset in the home namespace and own ApiInstance in an environment namespace are fine', () => {
    assert.equal(shareTargetProblem(world(), max, { kind: 'Asset', name: 'eapi' }, 'max-home'), undefined);
    assert.equal(shareTargetProblem(world(), max, { kind: 'ApiInstance', name: 'flights', namespace: 'max-prod' }, 'max-home'), undefined);
  });

  test("another organization's ApiInstance is refused, naming the owner and the namespaces to use", () => {
    assert.deepEqual(shareTargetProblem(world(), max, { kind: 'ApiInstance', name: 'gates', namespace: 'mule-prod' }, 'max-home'), {
      reason: 'TargetNotOwned',
      message:
        'spec.targetRef names ApiInstance "gates" in namespace "mule-prod", which belongs to Organization "mule", not to Organization "max": ' +
        'an organization shares only its own objects. Name a namespace of max ("max-home", "max-prod").',
      field: 'spec.targetRef.namespace',
    });
    assert.match(shareTargetProblem(world(), max, { kind: 'ApiInstance', name: 'x', namespace: 'nobodys' }, 'max-home')!.message, /which belongs to no Organization, not to Organization "max"/);
  });

  test('a namespace moved to another organization (or claimed by an older one) is no longer the sharer\'s', () => {
    // max no longer lists max-prod; mule does now.
    const moved = world([org('max', '2026-01-01T00:00:00Z', ['max-sandbox']), org('mule', '2026-01-02T00:00:00Z', ['mule-prod', 'max-prod'])]);
    assert.equal(shareTargetProblem(moved, moved.organizations()[0]!, { kind: 'ApiInstance', name: 'flights', namespace: 'max-prod' }, 'max-home')!.reason, 'TargetNotOwned');
    // Both list it (admission skipped): the older organization keeps it.
    const contested = world([max, org('mule', '2026-01-02T00:00:00Z', ['mule-prod', 'max-prod'])]);
    assert.equal(shareTargetProblem(contested, contested.organizations()[1]!, { kind: 'ApiInstance', name: 'flights', namespace: 'max-prod' }, 'mule-home')!.reason, 'TargetNotOwned');
  });

  test('wrong namespace for the kind, and kinds that cannot be shared', () => {
    assert.deepEqual(shareTargetProblem(world(), max, { kind: 'Asset', name: 'eapi', namespace: 'max-prod' }, 'max-home'), {
      reason: 'TargetNamespace',
      message:
        'spec.targetRef names Asset "eapi" in namespace "max-prod", but Organization "max" keeps its Assets in its home namespace "max-home": leave spec.targetRef.namespace out or set it to "max-home".',
      field: 'spec.targetRef.namespace',
    });
    assert.deepEqual(shareTargetProblem(world(), max, { kind: 'ApiInstance', name: 'flights' }, 'max-home'), {
      reason: 'TargetNamespace',
      message: 'spec.targetRef.namespace is not set, but an ApiInstance lives in an environment namespace of Organization "max": set spec.targetRef.namespace to one of "max-prod" (ApiInstance "flights" exists in "max-prod").',
      field: 'spec.targetRef.namespace',
    });
    assert.deepEqual(shareTargetProblem(world(), max, { kind: 'ApiGroup', name: 'travel', namespace: 'max-prod' }, 'max-home'), {
      reason: 'TargetNamespace',
      message:
        'spec.targetRef names ApiGroup "travel" in namespace "max-prod", but Organization "max" keeps its ApiGroups in its home namespace "max-home": leave spec.targetRef.namespace out or set it to "max-home".',
      field: 'spec.targetRef.namespace',
    });
    assert.equal(shareTargetProblem(world(), max, { kind: 'ApiGroup', name: 'travel' }, 'max-home'), undefined);
    assert.deepEqual(shareTargetProblem(world(), max, { kind: 'Secret' as never, name: 'keys' }, 'max-home'), {
      reason: 'TargetNotShareable',
      message: 'spec.targetRef.kind "Secret" cannot be shared: an AssetShare shares an Asset, an ApiInstance or an ApiGroup.',
      field: 'spec.targetRef.kind',
    });
  });

  test('property: a target in a namespace the sharer does not own is always refused', () => {
    const nsArb = fc.constantFrom('mule-home', 'mule-prod', 'other', 'kube-system', 'max-sandbox');
    fc.assert(
      fc.property(nsArb, fc.constantFrom('Asset', 'ApiInstance'), fc.constantFrom('a', 'flights', 'gates'), (ns, kind, name) => {
        const p = shareTargetProblem(world(), max, { kind: kind as 'Asset', name, namespace: ns }, 'max-home');
        return p !== undefined && p.reason === 'TargetNotOwned';
      }),
    );
  });
});

describe('the operator re-checks what the webhook would have refused', () => {
  test("a share of another organization's ApiInstance (webhook skipped) is Suspended for every peer and grants nothing", () => {
    const s = share('steal', 'u1', { kind: 'ApiInstance', name: 'gates', namespace: 'mule-prod' }, [{ domain: 'mule' }]);
    const snap = world();
    const st = peerState(snap, max, s, { domain: 'mule' });
    assert.equal(st.state, 'Suspended');
    assert.equal(st.reason, 'TargetNotOwned');
    assert.match(st.message, /ApiInstance "gates" in namespace "mule-prod", which belongs to Organization "mule"/);
    assert.equal(shareGrants(snap, s).wanted.size, 0);
    assert.deepEqual(sharedWith(snap, mule, max), [], 'nor is it listed as shared with the peer');
  });

  test('an edit peer (webhook skipped) is Suspended, the others granted', () => {
    const sky = org('sky', '2026-01-03T00:00:00Z');
    const snap = snapshotFrom({ organizations: [max, mule, sky], orgTrusts: [...trusts, trust('max-home', 'sky'), trust('sky-home', 'max')], assets: [asset('max-home', 'eapi')] });
    const s = share('eapi', 'u2', { kind: 'Asset', name: 'eapi' }, [{ domain: 'mule', access: 'edit' }, { domain: 'sky' }]);
    const { states, wanted } = shareGrants(snap, s);
    assert.deepEqual(states.map((x) => [x.domain, x.state, x.reason]), [['mule', 'Suspended', 'AccessNotAllowed'], ['sky', 'Active', 'Shared']]);
    assert.deepEqual([...wanted.keys()], [`max-home/${shareRbacName(s, 'sky')}`]);
  });
});

describe('grant names', () => {
  test('names that a concatenation would merge stay apart', () => {
    const ab = { metadata: { name: 'a-b', uid: 'uid-1' } };
    const a = { metadata: { name: 'a', uid: 'uid-2' } };
    assert.notEqual(shareRbacName(ab, 'c'), shareRbacName(a, 'b-c'));
    assert.match(shareRbacName(ab, 'c'), /^crossgate-share-a-b-[0-9a-f]{16}$/);
    // A share made again under the same name has a new uid, so new objects.
    assert.notEqual(shareRbacName({ metadata: { name: 'a', uid: 'old' } }, 'c'), shareRbacName({ metadata: { name: 'a', uid: 'new' } }, 'c'));
  });

  test('property: distinct (uid, peer) pairs never share a name, and names are valid and bounded', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
    fc.assert(
      fc.property(label, fc.uuid(), label, fc.uuid(), label, label, (n1, u1, d1, u2, n2, d2) => {
        fc.pre(u1 !== u2 || d1 !== d2);
        const x = shareRbacName({ metadata: { name: n1, uid: u1 } }, d1);
        const y = shareRbacName({ metadata: { name: n2, uid: u2 } }, d2);
        return x !== y && x.length <= 253 && /^[a-z0-9-]+$/.test(x);
      }),
    );
  });
});

describe('the sweep', () => {
  const obj = (ns: string, name: string, uid?: string) => ({ metadata: { namespace: ns, name, labels: (uid ? { [LABEL_SHARE_UID]: uid } : {}) as Record<string, string> } });
  test('removes grants of shares that are gone or no longer want them; keeps wanted ones and anything not a share grant', () => {
    const kept = obj('max-home', 'g1', 'u1');
    const unwanted = obj('max-prod', 'g2', 'u1');
    const orphan = obj('max-prod', 'g3', 'gone');
    const orgBinding = obj('max-prod', 'crossgate-members');
    const wanted = new Map([['u1', new Set(['max-home/g1'])]]);
    assert.deepEqual(grantsToSweep([kept, unwanted, orphan, orgBinding], wanted), [unwanted, orphan]);
  });

  test('an existing object is written only for the share whose uid it carries', () => {
    assert.equal(grantBelongsTo(obj('n', 'x', 'u1'), 'u1'), true);
    assert.equal(grantBelongsTo(obj('n', 'x', 'u2'), 'u1'), false);
    assert.equal(grantBelongsTo(obj('n', 'x'), 'u1'), false, "someone else's Role of that name is not overwritten");
  });
});
