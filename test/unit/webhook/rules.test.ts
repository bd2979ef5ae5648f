// Every admission rule, allow and deny, with the exact message a user reads.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { review, RULES } from '../../../webhook/rules/index.ts';
import { namespaceOwnership } from '../../../webhook/rules/namespace-ownership.ts';
import { orgTrustRules } from '../../../webhook/rules/orgtrust.ts';
import { assetShareRules } from '../../../webhook/rules/assetshare.ts';
import { organizationRules } from '../../../webhook/rules/organization.ts';
import { speaksForOrganization } from '../../../webhook/rules/speaks-for-organization.ts';
import { apiInstanceRules } from '../../../webhook/rules/apiinstance.ts';
import { ownerOfNamespace } from '../../../model/ownership.ts';
import { claimsOf, effectiveClaimsAmong } from '../../../model/route-claims.ts';
import { snapshotFrom } from '../../../model/snapshot.ts';
import { KINDS } from '../../../api/v1alpha1/index.ts';
import { LABEL_ORGANIZATION, LABEL_ROLE } from '../../../api/labels.ts';
import type { KubeObject, Verdict } from '../../../webhook/admission.ts';
import {
  API_VERSION, apiInstance, asset, assetShare, maxAirlines, muleUnited, namespacesOf, organization, orgTrust, request, story, withRoutes,
} from './fixtures.ts';
import { NO_PLATFORM_SETTINGS } from '../../../api/platform.ts';
import type { Organization } from '../../../api/v1alpha1/index.ts';

const ALLOWED: Verdict = { allowed: true };
const denied = (message: string, field?: string): Verdict => (field ? { allowed: false, message, field } : { allowed: false, message });

function policy(namespace: string, name = 'rate-limit'): KubeObject {
  return { apiVersion: API_VERSION, kind: 'Policy', metadata: { name, namespace }, spec: { type: 'rate-limit', targetRef: { name: 'flights' }, config: { limits: [{ requests: 100, period: 'minute' }] } } };
}
function slaTier(namespace: string): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'SlaTier',
    metadata: { name: 'gold', namespace },
    spec: { apiInstanceRef: { name: 'flights' }, limits: [{ requests: 1000, period: 'minute' }], approval: 'automatic' },
  };
}

describe('namespace ownership', () => {
  const s = story();

  test('objects in the right namespace of an organization are allowed', () => {
    assert.deepEqual(review(request('CREATE', asset('max-airlines-home', 'flights-eapi')), s), ALLOWED);
    assert.deepEqual(review(request('CREATE', orgTrust('max-airlines-home', 'mule-united')), s), ALLOWED);
    assert.deepEqual(review(request('CREATE', apiInstance('max-airlines-prod', 'flights')), s), ALLOWED);
    assert.deepEqual(review(request('CREATE', policy('max-airlines-sandbox')), s), ALLOWED);
    assert.deepEqual(review(request('CREATE', slaTier('max-airlines-prod')), s), ALLOWED);
  });

  test('an object without a namespace is refused', () => {
    const loose = { ...asset('', 'flights-eapi'), metadata: { name: 'flights-eapi' } } as KubeObject;
    assert.deepEqual(
      namespaceOwnership(request('CREATE', loose), s),
      denied('Asset "flights-eapi" has no namespace: Asset is a namespaced kind and must live in a namespace of its Organization', 'metadata.namespace'),
    );
  });

  test('a namespace that belongs to no Organization is refused', () => {
    assert.deepEqual(
      review(request('CREATE', asset('team-a', 'flights-eapi')), s),
      denied(
        'namespace "team-a" belongs to no Organization, so Asset "flights-eapi" cannot be created there: crossgate objects live only in an ' +
          "Organization's namespaces (its spec.homeNamespace or one of its spec.environments[].namespace). Use one of those, or add \"team-a\" to an Organization.",
        'metadata.namespace',
      ),
    );
  });

  test('a namespace labeled for an Organization that does not exist is refused, saying so', () => {
    assert.deepEqual(
      namespaceOwnership(request('UPDATE', policy('ghost-ns')), s),
      denied(
        'namespace "ghost-ns" is labeled crossgate.dev/organization=ghost, but no Organization "ghost" exists, so Policy "rate-limit" cannot be changed there: ' +
          "crossgate objects live only in an Organization's namespaces (its spec.homeNamespace or one of its spec.environments[].namespace). " +
          'Use one of those, or add "ghost-ns" to an Organization.',
        'metadata.namespace',
      ),
    );
  });

  test('OrgTrust, Asset and AssetShare must be in the home namespace', () => {
    assert.deepEqual(
      review(request('CREATE', assetShare('max-airlines-prod', 'flights', [{ domain: 'mule-united' }])), s),
      denied(
        'AssetShare "flights" must be in the home namespace of Organization "max-airlines", "max-airlines-home", not in "max-airlines-prod", ' +
          'which is the namespace of its environment "production": OrgTrust, Asset, AssetShare and ApiGroup belong to the organization, not to an environment.',
        'metadata.namespace',
      ),
    );
    assert.equal(review(request('CREATE', orgTrust('max-airlines-sandbox', 'mule-united')), s).allowed, false);
  });

  test('ApiInstance, Policy, SlaTier, ApiKey and Contract must be in an environment namespace, naming the allowed ones', () => {
    assert.deepEqual(
      review(request('CREATE', apiInstance('max-airlines-home', 'flights')), s),
      denied(
        'ApiInstance "flights" must be in an environment namespace of Organization "max-airlines" (allowed: "max-airlines-sandbox", "max-airlines-prod"), ' +
          'not in "max-airlines-home", which is its home namespace: ApiInstance, Policy, SlaTier, ApiKey, Contract and Alert belong to an environment; ' +
          'the home namespace holds only OrgTrust, Asset, AssetShare, ApiGroup, and the SlaTiers and Contracts of ApiGroups.',
        'metadata.namespace',
      ),
    );
    assert.equal(review(request('CREATE', slaTier('mule-united-home')), s).allowed, false);
  });

  test('only the Organization specs decide; the namespace label never does', () => {
    // Labeled for mule-united, but max-airlines' spec lists it: the spec wins.
    const contested = snapshotFrom({
      organizations: [maxAirlines, muleUnited],
      namespaces: [{ name: 'max-airlines-home', labels: { [LABEL_ORGANIZATION]: 'mule-united', [LABEL_ROLE]: 'home' } }],
    });
    assert.equal(ownerOfNamespace(contested, 'max-airlines-home')?.organization.metadata.name, 'max-airlines');
    // A namespace no spec lists, still labeled for an existing organization (dropped from its spec, or labeled by
    // hand): it is nobody's. This used to be the label fallback (issue 14: a stale label kept a namespace its organization's).
    const labeled = snapshotFrom({
      organizations: [maxAirlines],
      namespaces: [{ name: 'legacy-env', labels: { [LABEL_ORGANIZATION]: 'max-airlines', [LABEL_ROLE]: 'environment' } }],
    });
    assert.equal(ownerOfNamespace(labeled, 'legacy-env'), undefined);
    assert.deepEqual(
      namespaceOwnership(request('CREATE', policy('legacy-env')), labeled),
      denied(
        'namespace "legacy-env" is labeled crossgate.dev/organization=max-airlines, but Organization "max-airlines" does not list it in its spec ' +
          '(the label is informational and is being removed), so Policy "rate-limit" cannot be created there: ' +
          "crossgate objects live only in an Organization's namespaces (its spec.homeNamespace or one of its spec.environments[].namespace). " +
          'Use one of those, or add "legacy-env" to an Organization.',
        'metadata.namespace',
      ),
    );
  });

  test('of two organizations claiming one namespace, the older owns it', () => {
    const newer = organization('max-copy', 'max-copy', 'max-airlines-home', [['production', 'copy-prod']], '2026-01-01T00:00:00Z');
    const s2 = snapshotFrom({ organizations: [newer, maxAirlines] });
    assert.equal(ownerOfNamespace(s2, 'max-airlines-home')?.organization.metadata.name, 'max-airlines');
  });

  test('Organization is cluster-scoped and not subject to the rule', () => {
    assert.deepEqual(namespaceOwnership(request('CREATE', maxAirlines as KubeObject), s), ALLOWED);
  });
});

