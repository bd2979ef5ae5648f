// What an ApiGroup's status says (desiredGroupStatus), what a group tier's says
// (desiredGroupTierStatus), and the grant a group Contract puts in an app's
// credential (grantsOf): the served members' routes only, under "<group>/<tier>";
// a member held closed (its route verdict withholds it) or not served is left out,
// and the group's status names it (membersNotServed, MembersServed, notServed).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiGroup, Application, Contract, Policy, SlaTier } from '../../../api/v1alpha1/index.ts';
import { groupMembership } from '../../../model/api-group.ts';
import { desiredGroupStatus, desiredServedCondition, membersNotServed, notServedStatus } from '../../../operator/controllers/apigroup-desired.ts';
import { desiredGroupTierStatus } from '../../../operator/controllers/slatier-desired.ts';
import { entryFacts, grantsOf } from '../../../operator/controllers/application-desired.ts';
import { servedRoutes } from '../../../operator/controllers/gatewayconfig/served-routes.ts';
import { applicationContractName } from '../../../model/contract-name.ts';
import { LABEL_CONSUMER_UID } from '../../../api/labels.ts';
import { apiInstance, assetShare, story } from '../webhook/fixtures.ts';

const V = 'crossgate.dev/v1alpha1';
const HOME = 'max-airlines-home';
const PROD = 'max-airlines-prod';
const group = (instances: Array<{ namespace: string; name: string }>, namespace = HOME, name = 'travel') =>
  ({ apiVersion: V, kind: 'ApiGroup', metadata: { name, namespace }, spec: { instances } }) as unknown as ApiGroup;
const member = (name: string, namespace = PROD) => ({ namespace, name });
const instanceAt = (name: string, basePath: string) => ({ ...apiInstance(PROD, name), spec: { ...apiInstance(PROD, name).spec, basePath } });
const flights = instanceAt('flights', '/flights/v1');
const hotels = instanceAt('hotels', '/flights/hotels');
const groupTier = (name = 'gold', approval: 'automatic' | 'manual' = 'automatic') =>
  ({ apiVersion: V, kind: 'SlaTier', metadata: { name, namespace: HOME }, spec: { apiGroupRef: { name: 'travel' }, limits: [{ requests: 10, period: 'hour' }, { requests: 2, period: 'second' }], approval } }) as unknown as SlaTier;
const policy = (name: string, type: string, config: unknown, target: string) =>
  ({ apiVersion: V, kind: 'Policy', metadata: { name, namespace: PROD }, spec: { type, order: 1, targetRef: { name: target }, config } }) as unknown as Policy;
const apiKey = (target: string) => policy(`keys-${target}`, 'api-key', {}, target);

