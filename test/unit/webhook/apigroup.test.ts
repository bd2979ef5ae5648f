// ApiGroups at admission: a member in another organization's namespace is refused
// naming the namespace and its organization (model/api-group.ts memberProblem, which
// the operator applies too); a group lives in the home namespace, its tiers and
// Contracts with it; a group entry of an Application needs a share of the group
// under mutual trust; two entries naming one target are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { review as reviewRules } from '../../../webhook/rules/index.ts';
import { applicationRules as appRules } from '../../../webhook/rules/application.ts';
import type { KubeObject } from '../../../webhook/admission.ts';
import { groupMembership, accessToGroup } from '../../../model/api-group.ts';
import { duplicateEntries } from '../../../model/access-targets.ts';
import { applicationContractName } from '../../../model/contract-name.ts';
import type { ApiGroup } from '../../../api/v1alpha1/index.ts';
import { apiInstance, assetShare, orgTrust, request, story } from './fixtures.ts';

const review = (...a: Parameters<typeof reviewRules>) => reviewRules(...a) as { allowed: boolean; message?: string; field?: string };
const applicationRules = (...a: Parameters<typeof appRules>) => appRules(...a) as { allowed: boolean; message?: string; field?: string };
const group = (namespace: string, name: string, instances: Array<{ namespace: string; name: string }>) =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiGroup', metadata: { name, namespace }, spec: { instances } }) as unknown as KubeObject & ApiGroup;
const tier = (namespace: string, spec: Record<string, unknown>) =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'SlaTier', metadata: { name: 'gold', namespace }, spec: { limits: [{ requests: 1, period: 'minute' }], approval: 'automatic', ...spec } }) as unknown as KubeObject;
const app = (access: unknown[]) =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'Application', metadata: { name: 'booking', namespace: 'mule-united-prod' }, spec: { access } }) as unknown as KubeObject;
const travel = { apiGroupRef: { name: 'travel', namespace: 'max-airlines-home' }, tier: 'gold' };
const groupShare = () => [assetShare('max-airlines-home', 'travel-group', [{ domain: 'mule-united' }], { kind: 'ApiGroup', name: 'travel' })];

test('an ApiGroup naming another organization\'s instance is refused, naming the namespace and its organization', () => {
  const v = review(request('CREATE', group('mule-united-home', 'stolen', [{ namespace: 'max-airlines-prod', name: 'flights' }])), story());
  assert.equal(v.allowed, false);
  assert.equal(
    v.message,
    'ApiGroup "stolen" cannot list spec.instances[0]: ApiInstance "flights" is named in namespace "max-airlines-prod", which belongs to Organization "max-airlines" (domain "max-airlines"), not to Organization "mule-united": an ApiGroup groups only its own organization\'s ApiInstances.',
  );
  assert.equal(v.field, 'spec.instances[0].namespace');
  const home = review(request('CREATE', group('max-airlines-home', 'travel', [{ namespace: 'max-airlines-home', name: 'flights' }])), story());
  assert.equal(home.message, 'ApiGroup "travel" cannot list spec.instances[0]: namespace "max-airlines-home" is the home namespace of Organization "max-airlines": ApiInstances live in its environment namespaces.');
});

test('an ApiGroup of its own instances is admitted in the home namespace, also before a member exists; not in an environment namespace', () => {
  const own = group('max-airlines-home', 'travel', [{ namespace: 'max-airlines-prod', name: 'flights' }, { namespace: 'max-airlines-prod', name: 'later' }]);
  assert.equal(review(request('CREATE', own), story()).allowed, true);
  const misplaced = review(request('CREATE', group('max-airlines-prod', 'travel', [{ namespace: 'max-airlines-prod', name: 'flights' }])), story());
  assert.equal(misplaced.allowed, false);
  assert.match(misplaced.message!, /^ApiGroup "travel" must be in the home namespace of Organization "max-airlines", "max-airlines-home", not in "max-airlines-prod"/);
});

test('a group tier lives in the home namespace with its group; an instance tier in an environment', () => {
  const ok = review(request('CREATE', tier('max-airlines-home', { apiGroupRef: { name: 'travel' } })), story());
  assert.equal(ok.allowed, true, ok.message);
  const v = review(request('CREATE', tier('max-airlines-prod', { apiGroupRef: { name: 'travel' } })), story());
  assert.equal(
    v.message,
    'SlaTier "gold" belongs to an ApiGroup (spec.apiGroupRef), so it must be in the home namespace of Organization "max-airlines", "max-airlines-home", with its group, not in "max-airlines-prod", which is the namespace of its environment "production".',
  );
  assert.equal(review(request('CREATE', tier('max-airlines-home', { apiInstanceRef: { name: 'flights' } })), story()).allowed, false);
});