describe('OrgTrust', () => {
  const s = story({ orgTrusts: [] });

  test('trust in another organization is allowed, even before that organization exists', () => {
    assert.deepEqual(orgTrustRules(request('CREATE', orgTrust('max-airlines-home', 'mule-united')), s), ALLOWED);
    assert.deepEqual(review(request('CREATE', orgTrust('max-airlines-home', 'future-org')), s), ALLOWED);
  });

  test('trust in its own domain is refused', () => {
    assert.deepEqual(
      review(request('CREATE', orgTrust('max-airlines-home', 'max-airlines')), s),
      denied(
        'Organization "max-airlines" cannot declare trust in its own domain "max-airlines": an OrgTrust names another organization\'s domain.',
        'spec.peerDomain',
      ),
    );
  });

  test('a peerDomain that is not a DNS label is refused', () => {
    for (const bad of ['Max_Airlines', '-max', 'max.airlines', 'a'.repeat(64), '']) {
      const obj = { ...orgTrust('max-airlines-home', 'x'), spec: { peerDomain: bad } };
      assert.deepEqual(
        orgTrustRules(request('CREATE', obj), s),
        denied(
          `spec.peerDomain "${bad}" is not a well-formed organization domain: a domain is a DNS label: lowercase letters, digits and "-", ` +
            'starting and ending with a letter or digit, at most 63 characters.',
          'spec.peerDomain',
        ),
        bad,
      );
    }
  });

  test('an OrgTrust must be named after its peer', () => {
    const obj = { ...orgTrust('max-airlines-home', 'mule-united'), metadata: { name: 'mule', namespace: 'max-airlines-home' } };
    assert.deepEqual(
      review(request('CREATE', obj), s),
      denied(
        'OrgTrust "mule" must be named after its spec.peerDomain "mule-united", so that each peer is trusted at most once: name it "mule-united".',
        'metadata.name',
      ),
    );
  });
});

