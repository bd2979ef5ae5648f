// An organization names at most MAX_GATEWAYS_PER_ORGANIZATION gateways besides
// "default" (model/gateway-names.ts): each gateway name got a config of its own
// (a Manifest, 16 route shards, 64 credential shards) and a reconcile at every
// watched event of every organization, so naming hundreds filled the gateway
// namespace and held other organizations' revocations behind them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayOverBudget, gatewaysAllowed, gatewaysInUse, MAX_GATEWAYS_PER_ORGANIZATION, newGatewayRefusal } from '../../../model/gateway-names.ts';
import { routeVerdict } from '../../../model/route-verdict.ts';
import { snapshotFrom } from '../../../model/snapshot.ts';
import { apiInstanceRules } from '../../../webhook/rules/apiinstance.ts';
import type { ApiInstance, Organization } from '../../../api/v1alpha1/index.ts';
import type { KubeObject } from '../../../webhook/admission.ts';

const organization = (name: string) =>
  ({
    apiVersion: 'crossgate.dev/v1alpha1', kind: 'Organization',
    metadata: { name, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { domain: name, displayName: name, homeNamespace: `${name}-home`, environments: [{ name: 'prod', namespace: `${name}-prod` }, { name: 'test', namespace: `${name}-test` }], routes: { pathPrefixes: [`/${name}`] } },
  }) as unknown as Organization;
const instance = (ns: string, name: string, gateway: string | undefined, minute: number) =>
  ({
    apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance',
    metadata: { name, namespace: ns, creationTimestamp: `2026-02-01T00:${String(minute).padStart(2, '0')}:00Z` },
    spec: { assetRef: { name: 'a' }, basePath: `/${ns.split('-')[0]}/${name}`, upstream: { backendRef: { name: 'up', port: 80 } }, ...(gateway ? { gateway } : {}) },
  }) as unknown as ApiInstance;

const orgs = [organization('victim'), organization('evil')];
// The attacker spreads six gateway names over its two environments; the victim names two of its own.
const evil = ['g1', 'g2', 'g3', 'g4', 'g5', 'g6'].map((g, i) => instance(i % 2 ? 'evil-test' : 'evil-prod', `e${i}`, g, 10 + i));
const victim = [instance('victim-prod', 'v0', undefined, 1), instance('victim-prod', 'v1', 'edge', 2), instance('victim-prod', 'v2', 'internal', 3)];
const snap = (instances: ApiInstance[]) => snapshotFrom({ organizations: orgs, apiInstances: instances });

test('the first four gateways an organization names (oldest instance first) are its own; a fifth is not served and gets no config', () => {
  assert.equal(MAX_GATEWAYS_PER_ORGANIZATION, 4);
  const s = snap([...victim, ...evil]);
  assert.deepEqual(gatewaysAllowed(evil), ['g1', 'g2', 'g3', 'g4']);
  assert.deepEqual(gatewaysInUse(s, [...victim, ...evil]), ['default', 'edge', 'internal', 'g1', 'g2', 'g3', 'g4']);
  for (const i of victim) assert.equal(routeVerdict({ snapshot: s, instance: i, policies: [] }), undefined, "the victim's routes are served");
  const fifth = routeVerdict({ snapshot: s, instance: evil[4]!, policies: [] });
  assert.deepEqual(fifth, {
    action: 'omit',
    reason: 'TooManyGateways',
    message:
      'the gateway does not serve this route: spec.gateway "g5" would be a 5th gateway of Organization "evil" besides "default" (its ApiInstances already name "g1", "g2", "g3", "g4"; at most 4: each gets a config of its own): name one of those, or "default"',
  });
  assert.ok(gatewayOverBudget(s, evil[5]!));
  // Deleting the oldest frees its slot for the next.
  const later = snap([...victim, ...evil.slice(1)]);
  assert.equal(gatewayOverBudget(later, evil[4]!), undefined);
  assert.ok(gatewayOverBudget(later, evil[5]!));
});

test('admission refuses a fifth gateway with the message; the four, "default" and an update of one of them pass', () => {
  const s = snap([...victim, ...evil.slice(0, 4)]);
  const request = (obj: ApiInstance, operation = 'CREATE') =>
    ({ kind: { group: 'crossgate.dev', version: 'v1alpha1', kind: 'ApiInstance' }, operation, namespace: obj.metadata.namespace, name: obj.metadata.name, object: obj as unknown as KubeObject });
  const v = apiInstanceRules(request(instance('evil-prod', 'e9', 'g9', 30)), s);
  assert.deepEqual(v, {
    allowed: false,
    field: 'spec.gateway',
    message:
      'ApiInstance "e9": spec.gateway "g9" would be a 5th gateway of Organization "evil" besides "default" (its ApiInstances already name "g1", "g2", "g3", "g4"; at most 4: each gets a config of its own): name one of those, or "default".',
  });
  assert.equal(apiInstanceRules(request(instance('evil-prod', 'e9', 'g2', 30)), s).allowed, true);
  assert.equal(apiInstanceRules(request(instance('evil-prod', 'e9', undefined, 30)), s).allowed, true);
  // e3 renamed from g4 to g9: its own old name does not count.
  assert.equal(apiInstanceRules(request(instance('evil-test', 'e3', 'g9', 13), 'UPDATE'), s).allowed, true);
  assert.equal(newGatewayRefusal(s, 'victim-prod', 'v9', 'g9'), undefined, "another organization's budget is its own");
});