describe('desiredGroupStatus: Ready and what a user reads', () => {
  test('Resolved: every member exists and is the organization\'s', () => {
    const snap = story({ apiInstances: [flights, hotels] });
    const d = desiredGroupStatus(groupMembership(snap, group([member('flights'), member('hotels')])));
    assert.deepEqual(d, {
      members: 2,
      missing: [],
      ready: { type: 'Ready', status: 'True', reason: 'Resolved', message: '2 members: max-airlines-prod/flights, max-airlines-prod/hotels' },
    });
    assert.equal(desiredGroupStatus(groupMembership(snap, group([member('flights')]))).ready.message, '1 member: max-airlines-prod/flights');
  });

  test('MemberNotFound: a member that does not exist is named under missing and in the message', () => {
    const d = desiredGroupStatus(groupMembership(story({ apiInstances: [flights] }), group([member('flights'), member('later')])));
    assert.equal(d.members, 1);
    assert.deepEqual(d.missing, ['max-airlines-prod/later']);
    assert.deepEqual(d.ready, {
      type: 'Ready',
      status: 'False',
      reason: 'MemberNotFound',
      message: '1 of 2 members resolved; left out (never reached through the group): ApiInstance "later" does not exist in namespace "max-airlines-prod"',
    });
  });

  test('ForeignMember: another organization\'s instance wins over a missing one, and the message names its namespace and organization', () => {
    const d = desiredGroupStatus(groupMembership(story({ apiInstances: [flights] }), group([member('later'), member('gates', 'mule-united-prod'), member('flights')])));
    assert.equal(d.members, 1);
    assert.deepEqual(d.missing, ['max-airlines-prod/later', 'mule-united-prod/gates']);
    assert.equal(d.ready.status, 'False');
    assert.equal(d.ready.reason, 'ForeignMember');
    assert.equal(
      d.ready.message,
      '1 of 3 members resolved; left out (never reached through the group): ApiInstance "later" does not exist in namespace "max-airlines-prod"; ' +
        'ApiInstance "gates" is named in namespace "mule-united-prod", which belongs to Organization "mule-united" (domain "mule-united"), not to Organization "max-airlines": an ApiGroup groups only its own organization\'s ApiInstances',
    );
    // A member in the home namespace is left out as not an environment: ForeignMember too (not merely missing).
    const home = desiredGroupStatus(groupMembership(story(), group([member('flights', HOME)])));
    assert.equal(home.ready.reason, 'ForeignMember');
    assert.match(home.ready.message!, /namespace "max-airlines-home" is the home namespace of Organization "max-airlines": ApiInstances live in its environment namespaces$/);
  });

  test('NotInHomeNamespace: a group outside the home namespace resolves nothing, every member under missing', () => {
    const d = desiredGroupStatus(groupMembership(story({ apiInstances: [flights] }), group([member('flights')], PROD)));
    assert.equal(d.members, 0);
    assert.deepEqual(d.missing, ['max-airlines-prod/flights']);
    assert.deepEqual(d.ready, {
      type: 'Ready',
      status: 'False',
      reason: 'NotInHomeNamespace',
      message: 'namespace "max-airlines-prod" is an environment namespace of Organization "max-airlines": an ApiGroup lives in its organization\'s home namespace, "max-airlines-home"; no member is reachable through it',
    });
    assert.equal(desiredGroupStatus(groupMembership(story(), group([member('flights')], 'team-a'))).ready.message, 'namespace "team-a" belongs to no Organization; no member is reachable through it');
  });

  test('the message stays within the condition\'s 4096 characters, missing within its maxItems', () => {
    const refs = Array.from({ length: 40 }, (_, i) => member(`absent-${'x'.repeat(200)}-${i}`));
    const d = desiredGroupStatus(groupMembership(story(), group(refs)));
    assert.ok(d.ready.message!.length <= 4096);
    assert.equal(d.missing.length, 32);
  });
});

describe('desiredGroupTierStatus: Ready and what a user reads', () => {
  const approved = (name: string, tier = 'gold', state = 'Approved') =>
    ({ metadata: { name, namespace: HOME }, spec: { apiGroupRef: { name: 'travel' }, tier }, status: { state } }) as unknown as Contract;
  const contracts = [approved('c1'), approved('c2'), approved('c3', 'gold', 'Pending'), approved('c4', 'silver'), { ...approved('c5'), spec: { apiInstanceRef: { name: 'travel' }, tier: 'gold' } } as unknown as Contract];
  const travel = group([member('flights'), member('hotels')]);
  const enforced = () => [apiKey('x')];

  test('GroupNotFound: no group, or one being deleted', () => {
    const d = desiredGroupTierStatus(groupTier(), undefined, [], contracts, enforced);
    assert.deepEqual(d, { contracts: 2, ready: { type: 'Ready', status: 'False', reason: 'GroupNotFound', message: 'ApiGroup "travel" does not exist in namespace "max-airlines-home"' } });
    const deleting = { metadata: { name: 'travel', deletionTimestamp: new Date() } };
    assert.equal(desiredGroupTierStatus(groupTier(), deleting, [flights], contracts, enforced).ready.reason, 'GroupNotFound');
  });

  test('NoMembers: a group that resolves no member limits nothing', () => {
    const d = desiredGroupTierStatus(groupTier(), travel, [], contracts, enforced);
    assert.deepEqual(d.ready, { type: 'Ready', status: 'False', reason: 'NoMembers', message: 'ApiGroup "travel" resolves no member ApiInstance: the tier limits nothing yet' });
  });

  test('NotEnforced names each member without a credential Policy', () => {
    const applied = (m: { metadata?: { name?: string } }) => (m.metadata?.name === 'flights' ? [apiKey('flights')] : []);
    const d = desiredGroupTierStatus(groupTier(), travel, [flights, hotels], contracts, applied);
    assert.equal(d.contracts, 2);
    assert.deepEqual(d.ready, {
      type: 'Ready',
      status: 'False',
      reason: 'NotEnforced',
      message:
        'tier of ApiGroup "travel" is not enforced on "max-airlines-prod/hotels": no api-key or client-id-enforcement Policy applies there, so the gateway serves those members without credentials and this tier counts nothing on them; apply one to each',
    });
    const none = desiredGroupTierStatus(groupTier(), travel, [flights, hotels], contracts, () => []);
    assert.match(none.ready.message!, /not enforced on "max-airlines-prod\/flights", "max-airlines-prod\/hotels":/);
    // A client-id-enforcement Policy enforces too.
    const clientId = desiredGroupTierStatus(groupTier(), travel, [flights], contracts, () => [policy('cid', 'client-id-enforcement', {}, 'flights')]);
    assert.equal(clientId.ready.reason, 'Available');
  });

  test('Available: members, limits (shortest window first), approval and approved group Contracts at this tier', () => {
    const d = desiredGroupTierStatus(groupTier('gold', 'manual'), travel, [flights, hotels], contracts, enforced);
    assert.deepEqual(d, {
      contracts: 2,
      ready: {
        type: 'Ready',
        status: 'True',
        reason: 'Available',
        message: 'tier of ApiGroup "travel" (2 members, one count per contract across them): 2 per second, 10 per hour; manual approval; 2 approved contracts',
      },
    });
    assert.equal(
      desiredGroupTierStatus(groupTier(), travel, [flights], [approved('c1')], enforced).ready.message,
      'tier of ApiGroup "travel" (1 member, one count per contract across them): 2 per second, 10 per hour; automatic approval; 1 approved contract',
    );
  });
});