describe('AssetShare', () => {
  const mutual = story();
  const share = (peers: { domain: string; access?: string }[], target?: { kind: string; name: string; namespace?: string }) =>
    assetShare('max-airlines-home', 'flights', peers, target);

  test('a view-only share of an own Asset with a mutually trusted peer is allowed (access defaults to view)', () => {
    assert.deepEqual(review(request('CREATE', share([{ domain: 'mule-united' }])), mutual), ALLOWED);
    assert.deepEqual(review(request('CREATE', share([{ domain: 'mule-united', access: 'view' }])), mutual), ALLOWED);
  });

  test('an own ApiInstance in an environment namespace may be shared', () => {
    const target = { kind: 'ApiInstance', name: 'flights', namespace: 'max-airlines-prod' };
    assert.deepEqual(review(request('CREATE', share([{ domain: 'mule-united' }], target)), mutual), ALLOWED);
  });

  test('an edit grant is refused on create and on update: cross-organization grants are view-only', () => {
    const edit = share([{ domain: 'mule-united', access: 'edit' }]);
    const message =
      'cross-organization grants are view-only: spec.peers[0] (domain "mule-united") asks for "edit" access. Set access to "view" or leave it out.';
    assert.deepEqual(review(request('CREATE', edit), mutual), denied(message, 'spec.peers[0].access'));
    assert.deepEqual(review(request('UPDATE', edit, share([{ domain: 'mule-united' }])), mutual), denied(message, 'spec.peers[0].access'));
    // Even an update that leaves an (old) edit grant untouched is refused.
    assert.equal(review(request('UPDATE', edit, edit), mutual).allowed, false);
  });

  test('every non-view peer is named', () => {
    const s = story({ organizations: [maxAirlines, muleUnited, organization('sky', 'sky', 'sky-home', [['production', 'sky-prod']])] });
    assert.deepEqual(
      assetShareRules(request('CREATE', share([{ domain: 'mule-united' }, { domain: 'sky', access: 'admin' }, { domain: 'x', access: 'edit' }])), s),
      denied(
        'cross-organization grants are view-only: spec.peers[1] (domain "sky") asks for "admin" access, spec.peers[2] (domain "x") asks for "edit" access. ' +
          'Set access to "view" or leave it out.',
        'spec.peers[1].access',
      ),
    );
  });

  test('a peer that has not declared trust back is refused, naming the missing OrgTrust and who must create it', () => {
    const s = story({ orgTrusts: [orgTrust('max-airlines-home', 'mule-united')] });
    assert.deepEqual(
      review(request('CREATE', share([{ domain: 'mule-united' }])), s),
      denied(
        'AssetShare "flights" cannot share with "mule-united" until trust is mutual: OrgTrust "max-airlines" in namespace "mule-united-home" ' +
          '(organization mule-united) does not exist: mule-united must declare trust in max-airlines before max-airlines can share with it.',
        'spec.peers[0].domain',
      ),
    );
  });

  test('sharing without trusting the peer is refused, naming our own missing OrgTrust', () => {
    const s = story({ orgTrusts: [orgTrust('mule-united-home', 'max-airlines')] });
    assert.deepEqual(
      review(request('CREATE', share([{ domain: 'mule-united' }])), s),
      denied(
        'AssetShare "flights" cannot share with "mule-united" until trust is mutual: OrgTrust "mule-united" in namespace "max-airlines-home" ' +
          '(organization max-airlines) does not exist: max-airlines must declare trust in mule-united before sharing with it.',
        'spec.peers[0].domain',
      ),
    );
  });

  test('no trust at all names both OrgTrusts', () => {
    assert.deepEqual(
      review(request('CREATE', share([{ domain: 'mule-united' }])), story({ orgTrusts: [] })),
      denied(
        'AssetShare "flights" cannot share with "mule-united" until trust is mutual: OrgTrust "mule-united" in namespace "max-airlines-home" ' +
          '(organization max-airlines) does not exist: max-airlines must declare trust in mule-united before sharing with it; and ' +
          'OrgTrust "max-airlines" in namespace "mule-united-home" (organization mule-united) does not exist: ' +
          'mule-united must declare trust in max-airlines before max-airlines can share with it.',
        'spec.peers[0].domain',
      ),
    );
  });

  test('an OrgTrust being deleted does not count', () => {
    const s = story({
      orgTrusts: [orgTrust('max-airlines-home', 'mule-united'), orgTrust('mule-united-home', 'max-airlines', { deletionTimestamp: new Date() })],
    });
    assert.deepEqual(
      assetShareRules(request('CREATE', share([{ domain: 'mule-united' }])), s),
      denied(
        'AssetShare "flights" cannot share with "mule-united" until trust is mutual: OrgTrust "max-airlines" in namespace "mule-united-home" ' +
          '(organization mule-united) is being deleted: mule-united must declare trust in max-airlines before max-airlines can share with it.',
        'spec.peers[0].domain',
      ),
    );
  });

  test('a peer domain now held by another Organization than the one trust was made mutual with is refused (PeerReplaced), saying what to do', () => {
    const heir = { ...muleUnited, metadata: { ...muleUnited.metadata, name: 'heir', uid: 'uid-heir' } } as Organization;
    const recorded = { ...orgTrust('max-airlines-home', 'mule-united'), status: { peerUid: 'uid-old-mule' } };
    const s = story({ organizations: [maxAirlines, heir], orgTrusts: [recorded, orgTrust('mule-united-home', 'max-airlines')] });
    assert.deepEqual(
      assetShareRules(request('CREATE', share([{ domain: 'mule-united' }])), s),
      denied(
        'AssetShare "flights" cannot share with "mule-united" until trust is mutual: OrgTrust "mule-united" of "max-airlines" was made mutual with an earlier ' +
          'Organization of domain "mule-united" (uid uid-old-mule); Organization "heir" (uid uid-heir) holds it now and does not inherit that trust: ' +
          'to trust it, delete and re-create OrgTrust "mule-united" in namespace "max-airlines-home".',
        'spec.peers[0].domain',
      ),
    );
  });

  test('an OrgTrust outside the home namespace does not count', () => {
    const s = story({ orgTrusts: [orgTrust('max-airlines-home', 'mule-united'), orgTrust('mule-united-prod', 'max-airlines')] });
    assert.equal(assetShareRules(request('CREATE', share([{ domain: 'mule-united' }])), s).allowed, false);
  });

  test('on update, peers already granted are not re-checked for trust (the controller suspends them), new ones are', () => {
    const s = story({ orgTrusts: [] });
    const before = share([{ domain: 'mule-united' }]);
    const relabeled = { ...before, metadata: { ...before.metadata, labels: { team: 'flights' } } };
    assert.deepEqual(review(request('UPDATE', relabeled, before), s), ALLOWED);
    const sky = organization('sky', 'sky', 'sky-home', [['production', 'sky-prod']]);
    const withSky = story({ organizations: [maxAirlines, muleUnited, sky] });
    const added = share([{ domain: 'mule-united' }, { domain: 'sky' }]);
    assert.deepEqual(
      review(request('UPDATE', added, before), withSky),
      denied(
        'AssetShare "flights" cannot share with "sky" until trust is mutual: OrgTrust "sky" in namespace "max-airlines-home" (organization max-airlines) ' +
          'does not exist: max-airlines must declare trust in sky before sharing with it; and OrgTrust "max-airlines" in namespace "sky-home" ' +
          '(organization sky) does not exist: sky must declare trust in max-airlines before max-airlines can share with it.',
        'spec.peers[1].domain',
      ),
    );
    // A new target is a new grant: trust is checked for every peer again.
    const retargeted = share([{ domain: 'mule-united' }], { kind: 'Asset', name: 'other-asset' });
    assert.equal(review(request('UPDATE', retargeted, before), s).allowed, false);
  });

  test('sharing with its own domain is refused', () => {
    assert.deepEqual(
      review(request('CREATE', share([{ domain: 'max-airlines' }])), mutual),
      denied(
        'spec.peers[0].domain "max-airlines" is the domain of Organization "max-airlines" itself: an AssetShare shares with other organizations only. Remove this peer.',
        'spec.peers[0].domain',
      ),
    );
  });

  test('sharing with an unknown domain is refused', () => {
    assert.deepEqual(
      review(request('CREATE', share([{ domain: 'nobody' }])), mutual),
      denied(
        'spec.peers[0].domain "nobody" is not the domain of any Organization: AssetShare "flights" can only share with an existing organization ' +
          'that trusts max-airlines and is trusted by it. Check the domain.',
        'spec.peers[0].domain',
      ),
    );
  });

  test('the target must be an object of this organization', () => {
    const target = { kind: 'Asset', name: 'their-asset', namespace: 'mule-united-home' };
    const expected = denied(
      'spec.targetRef.namespace "mule-united-home" belongs to Organization "mule-united", but AssetShare "flights" is in namespace "max-airlines-home" ' +
        'and so speaks for Organization "max-airlines": an object may only speak for the organization that owns its namespace. ' +
        'Name a namespace of max-airlines ("max-airlines-home", "max-airlines-sandbox", "max-airlines-prod").',
      'spec.targetRef.namespace',
    );
    assert.deepEqual(review(request('CREATE', share([{ domain: 'mule-united' }], target)), mutual), expected);
    assert.deepEqual(assetShareRules(request('CREATE', share([{ domain: 'mule-united' }], target)), mutual), expected);
  });

  test('an Asset target must be in the home namespace', () => {
    assert.deepEqual(
      review(request('CREATE', share([{ domain: 'mule-united' }], { kind: 'Asset', name: 'flights-eapi', namespace: 'max-airlines-prod' })), mutual),
      denied(
        'spec.targetRef names Asset "flights-eapi" in namespace "max-airlines-prod", but Organization "max-airlines" keeps its Assets in its home ' +
          'namespace "max-airlines-home": leave spec.targetRef.namespace out or set it to "max-airlines-home".',
        'spec.targetRef.namespace',
      ),
    );
  });

  test('an ApiInstance target must name its environment namespace, with a hint where it is', () => {
    assert.deepEqual(
      review(request('CREATE', share([{ domain: 'mule-united' }], { kind: 'ApiInstance', name: 'flights' })), mutual),
      denied(
        'spec.targetRef.namespace is not set, but an ApiInstance lives in an environment namespace of Organization "max-airlines": ' +
          'set spec.targetRef.namespace to one of "max-airlines-sandbox", "max-airlines-prod" (ApiInstance "flights" exists in "max-airlines-prod").',
        'spec.targetRef.namespace',
      ),
    );
  });

  test('only Assets, ApiInstances and ApiGroups can be shared', () => {
    assert.deepEqual(
      assetShareRules(request('CREATE', share([{ domain: 'mule-united' }], { kind: 'Secret', name: 'keys' })), mutual),
      denied('spec.targetRef.kind "Secret" cannot be shared: an AssetShare shares an Asset, an ApiInstance or an ApiGroup.', 'spec.targetRef.kind'),
    );
  });
});

