// model/route-verdict.ts: the InvalidPolicy check's message, the text a user
// reads on the ApiInstance's Ready condition, for one and for several policies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policiesValid, routeVerdict } from '../../../model/route-verdict.ts';
import { snapshotFrom } from '../../../model/snapshot.ts';
import type { ApiInstance, Policy } from '../../../api/v1alpha1/index.ts';
import { apiInstance, maxAirlines, namespacesOf } from '../webhook/fixtures.ts';

const NS = 'max-airlines-prod';
const policy = (name: string, type: string, config: unknown) => ({ metadata: { name, namespace: NS }, spec: { type, targetRef: { name: 'flights' }, config } }) as unknown as Policy;
const broken = (name: string) => policy(name, 'rate-limit', { limits: [] });
const fine = policy('keys', 'api-key', { header: 'x-api-key' });

test('InvalidPolicy: the route is held closed, naming the policy to fix and where to read why', () => {
  const input = { snapshot: snapshotFrom({}), instance: apiInstance(NS, 'flights') as ApiInstance };
  assert.equal(policiesValid({ ...input, policies: [fine] }), undefined);
  assert.deepEqual(policiesValid({ ...input, policies: [fine, broken('limit')] }), {
    action: 'withhold',
    reason: 'InvalidPolicy',
    message: 'the gateway answers 503 on this route until the config of Policy "limit" is fixed (see its Ready condition)',
  });
  assert.equal(
    policiesValid({ ...input, policies: [broken('limit'), fine, broken('burst')] })?.message,
    'the gateway answers 503 on this route until the configs of Policies "limit", "burst" are fixed (see their Ready condition)',
  );
});

test('InvalidPolicy is what the route verdict says for an instance inside its route space', () => {
  const snapshot = snapshotFrom({ organizations: [maxAirlines], namespaces: namespacesOf(maxAirlines) });
  assert.equal(
    routeVerdict({ snapshot, instance: apiInstance(NS, 'flights') as ApiInstance, policies: [broken('limit')] })?.message,
    'the gateway answers 503 on this route until the config of Policy "limit" is fixed (see its Ready condition)',
  );
});