test('a group entry needs a share of the group (a share of its members is not one) and mutual trust', () => {
  const memberShare = [assetShare('max-airlines-home', 'flights-api', [{ domain: 'mule-united' }], { kind: 'ApiInstance', name: 'flights', namespace: 'max-airlines-prod' })];
  const v = applicationRules(request('CREATE', app([travel])), story({ assetShares: memberShare }));
  assert.equal(
    v.message,
    'Application "booking" cannot call ApiGroup "travel" of organization "max-airlines": "max-airlines" does not share ApiGroup "travel" (namespace "max-airlines-home") with "mule-united": it needs an AssetShare of it with peer "mule-united" in namespace "max-airlines-home"',
  );
  assert.equal(v.field, 'spec.access[0].apiGroupRef');
  const noTrust = applicationRules(request('CREATE', app([travel])), story({ assetShares: groupShare(), orgTrusts: [orgTrust('max-airlines-home', 'mule-united')] }));
  assert.match(noTrust.message!, /^Application "booking" cannot call ApiGroup "travel" of organization "max-airlines": "mule-united" does not trust "max-airlines"/);
  assert.equal(applicationRules(request('CREATE', app([travel])), story({ assetShares: groupShare() })).allowed, true);
});

test('two entries resolving to one ApiInstance are refused, naming both', () => {
  const v = applicationRules(request('CREATE', app([{ apiInstanceRef: { name: 'gates' }, tier: 'gold' }, { apiInstanceRef: { name: 'gates', namespace: 'mule-united-prod' }, tier: 'silver' }])), story());
  assert.equal(
    v.message,
    'Application "booking": spec.access[1] names ApiInstance "gates" in namespace "mule-united-prod", as spec.access[0] does: each ApiInstance and each ApiGroup may appear once in access (an ApiInstance\'s namespace defaults to the Application\'s). Remove spec.access[1].',
  );
  assert.equal(v.field, 'spec.access[1]');
  assert.deepEqual([...duplicateEntries('ns', [{ apiInstanceRef: { name: 'a' } }, { apiGroupRef: { name: 'a', namespace: 'ns' } }])], []);
});

test('membership: members of the group\'s organization that exist; foreign and missing ones named; access resolves it', () => {
  const snap = story({ apiGroups: [group('max-airlines-home', 'travel', [{ namespace: 'max-airlines-prod', name: 'flights' }, { namespace: 'mule-united-prod', name: 'gates' }, { namespace: 'max-airlines-prod', name: 'crew' }])], assetShares: groupShare(), apiInstances: [apiInstance('max-airlines-prod', 'flights'), apiInstance('mule-united-prod', 'gates')] });
  const m = groupMembership(snap, snap.apiGroups('max-airlines-home')[0]!);
  assert.deepEqual(m.members.map((i) => i.metadata.name), ['flights']);
  assert.deepEqual(m.missing.map((p) => [p.namespace, p.name, p.reason]), [['mule-united-prod', 'gates', 'ForeignNamespace'], ['max-airlines-prod', 'crew', 'InstanceNotFound']]);
  const a = accessToGroup(snap, 'mule-united-prod', { name: 'travel', namespace: 'max-airlines-home' });
  assert.equal(a.ok, true);
  assert.equal(a.membership?.members.length, 1);
  assert.equal(accessToGroup(snap, 'mule-united-prod', { name: 'none', namespace: 'max-airlines-home' }).message, '"max-airlines" does not share ApiGroup "none" (namespace "max-airlines-home") with "mule-united": it needs an AssetShare of it with peer "mule-united" in namespace "max-airlines-home"');
  assert.equal(accessToGroup(snap, 'max-airlines-prod', { name: 'none', namespace: 'max-airlines-home' }).reason, 'GroupNotFound');
});

test('a group\'s Contract name never meets an instance\'s of the same name', () => {
  assert.notEqual(applicationContractName('ns', 'app', 'travel', 'ApiGroup'), applicationContractName('ns', 'app', 'travel'));
  assert.equal(applicationContractName('ns', 'app', 'travel'), applicationContractName('ns', 'app', 'travel', 'ApiInstance'));
});