describe('Organization', () => {
  const s = story();

  test('a new organization with its own domain and namespaces is allowed', () => {
    const sky = organization('sky', 'sky', 'sky-home', [['production', 'sky-prod']]);
    assert.deepEqual(review(request('CREATE', sky as KubeObject), s), ALLOWED);
  });

  test('a domain that is not a DNS label is refused, showing what was written', () => {
    for (const [domain, shown] of [['Max_Airlines', '"Max_Airlines"'], ['', '""'], [42, '42'], [undefined, 'nothing']] as const) {
      const bad = { ...organization('sky', 'sky', 'sky-home', [['production', 'sky-prod']]) } as KubeObject & { spec: Record<string, unknown> };
      bad.spec = { ...bad.spec, domain };
      assert.deepEqual(
        organizationRules(request('CREATE', bad), s),
        denied(
          `spec.domain ${shown} is not a well-formed domain: a domain is a DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters.`,
          'spec.domain',
        ),
      );
    }
  });

  test('a domain already taken is refused, naming the holder', () => {
    const copy = organization('max-copy', 'max-airlines', 'copy-home', [['production', 'copy-prod']]);
    assert.deepEqual(
      review(request('CREATE', copy as KubeObject), s),
      denied(
        'domain "max-airlines" is already taken by Organization "max-airlines": peers trust an organization by its domain, so each domain belongs to one ' +
          'Organization. Choose another domain.',
        'spec.domain',
      ),
    );
  });

  test('a home or environment namespace already claimed is refused, naming the holder', () => {
    const home = organization('sky', 'sky', 'mule-united-home', [['production', 'sky-prod']]);
    assert.deepEqual(
      organizationRules(request('CREATE', home as KubeObject), s),
      denied(
        'spec.homeNamespace "mule-united-home" is already claimed by Organization "mule-united" as its home namespace: a namespace belongs to one ' +
          'Organization. Choose another namespace.',
        'spec.homeNamespace',
      ),
    );
    const env = organization('sky', 'sky', 'sky-home', [['sandbox', 'sky-sandbox'], ['production', 'max-airlines-prod']]);
    assert.deepEqual(
      organizationRules(request('CREATE', env as KubeObject), s),
      denied(
        'spec.environments[1].namespace "max-airlines-prod" is already claimed by Organization "max-airlines" as the namespace of its environment ' +
          '"production": a namespace belongs to one Organization. Choose another namespace.',
        'spec.environments[1].namespace',
      ),
    );
  });

  test('a namespace only labeled for another organization may be claimed: the label is no claim', () => {
    // Changed by issue 14: this used to be refused on the label alone. A label no spec backs is stale (its
    // organization's reconciler removes it); refusing on it let a leftover label hold a namespace.
    const s2 = story({
      namespaces: [...namespacesOf(maxAirlines), { name: 'old-env', labels: { [LABEL_ORGANIZATION]: 'mule-united' } }],
    });
    const sky = organization('sky', 'sky', 'sky-home', [['production', 'old-env']]);
    assert.deepEqual(organizationRules(request('CREATE', sky as KubeObject), s2), ALLOWED);
  });

  test('system namespaces and the operator namespace are reserved', () => {
    for (const ns of ['kube-system', 'crossgate-system']) {
      const org = organization('sky', 'sky', ns, [['production', 'sky-prod']]);
      assert.deepEqual(
        organizationRules(request('CREATE', org as KubeObject), s),
        denied(
          `spec.homeNamespace "${ns}" is reserved for the system or for crossgate itself and cannot belong to an Organization. Choose another namespace.`,
          'spec.homeNamespace',
        ),
      );
    }
  });

  test('updating an organization does not conflict with itself; only new claims are checked', () => {
    const updated = { ...maxAirlines, spec: { ...maxAirlines.spec, displayName: 'Max Airlines' } };
    assert.deepEqual(review(request('UPDATE', updated as KubeObject, maxAirlines as KubeObject), s), ALLOWED);
    const grab = { ...maxAirlines, spec: { ...maxAirlines.spec, environments: [...maxAirlines.spec.environments, { name: 'qa', namespace: 'mule-united-prod' }] } };
    assert.equal(review(request('UPDATE', grab as KubeObject, maxAirlines as KubeObject), s).allowed, false);
    // A conflict from before the webhook existed does not block unrelated edits.
    const squatter = organization('squatter', 'squatter', 'max-airlines-home', [['production', 'sq-prod']], '2026-01-01T00:00:00Z');
    const relabeled = { ...squatter, metadata: { ...squatter.metadata, labels: { a: 'b' } } };
    assert.deepEqual(organizationRules(request('UPDATE', relabeled as KubeObject, squatter as KubeObject), story({ organizations: [maxAirlines, squatter] })), ALLOWED);
  });

});