describe('grantsOf: a group grant lists the served members\' routes only, under "<group>/<tier>"', () => {
  const app = {
    apiVersion: V,
    kind: 'Application',
    metadata: { name: 'booking', namespace: 'mule-united-prod', uid: 'uid-booking' },
    spec: { access: [{ apiGroupRef: { name: 'travel', namespace: HOME }, tier: 'gold' }] },
  } as unknown as Application;
  const contractName = applicationContractName('mule-united-prod', 'booking', 'travel', 'ApiGroup');
  const contract = {
    apiVersion: V,
    kind: 'Contract',
    metadata: { name: contractName, namespace: HOME, labels: { [LABEL_CONSUMER_UID]: 'uid-booking' } },
    spec: { apiGroupRef: { name: 'travel' }, tier: 'gold', consumer: { organization: 'mule-united', namespace: 'mule-united-prod', kind: 'Application', name: 'booking' }, decision: 'Approved' },
    status: { state: 'Approved' },
  } as unknown as Contract;
  const travel = group([member('flights'), member('hotels'), member('later')]);
  const snap = story({ apiInstances: [flights, hotels], apiGroups: [travel], assetShares: [assetShare(HOME, 'travel', [{ domain: 'mule-united' }], { kind: 'ApiGroup', name: 'travel' })] });
  const sources = { contract: (id: string) => (id === `${HOME}/${contractName}` ? contract : undefined), tier: (id: string) => (id === `${HOME}/gold` ? groupTier() : undefined) };
  const facts = entryFacts(app, snap, sources, new Date());
  const silent = { warn: () => {} };

  test('the entry is usable; without a served set every resolved member is listed (a missing one never)', () => {
    assert.equal(facts[0]!.verdict.state, 'Approved', facts[0]!.verdict.message);
    assert.deepEqual(grantsOf(facts), [{ routes: [`${PROD}/flights`, `${PROD}/hotels`], contract: `${HOME}/${contractName}`, tier: 'travel/gold' }]);
  });

  test('a member not served on the gateway is left out; a group none of whose members is served grants nothing', () => {
    assert.deepEqual(grantsOf(facts, new Set([`${PROD}/hotels`, `${PROD}/later`])), [{ routes: [`${PROD}/hotels`], contract: `${HOME}/${contractName}`, tier: 'travel/gold' }]);
    assert.deepEqual(grantsOf(facts, new Set(['mule-united-prod/gates'])), []);
  });

  test('a member held closed by its route verdict (an invalid Policy) is not served, so not in the grant', () => {
    const policies = [apiKey('flights'), apiKey('hotels'), policy('broken', 'rate-limit', { limits: 'many' }, 'hotels')];
    const served = servedRoutes('default', { instances: [flights, hotels], policies, tiers: [groupTier()], snapshot: snap }, silent);
    assert.ok(served.ids.has(`${PROD}/flights`), 'flights is served');
    assert.equal(served.ids.has(`${PROD}/hotels`), false, 'hotels is held closed');
    const closed = served.rendered.shards.flatMap((s) => s.routes).find((r) => r.id === `${PROD}/hotels`);
    assert.ok(closed?.withheld, 'its route is in the config, closed (503)');
    assert.deepEqual(grantsOf(facts, served.ids), [{ routes: [`${PROD}/flights`], contract: `${HOME}/${contractName}`, tier: 'travel/gold' }]);
  });

  test('an unusable or Duplicate group entry grants nothing', () => {
    const pending = entryFacts(app, snap, { ...sources, contract: () => ({ ...contract, spec: { ...contract.spec, decision: 'Pending' } }) as Contract }, new Date());
    assert.deepEqual(grantsOf(pending), []);
    const twice = { ...app, spec: { access: [...app.spec.access, ...app.spec.access] } } as Application;
    const dup = entryFacts(twice, snap, sources, new Date());
    assert.equal(dup[1]!.duplicateOf, 0);
    assert.equal(grantsOf(dup).length, 1, 'only the first entry grants');
  });
});

