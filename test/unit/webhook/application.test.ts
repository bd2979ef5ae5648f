// webhook/rules/application.ts: a cross-organization access entry needs mutual
// trust and a share of that ApiInstance, named in the refusal; an entry
// already admitted stays editable (the operator suspends it when trust goes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applicationRules } from '../../../webhook/rules/application.ts';
import { review } from '../../../webhook/rules/index.ts';
import type { KubeObject } from '../../../webhook/admission.ts';
import { apiInstance, assetShare, orgTrust, request, story } from './fixtures.ts';

const app = (entries: Array<{ name: string; namespace?: string; tier?: string }>, name = 'booking') =>
  ({
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: 'mule-united-prod' },
    spec: { access: entries.map((e) => ({ apiInstanceRef: { name: e.name, ...(e.namespace ? { namespace: e.namespace } : {}) }, tier: e.tier ?? 'gold' })) },
  }) as unknown as KubeObject;
const flights = { name: 'flights', namespace: 'max-airlines-prod' };
const shared = () => [assetShare('max-airlines-home', 'flights-api', [{ domain: 'mule-united' }], { kind: 'ApiInstance', name: 'flights', namespace: 'max-airlines-prod' })];

test('a cross-organization entry without a share is refused, naming the AssetShare it needs and the entry', () => {
  const v = applicationRules(request('CREATE', app([flights])), story());
  assert.equal(v.allowed, false);
  assert.equal(
    v.message,
    'Application "booking" cannot call ApiInstance "flights" of organization "max-airlines": "max-airlines" does not share ApiInstance "flights" (namespace "max-airlines-prod") with "mule-united": it needs an AssetShare of it with peer "mule-united" in namespace "max-airlines-home"',
  );
  assert.equal(v.field, 'spec.access[0].apiInstanceRef');
});

test('a cross-organization entry without mutual trust is refused, naming the OrgTrust that is missing', () => {
  const snap = story({ assetShares: shared(), orgTrusts: [orgTrust('max-airlines-home', 'mule-united')] });
  const v = applicationRules(request('CREATE', app([flights])), snap);
  assert.equal(v.allowed, false);
  assert.match(v.message!, /^Application "booking" cannot call ApiInstance "flights" of organization "max-airlines": "mule-united" does not trust "max-airlines": create OrgTrust "max-airlines" in namespace "mule-united-home"/);
});

test('the second entry is checked too, and named by its index', () => {
  const snap = story({ assetShares: shared(), apiInstances: [apiInstance('max-airlines-prod', 'flights'), apiInstance('max-airlines-prod', 'crew')] });
  const v = applicationRules(request('CREATE', app([flights, { name: 'crew', namespace: 'max-airlines-prod' }])), snap);
  assert.equal(v.allowed, false);
  assert.equal(v.field, 'spec.access[1].apiInstanceRef');
  assert.match(v.message!, /does not share ApiInstance "crew"/);
});

test('shared under mutual trust, or within the organization, is admitted; a missing instance is left to the operator', () => {
  assert.equal(applicationRules(request('CREATE', app([flights])), story({ assetShares: shared() })).allowed, true);
  assert.equal(applicationRules(request('CREATE', app([{ name: 'gates' }])), story()).allowed, true);
  const nowhere = assetShare('max-airlines-home', 'nowhere-api', [{ domain: 'mule-united' }], { kind: 'ApiInstance', name: 'nowhere', namespace: 'max-airlines-prod' });
  assert.equal(applicationRules(request('CREATE', app([{ name: 'nowhere', namespace: 'max-airlines-prod' }])), story({ assetShares: [nowhere] })).allowed, true);
});

test('an entry already admitted stays editable after trust or the share went (the operator suspends it); a new one is refused', () => {
  const before = app([flights]);
  const edited = { ...before, metadata: { ...before.metadata, labels: { team: 'web' } } } as KubeObject;
  assert.equal(applicationRules(request('UPDATE', edited, before), story()).allowed, true);
  const added = app([flights, { name: 'crew', namespace: 'max-airlines-prod' }]);
  const v = applicationRules(request('UPDATE', added, before), story({ apiInstances: [apiInstance('max-airlines-prod', 'flights'), apiInstance('max-airlines-prod', 'crew')] }));
  assert.equal(v.allowed, false);
  assert.equal(v.field, 'spec.access[1].apiInstanceRef');
});

test('the Application kind is reviewed by its rules through review()', () => {
  assert.equal(review(request('CREATE', app([flights])), story()).allowed, false);
});