/** An Organization whose claims the operator has granted (status.routeClaims), as a reconciled one's are. */
const granted = (org: Organization): Organization => ({ ...org, status: { routeClaims: { hostnames: org.spec.routes?.hostnames ?? [], pathPrefixes: org.spec.routes?.pathPrefixes ?? [] } } }) as Organization;

describe('Organization route claims', () => {
  const s = story({ organizations: [granted(maxAirlines), granted(muleUnited)] });
  // Created now: the newest Organization (the apiserver sets creationTimestamp before validating admission).
  const sky = (routes: { hostnames?: string[]; pathPrefixes?: string[] }) => withRoutes(organization('sky', 'sky', 'sky-home', [['production', 'sky-prod']], '2026-06-01T00:00:00Z'), routes) as KubeObject;
  const OVERLAP_HINT = 'Two Organizations may not claim overlapping route space (equal, or one inside the other): choose claims that do not overlap, or remove them from Organization';

  test('claims of its own that overlap no other Organization are allowed', () => {
    assert.deepEqual(review(request('CREATE', sky({ hostnames: ['*.sky.example'], pathPrefixes: ['/sky', '/sky/v1', '/flightsearch'] })), s), ALLOWED);
  });

  test('a path prefix equal to, under or above another Organization\'s is refused, naming it and both claims', () => {
    assert.deepEqual(
      review(request('CREATE', sky({ pathPrefixes: ['/sky', '/flights/v2/x'] })), s),
      denied(`spec.routes.pathPrefixes "/flights/v2/x" overlaps path prefix "/flights", claimed by Organization "max-airlines". ${OVERLAP_HINT} "max-airlines" first.`, 'spec.routes.pathPrefixes'),
    );
    assert.deepEqual(
      organizationRules(request('CREATE', sky({ pathPrefixes: ['/'] })), s),
      denied(`spec.routes.pathPrefixes "/" overlaps path prefix "/flights", claimed by Organization "max-airlines". ${OVERLAP_HINT} "max-airlines" first.`, 'spec.routes.pathPrefixes'),
    );
    assert.equal(organizationRules(request('CREATE', sky({ pathPrefixes: ['/flights'] })), s).allowed, false, 'equal');
    assert.equal(organizationRules(request('CREATE', sky({ pathPrefixes: ['/flightsearch', '/gatesway'] })), s).allowed, true, 'segment boundaries');
  });

  test('a hostname overlapping another Organization\'s (exact or wildcard) is refused', () => {
    assert.deepEqual(
      organizationRules(request('CREATE', sky({ hostnames: ['*.example'] })), s),
      denied(`spec.routes.hostnames "*.example" overlaps hostname "*.max-airlines.example", claimed by Organization "max-airlines". ${OVERLAP_HINT} "max-airlines" first.`, 'spec.routes.hostnames'),
    );
    assert.deepEqual(
      organizationRules(request('CREATE', sky({ hostnames: ['eu.max-airlines.example', 'api.mule-united.example'] })), s),
      denied(
        'spec.routes.hostnames "eu.max-airlines.example" overlaps hostname "*.max-airlines.example", claimed by Organization "max-airlines"; ' +
          'spec.routes.hostnames "api.mule-united.example" overlaps hostname "api.mule-united.example", claimed by Organization "mule-united". ' +
          `${OVERLAP_HINT} "max-airlines", "mule-united" first.`,
        'spec.routes.hostnames',
      ),
    );
    assert.deepEqual(organizationRules(request('CREATE', sky({ hostnames: ['max-airlines.example'] })), s), ALLOWED, 'the apex is not under "*.max-airlines.example"');
  });

  test('a reserved gateway host name is refused', () => {
    const reserved = story({ platform: { ...NO_PLATFORM_SETTINGS, gatewayHostnames: ['gateway.crossgate.example'] } });
    assert.deepEqual(
      organizationRules(request('CREATE', sky({ hostnames: ['*.crossgate.example'] })), reserved),
      denied(
        'spec.routes.hostnames "*.crossgate.example" overlaps "gateway.crossgate.example", a host name of the gateway itself (reserved by the platform settings). ' +
          'The gateway\'s own host names belong to no Organization: choose another hostname.',
        'spec.routes.hostnames',
      ),
    );
  });

  test('on update only new claims are checked: nesting in its own space is allowed, a claim from before the webhook does not block edits', () => {
    const nested = withRoutes(maxAirlines, { hostnames: ['*.max-airlines.example', 'api.max-airlines.example'], pathPrefixes: ['/flights', '/flights/v1'] });
    assert.deepEqual(review(request('UPDATE', nested as KubeObject, maxAirlines as KubeObject), s), ALLOWED);
    const grab = withRoutes(maxAirlines, { pathPrefixes: ['/flights', '/gates/b'] });
    assert.deepEqual(
      organizationRules(request('UPDATE', grab as KubeObject, granted(maxAirlines) as KubeObject), s),
      denied(`spec.routes.pathPrefixes "/gates/b" overlaps path prefix "/gates", claimed by Organization "mule-united". ${OVERLAP_HINT} "mule-united" first.`, 'spec.routes.pathPrefixes'),
      'a granted claim keeps its place against an older Organization',
    );
    const squatter = withRoutes(organization('squatter', 'squatter', 'sq-home', [['production', 'sq-prod']], '2026-01-01T00:00:00Z'), { pathPrefixes: ['/flights/x'] });
    const relabeled = { ...squatter, metadata: { ...squatter.metadata, labels: { a: 'b' } } };
    assert.deepEqual(organizationRules(request('UPDATE', relabeled as KubeObject, squatter as KubeObject), story({ organizations: [maxAirlines, squatter] })), ALLOWED);
  });

  test("other Organizations' claims count as the operator counts them (effective claims): a void claim of theirs takes precedence only as the operator gives it", () => {
    // "a" was granted /q/a; "b" (older than "c", newer than "d") claims /q, void because of a's granted claim.
    const a = granted(withRoutes(organization('a', 'a', 'a-home', [['production', 'a-prod']], '2025-03-01T00:00:00Z'), { pathPrefixes: ['/q/a'] }));
    const b = withRoutes(organization('b', 'b', 'b-home', [['production', 'b-prod']], '2025-02-01T00:00:00Z'), { pathPrefixes: ['/q'] });
    assert.deepEqual(effectiveClaimsAmong(b, [a, b], NO_PLATFORM_SETTINGS).pathPrefixes, [], "b's /q is void");
    const world = story({ organizations: [a, b] });
    const newer = withRoutes(organization('c', 'c', 'c-home', [['production', 'c-prod']], '2026-06-01T00:00:00Z'), { pathPrefixes: ['/q/b'] });
    assert.deepEqual(
      organizationRules(request('CREATE', newer as KubeObject), world),
      denied(`spec.routes.pathPrefixes "/q/b" overlaps path prefix "/q", claimed by Organization "b". ${OVERLAP_HINT} "b" first.`, 'spec.routes.pathPrefixes'),
      'newer than b: the operator would void /q/b, so admission refuses it',
    );
    // An Organization older than b, adding /q/b: the operator gives it /q/b (b's /q is neither granted nor older), so admission allows it.
    const older = withRoutes(organization('d', 'd', 'd-home', [['production', 'd-prod']], '2025-01-15T00:00:00Z'), { pathPrefixes: ['/d'] });
    const adds = withRoutes(older, { pathPrefixes: ['/d', '/q/b'] });
    const before = story({ organizations: [a, b, older] });
    assert.deepEqual(organizationRules(request('UPDATE', adds as KubeObject, older as KubeObject), before), ALLOWED);
    assert.deepEqual(effectiveClaimsAmong(adds, [a, b, adds], NO_PLATFORM_SETTINGS).pathPrefixes, ['/d', '/q/b'], 'and the operator agrees');
  });

  test("the status a request carries is not believed: granted claims are read from the stored object", () => {
    const claimsGates = withRoutes(organization('sky', 'sky', 'sky-home', [['production', 'sky-prod']], '2026-06-01T00:00:00Z'), { pathPrefixes: ['/gates/x'] });
    const forged = { ...claimsGates, status: { routeClaims: { hostnames: [], pathPrefixes: ['/gates/x'] } } };
    assert.equal(organizationRules(request('CREATE', forged as KubeObject), s).allowed, false);
    const stored = withRoutes(claimsGates, { pathPrefixes: ['/sky'] });
    assert.equal(organizationRules(request('UPDATE', forged as KubeObject, stored as KubeObject), story({ organizations: [granted(maxAirlines), granted(muleUnited), stored] })).allowed, false);
  });

  test('property: admission allows new claims exactly when the operator would hold every one of them effective', () => {
    const segment = fc.constantFrom('a', 'b', 'q', 'x');
    const pathArb = fc.array(segment, { maxLength: 3 }).map((p) => `/${p.join('/')}`);
    const hostArb = fc.array(fc.constantFrom('a', 'b', 'example'), { minLength: 1, maxLength: 3 }).chain((l) => fc.constantFrom(l.join('.'), `*.${l.join('.')}`));
    const claimsArb = fc.record({ hostnames: fc.uniqueArray(hostArb, { maxLength: 2 }), pathPrefixes: fc.uniqueArray(pathArb, { maxLength: 2 }) });
    const orgArb = fc.record({ claims: claimsArb, month: fc.integer({ min: 1, max: 12 }), granted: fc.boolean() });
    fc.assert(
      fc.property(fc.array(orgArb, { minLength: 1, maxLength: 3 }), claimsArb, fc.integer({ min: 1, max: 12 }), (others, claims, month) => {
        const orgs = others.map((o, i) => {
          const org = withRoutes(organization(`o${i}`, `o${i}`, `o${i}-home`, [['production', `o${i}-prod`]], `2025-${String(o.month).padStart(2, '0')}-01T00:00:00Z`), o.claims);
          return o.granted ? granted(org) : org;
        });
        const candidate = withRoutes(organization('new', 'new', 'new-home', [['production', 'new-prod']], `2025-${String(month).padStart(2, '0')}-02T00:00:00Z`), claims);
        const verdict = organizationRules(request('CREATE', candidate as KubeObject), story({ organizations: orgs }));
        const effective = effectiveClaimsAmong(candidate, [...orgs, candidate], NO_PLATFORM_SETTINGS);
        const all = claimsOf(candidate);
        const kept = all.hostnames.length === effective.hostnames.length && all.pathPrefixes.length === effective.pathPrefixes.length;
        assert.equal(verdict.allowed, kept, JSON.stringify({ others, claims, month, verdict }));
      }),
      { numRuns: 500 },
    );
  });
});