describe('membersNotServed: the group names each member the gateway does not serve, and why', () => {
  const travel = group([member('flights'), member('hotels'), member('outside'), member('later')]);
  const outside = instanceAt('outside', '/hotels/v1'); // outside max-airlines' route space (/flights)
  const older = { ...instanceAt('squatter', '/flights/hotels'), metadata: { name: 'squatter', namespace: PROD, creationTimestamp: new Date('2020-01-01T00:00:00Z') } };
  const instances = [flights, hotels, outside];
  const snap = story({ apiInstances: instances, apiGroups: [travel] });
  const membership = groupMembership(snap, travel);

  test('all served: MembersServed True, notServed empty', () => {
    const none = membersNotServed(membership.members.filter((m) => m.metadata.name !== 'outside'), { snapshot: snap, instances, policies: [apiKey('flights'), apiKey('hotels')], tiers: [groupTier()] });
    assert.deepEqual(none, []);
    assert.deepEqual(desiredServedCondition(2, none), { type: 'MembersServed', status: 'True', reason: 'AllServed', message: 'the gateway serves every member\'s route (2)' });
    assert.deepEqual(notServedStatus(none), []);
  });

  test('a member held closed (invalid Policy) and one left out (outside route claims) are named with the reason their ApiInstance gives; a missing member is not (it is under missing)', () => {
    const policies = [apiKey('flights'), apiKey('hotels'), policy('broken', 'rate-limit', { limits: 'many' }, 'hotels')];
    const out = membersNotServed(membership.members, { snapshot: snap, instances, policies, tiers: [groupTier()] });
    assert.deepEqual(out.map((n) => [n.instance, n.reason]), [[`${PROD}/hotels`, 'InvalidPolicy'], [`${PROD}/outside`, 'OutsideRouteClaims']]);
    assert.match(out[0]!.message, /^the gateway answers 503 on this route until the config of Policy "broken" is fixed/);
    assert.deepEqual(notServedStatus(out), [{ instance: `${PROD}/hotels`, reason: 'InvalidPolicy' }, { instance: `${PROD}/outside`, reason: 'OutsideRouteClaims' }]);
    const c = desiredServedCondition(membership.members.length, out);
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'MemberNotServed');
    assert.match(
      c.message!,
      /^2 of 3 members not served, so left out of every grant of the group until fixed \(see each ApiInstance's Ready condition\): "max-airlines-prod\/hotels" \(InvalidPolicy: the gateway answers 503 on this route until the config of Policy "broken" is fixed.*\); "max-airlines-prod\/outside" \(OutsideRouteClaims: the gateway does not serve this route: /,
    );
    // The same members the gateway-config writer leaves out of the served set, so out of the group's grants.
    const served = servedRoutes('default', { instances, policies, tiers: [groupTier()], snapshot: snap }, { warn: () => {} });
    for (const n of out) assert.equal(served.ids.has(n.instance), false, n.instance);
    assert.ok(served.ids.has(`${PROD}/flights`));
  });

  test('a member that loses its route to an older instance is RouteConflict, named with who holds it', () => {
    const all = [...instances, older];
    const out = membersNotServed([hotels], { snapshot: story({ apiInstances: all }), instances: all, policies: [apiKey('hotels')], tiers: [] });
    assert.deepEqual(out.map((n) => n.reason), ['RouteConflict']);
    assert.match(out[0]!.message, /ApiInstance "max-airlines-prod\/squatter" is older and already claims/);
  });

  test('status.notServed and the message stay bounded (32 items, 4096 characters)', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ instance: `${PROD}/m-${i}`, reason: 'InvalidPolicy', message: 'x'.repeat(300) }));
    assert.equal(notServedStatus(many).length, 32);
    assert.ok(desiredServedCondition(40, many).message!.length <= 4096);
  });
});
