// The status of an SlaTier (its instance, approved contracts) and the tiers of an instance.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiInstance, Contract, SlaTier } from '../../../api/v1alpha1/index.ts';
import { approvedContracts, describeLimits, desiredTierStatus, tiersFor } from '../../../operator/controllers/slatier-desired.ts';
import { tierEnforcement } from '../../../model/tier-enforcement.ts';

const apiKey = { metadata: { name: 'keys' }, spec: { type: 'api-key' as const } };

const inst = (name: string, ns = 'max-prod', deleting = false): ApiInstance =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance', metadata: { name, namespace: ns, ...(deleting ? { deletionTimestamp: new Date() } : {}) }, spec: { assetRef: { name: 'a' }, basePath: '/x', upstream: { url: 'http://x' } } }) as ApiInstance;
const tier = (name: string, instance: string, extra: Partial<SlaTier['spec']> = {}, ns = 'max-prod'): SlaTier =>
  ({
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'SlaTier',
    metadata: { name, namespace: ns },
    spec: { apiInstanceRef: { name: instance }, limits: [{ requests: 1000, period: 'minute' }], approval: 'automatic', ...extra },
  }) as SlaTier;
const contract = (name: string, t: string, instance: string, state: string | undefined, ns = 'max-prod', deleting = false): Contract =>
  ({
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'Contract',
    metadata: { name, namespace: ns, ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    spec: { apiInstanceRef: { name: instance }, tier: t, consumer: { organization: 'mule', namespace: 'mule-prod', kind: 'ApiKey', name }, decision: 'Approved' },
    ...(state ? { status: { state } } : {}),
  }) as Contract;

describe('SlaTier', () => {
  const gold = tier('gold', 'flights');

  test('counts only Approved contracts at this tier of this instance in this namespace', () => {
    const cs = [
      contract('c1', 'gold', 'flights', 'Approved'),
      contract('c2', 'gold', 'flights', 'Approved'),
      contract('c3', 'gold', 'flights', 'Pending'),
      contract('c4', 'gold', 'flights', 'Revoked'),
      contract('c5', 'gold', 'flights', 'Suspended'),
      contract('c6', 'gold', 'flights', undefined),
      contract('c7', 'platinum', 'flights', 'Approved'),
      contract('c8', 'gold', 'hotels', 'Approved'),
      contract('c9', 'gold', 'flights', 'Approved', 'mule-prod'),
      contract('c10', 'gold', 'flights', 'Approved', 'max-prod', true),
    ];
    assert.equal(approvedContracts(gold, cs), 2);
  });

  test('Ready Available with limits, approval and count when the instance exists and an api-key policy applies to it', () => {
    const t = tier('gold', 'flights', { limits: [{ requests: 1000, period: 'minute' }, { requests: 50, period: 'second' }], approval: 'manual' });
    assert.equal(describeLimits(t), '50 per second, 1000 per minute');
    assert.deepEqual(desiredTierStatus(t, [inst('flights')], [contract('c1', 'gold', 'flights', 'Approved')], [apiKey]), {
      contracts: 1,
      ready: { type: 'Ready', status: 'True', reason: 'Available', message: 'tier of ApiInstance "flights": 50 per second, 1000 per minute; manual approval; 1 approved contract' },
    });
  });

  test('InstanceNotFound when the instance is missing, in another namespace, or being deleted', () => {
    const expected = {
      contracts: 0,
      ready: { type: 'Ready', status: 'False', reason: 'InstanceNotFound', message: 'ApiInstance "flights" does not exist in namespace "max-prod"' },
    };
    assert.deepEqual(desiredTierStatus(gold, [], [], []), expected);
    assert.deepEqual(desiredTierStatus(gold, [inst('flights', 'mule-prod')], [], []), expected);
    assert.deepEqual(desiredTierStatus(gold, [inst('flights', 'max-prod', true)], [], []), expected);
  });

  test('attack 8: NotEnforced when no credential policy (api-key, client-id-enforcement) applies to the instance (other policies do not count)', () => {
    const cors = { metadata: { name: 'partner-cors' }, spec: { type: 'cors' as const } };
    assert.deepEqual(desiredTierStatus(gold, [inst('flights')], [contract('c1', 'gold', 'flights', 'Approved')], [cors]), {
      contracts: 1,
      ready: {
        type: 'Ready',
        status: 'False',
        reason: 'NotEnforced',
        message: 'tier of ApiInstance "flights" is not enforced: no api-key or client-id-enforcement Policy applies to the instance, so the gateway serves it without credentials and this tier\'s limits count nothing; apply an api-key or client-id-enforcement Policy to "flights"',
      },
    });
    const clientId = { metadata: { name: 'apps' }, spec: { type: 'client-id-enforcement' as const } };
    assert.equal(desiredTierStatus(gold, [inst('flights')], [contract('c1', 'gold', 'flights', 'Approved')], [cors, clientId]).ready.status, 'True', 'client-id-enforcement enforces tiers too');
  });

  test('the instance\'s TiersEnforced condition: NoTiers, ApiKeyPolicy, ClientIdEnforcementPolicy, NoApiKeyPolicy', () => {
    assert.deepEqual(tierEnforcement('flights', [], 0), { status: 'True', reason: 'NoTiers', message: 'the instance has no SlaTiers: nothing to enforce' });
    assert.deepEqual(tierEnforcement('flights', [apiKey], 2), { status: 'True', reason: 'ApiKeyPolicy', message: '2 SlaTiers enforced per contract through api-key Policy "keys"' });
    assert.deepEqual(tierEnforcement('flights', [{ metadata: { name: 'c' }, spec: { type: 'cors' } }], 1), {
      status: 'False',
      reason: 'NoApiKeyPolicy',
      message: 'ApiInstance "flights" has 1 SlaTier but no api-key or client-id-enforcement Policy applies to it: the gateway serves it without credentials and without tier limits; apply an api-key or client-id-enforcement Policy to it (spec.targetRef naming "flights", or a selector matching it) to enforce the tiers',
    });
    const clientId = { metadata: { name: 'apps' }, spec: { type: 'client-id-enforcement' as const } };
    assert.deepEqual(tierEnforcement('flights', [clientId], 1), { status: 'True', reason: 'ClientIdEnforcementPolicy', message: '1 SlaTier enforced per contract through client-id-enforcement Policy "apps"' });
    assert.equal(tierEnforcement('flights', [clientId, apiKey], 1).reason, 'ApiKeyPolicy', 'api-key named first when both apply');
  });

  test('tiersFor: the tiers of an instance, by name', () => {
    const ts = [tier('platinum', 'flights'), tier('gold', 'flights'), tier('gold', 'hotels'), tier('silver', 'flights', {}, 'mule-prod')];
    assert.deepEqual(tiersFor(inst('flights'), ts).map((t) => `${t.metadata.namespace}/${t.metadata.name}`), ['max-prod/gold', 'max-prod/platinum']);
  });
});