describe('an ApiInstance stays inside its organization\'s route space', () => {
  const s = story();
  const inst = (basePath: string, hostnames?: string[]) => {
    const i = apiInstance('mule-united-prod', 'squat', { name: 'gates-eapi' });
    return { ...i, spec: { ...i.spec, basePath, ...(hostnames ? { hostnames } : {}) } } as KubeObject;
  };

  test('inside: under a claimed prefix, or on claimed hostnames', () => {
    assert.deepEqual(apiInstanceRules(request('CREATE', inst('/gates/v1')), s), ALLOWED);
    assert.deepEqual(apiInstanceRules(request('CREATE', inst('/', ['api.mule-united.example'])), s), ALLOWED);
  });

  test('attack 1: another Organization\'s prefix, or "/", is refused with what the organization claims', () => {
    for (const basePath of ['/flights/v1/x', '/']) {
      assert.deepEqual(
        review(request('CREATE', inst(basePath)), s),
        denied(
          `ApiInstance "squat": spec.basePath "${basePath}" on the gateway's shared host (no spec.hostnames) is outside the route space of Organization "mule-united": ` +
            'it claims path prefixes "/gates" (spec.routes.pathPrefixes). Use a basePath under one of its prefixes, or hostnames it claims; ' +
            'route space is assigned by a platform admin in the Organization (spec.routes).',
          'spec.basePath',
        ),
      );
    }
  });

  test('attack 2: the gateway\'s host or another Organization\'s host is refused', () => {
    const reserved = story({ platform: { ...NO_PLATFORM_SETTINGS, gatewayHostnames: ['gateway.crossgate.example'] } });
    for (const host of ['gateway.crossgate.example', 'api.max-airlines.example']) {
      assert.deepEqual(
        review(request('CREATE', inst('/', ['api.mule-united.example', host])), reserved),
        denied(
          `ApiInstance "squat": spec.hostnames[1] "${host}" is outside the route space of Organization "mule-united": it claims hostnames "api.mule-united.example" ` +
            '(spec.routes.hostnames). Use a hostname it claims, or no hostnames and a basePath under its path prefixes; route space is assigned by a platform admin in the Organization (spec.routes).',
          'spec.hostnames[1]',
        ),
      );
    }
  });

  test('the webhook and the operator read the same effective claims: a newer Organization\'s contested claim is void', () => {
    const squatter = withRoutes(organization('squatter', 'squatter', 'sq-home', [['production', 'sq-prod']], '2026-01-01T00:00:00Z'), { pathPrefixes: ['/flights/v1'] });
    const s2 = story({ organizations: [maxAirlines, muleUnited, squatter], namespaces: [...namespacesOf(maxAirlines), ...namespacesOf(muleUnited), ...namespacesOf(squatter)] });
    const i = { ...apiInstance('sq-prod', 'grab'), spec: { ...apiInstance('sq-prod', 'grab').spec, basePath: '/flights/v1/x' } } as KubeObject;
    const v = apiInstanceRules(request('CREATE', i), s2);
    assert.equal(v.allowed, false);
    assert.match((v as { message: string }).message, /its claim "\/flights\/v1" would cover it but is void because Organization "max-airlines" holds "\/flights" \(granted first, or older\)/);
  });
});

describe('an object may only speak for the organization that owns its namespace', () => {
  const s = story();

  test('a label naming another organization is refused', () => {
    const obj = asset('max-airlines-home', 'flights-eapi');
    obj.metadata.labels = { [LABEL_ORGANIZATION]: 'mule-united' };
    assert.deepEqual(
      review(request('CREATE', obj), s),
      denied(
        'metadata.labels["crossgate.dev/organization"] is "mule-united", but Asset "flights-eapi" is in namespace "max-airlines-home" and so speaks for ' +
          'Organization "max-airlines": an object may only speak for the organization that owns its namespace. Remove the label or set it to "max-airlines".',
        'metadata.labels.crossgate.dev/organization',
      ),
    );
    obj.metadata.labels = { [LABEL_ORGANIZATION]: 'max-airlines', 'crossgate.dev/domain': 'max-airlines' };
    assert.deepEqual(speaksForOrganization(request('CREATE', obj), s), ALLOWED);
    obj.metadata.labels = { 'crossgate.dev/domain': 'mule-united' };
    assert.equal(speaksForOrganization(request('CREATE', obj), s).allowed, false);
  });

  test("an ApiInstance implements an Asset of its own organization", () => {
    assert.deepEqual(
      review(request('CREATE', apiInstance('max-airlines-prod', 'flights', { name: 'theirs', namespace: 'mule-united-home' })), s),
      denied(
        'spec.assetRef.namespace "mule-united-home" belongs to Organization "mule-united", but ApiInstance "flights" is in namespace "max-airlines-prod" ' +
          'and so speaks for Organization "max-airlines": an object may only speak for the organization that owns its namespace. ' +
          'Name a namespace of max-airlines ("max-airlines-home", "max-airlines-sandbox", "max-airlines-prod").',
        'spec.assetRef.namespace',
      ),
    );
    assert.deepEqual(
      review(request('CREATE', apiInstance('max-airlines-prod', 'flights', { name: 'flights-eapi', namespace: 'team-a' })), s),
      denied(
        'spec.assetRef.namespace "team-a" belongs to no Organization, but ApiInstance "flights" is in namespace "max-airlines-prod" and so speaks for ' +
          'Organization "max-airlines": an object may only speak for the organization that owns its namespace. ' +
          'Name a namespace of max-airlines ("max-airlines-home", "max-airlines-sandbox", "max-airlines-prod").',
        'spec.assetRef.namespace',
      ),
    );
    assert.deepEqual(
      apiInstanceRules(request('CREATE', apiInstance('max-airlines-prod', 'flights', { name: 'flights-eapi', namespace: 'max-airlines-sandbox' })), s),
      denied(
        'ApiInstance "flights" refers to an Asset in namespace "max-airlines-sandbox", but Organization "max-airlines" keeps its Assets in its home ' +
          'namespace "max-airlines-home": set spec.assetRef.namespace to "max-airlines-home" or leave it out.',
        'spec.assetRef.namespace',
      ),
    );
    const explicitHome = apiInstance('max-airlines-prod', 'flights', { name: 'flights-eapi', namespace: 'max-airlines-home' });
    assert.deepEqual(review(request('CREATE', explicitHome), s), ALLOWED);
  });
});

describe('ApiKey for another organization\'s ApiInstance', () => {
  const key = (extra: { namespace?: string } = {}): KubeObject => ({
    apiVersion: API_VERSION,
    kind: 'ApiKey',
    metadata: { name: 'gate-display', namespace: 'mule-united-prod' },
    spec: { apiInstanceRef: { name: 'flights', namespace: 'max-airlines-prod', ...extra }, tier: 'gold', clientName: 'Gate display' },
  });
  const share = assetShare('max-airlines-home', 'flights-to-mule', [{ domain: 'mule-united', access: 'view' }], { kind: 'ApiInstance', name: 'flights', namespace: 'max-airlines-prod' });
  const trusts = { own: orgTrust('mule-united-home', 'max-airlines'), back: orgTrust('max-airlines-home', 'mule-united') };

  test('allowed under mutual trust and a share of that instance; a key of the same organization needs neither', () => {
    assert.deepEqual(review(request('CREATE', key()), story({ assetShares: [share] })), ALLOWED);
    const own: KubeObject = { ...key(), metadata: { name: 'ops', namespace: 'max-airlines-sandbox' } };
    assert.deepEqual(review(request('CREATE', own), story({ orgTrusts: [] })), ALLOWED);
  });

  test('refused when the consumer does not trust the owner, naming the OrgTrust to create', () => {
    assert.deepEqual(
      review(request('CREATE', key()), story({ orgTrusts: [trusts.back], assetShares: [share] })),
      denied(
        'ApiKey "gate-display" cannot call ApiInstance "flights" of organization "max-airlines": "mule-united" does not trust "max-airlines": create OrgTrust "max-airlines" in namespace "mule-united-home"',
        'spec.apiInstanceRef',
      ),
    );
  });

  test('refused when the owner does not trust the consumer back', () => {
    assert.deepEqual(
      review(request('CREATE', key()), story({ orgTrusts: [trusts.own], assetShares: [share] })),
      denied(
        'ApiKey "gate-display" cannot call ApiInstance "flights" of organization "max-airlines": "max-airlines" has not declared trust in "mule-united": it needs OrgTrust "mule-united" in its namespace "max-airlines-home"',
        'spec.apiInstanceRef',
      ),
    );
  });

  test('refused under mutual trust when the owner does not share that instance', () => {
    assert.deepEqual(
      review(request('CREATE', key()), story()),
      denied(
        'ApiKey "gate-display" cannot call ApiInstance "flights" of organization "max-airlines": "max-airlines" does not share ApiInstance "flights" (namespace "max-airlines-prod") with "mule-united": ' +
          'it needs an AssetShare of it with peer "mule-united" in namespace "max-airlines-home"',
        'spec.apiInstanceRef',
      ),
    );
  });

  test('an issued key stays editable when trust goes (the operator suspends it); a key re-pointed is checked again', () => {
    const noTrust = story({ orgTrusts: [] });
    const revoked = { ...key(), spec: { ...(key().spec as object), revoked: true } } as KubeObject;
    assert.deepEqual(review(request('UPDATE', revoked, key()), noTrust), ALLOWED);
    const elsewhere = { ...key(), spec: { ...(key().spec as object), apiInstanceRef: { name: 'flights', namespace: 'max-airlines-prod' } } } as KubeObject;
    const before = { ...key(), spec: { ...(key().spec as object), apiInstanceRef: { name: 'other', namespace: 'max-airlines-prod' } } } as KubeObject;
    assert.equal(review(request('UPDATE', elsewhere, before), noTrust).allowed, false);
  });
});

describe('dispatch', () => {
  const s = story({ orgTrusts: [] });

  test('every kind of the API has rules', () => {
    for (const def of KINDS) assert.ok(RULES[def.kind]?.length, def.kind);
  });

  test('DELETE is allowed, and so is an update of an object being deleted (finalizer removal)', () => {
    const bad = assetShare('team-a', 'flights', [{ domain: 'mule-united', access: 'edit' }]);
    assert.deepEqual(review(request('DELETE', bad), s), ALLOWED);
    const leaving = { ...bad, metadata: { ...bad.metadata, deletionTimestamp: new Date(), finalizers: [] } };
    assert.deepEqual(review(request('UPDATE', leaving, bad), s), ALLOWED);
  });

  test('an unknown kind, group or version is refused (fail closed)', () => {
    const r = request('CREATE', { apiVersion: API_VERSION, kind: 'Gadget', metadata: { name: 'g', namespace: 'max-airlines-home' } });
    assert.deepEqual(review(r, s), denied('the crossgate webhook has no rules for crossgate.dev/v1alpha1 Gadget; it refuses what it does not know (fail closed)'));
    assert.deepEqual(
      review({ ...r, kind: { group: '', version: 'v1', kind: 'ConfigMap' } }, s),
      denied('the crossgate webhook has no rules for core/v1 ConfigMap; it refuses what it does not know (fail closed)'),
    );
    assert.equal(review({ ...r, kind: { group: 'crossgate.dev', version: 'v2', kind: 'Asset' } }, s).allowed, false);
  });

  test('an unexpected operation or a missing object is refused', () => {
    const r = request('CREATE', asset('max-airlines-home', 'a'));
    assert.deepEqual(review({ ...r, operation: 'CONNECT' }, s), denied('the crossgate webhook validates CREATE and UPDATE only, not "CONNECT"'));
    assert.deepEqual(review({ ...r, object: null }, s), denied('the admission request for Asset carries no object'));
  });

  test('a malformed object is refused by the schema check, not by a crash', () => {
    const broken = { apiVersion: API_VERSION, kind: 'AssetShare', metadata: { name: 'x', namespace: 'max-airlines-home' }, spec: { peers: 'everyone' } };
    const v = review(request('CREATE', broken), story());
    assert.equal(v.allowed, false);
    const asset2 = { ...asset('max-airlines-home', 'a'), spec: { type: 'http', title: 'T', version: 'one' } };
    assert.deepEqual(
      review(request('CREATE', asset2), s),
      denied(
        'Asset "a" does not match the crossgate.dev/v1alpha1 Asset schema: /spec/version: must match pattern ' +
          '"^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$"',
        'spec.version',
      ),
    );
  });
});
