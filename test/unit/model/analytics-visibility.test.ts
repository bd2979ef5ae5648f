// Which clients ApiInstance status may name, when peers can read the instance.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AssetShare, Organization } from '../../../api/v1alpha1/index.ts';
import { snapshotFrom } from '../../../model/snapshot.ts';
import { clientNameable, instanceReaders } from '../../../model/analytics-visibility.ts';

const org = (domain: string): Organization =>
  ({
    metadata: { name: domain, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { domain, displayName: domain, homeNamespace: domain, environments: [{ name: 'prod', namespace: `${domain}-prod`, type: 'production' }] },
  }) as unknown as Organization;
const share = (ns: string, name: string, target: { name: string; namespace?: string }, peers: string[]): AssetShare =>
  ({ metadata: { namespace: ns, name }, spec: { targetRef: { kind: 'ApiInstance', ...target }, peers: peers.map((domain) => ({ domain, access: 'view' })) } }) as unknown as AssetShare;
const inst = { metadata: { namespace: 'max-prod', name: 'flights' } };
const snap = (shares: AssetShare[]) => snapshotFrom({ organizations: [org('max'), org('mule'), org('sky')], assetShares: shares });

describe('analytics visibility', () => {
  test('readers: the peers of the owner\'s shares of this instance; another organization\'s share of it counts for nothing', () => {
    const s = snap([
      share('max', 'flights-api', { name: 'flights', namespace: 'max-prod' }, ['mule']),
      share('max', 'other', { name: 'baggage', namespace: 'max-prod' }, ['sky']),
      // sky "shares" max's instance with itself and a stranger: grants nothing, and must not fold max's figures.
      share('sky', 'hostile', { name: 'flights', namespace: 'max-prod' }, ['sky', 'stranger']),
    ]);
    assert.deepEqual([...instanceReaders(s, inst)], ['mule']);
  });

  test('shared with one peer: its clients and the owner\'s are named', () => {
    const s = snap([share('max', 'flights-api', { name: 'flights', namespace: 'max-prod' }, ['mule'])]);
    const nameable = clientNameable(s, inst, instanceReaders(s, inst));
    assert.equal(nameable('mule-prod/gate-display'), true);
    assert.equal(nameable('max-prod/internal'), true);
    assert.equal(nameable('-'), true);
    assert.equal(nameable('nowhere/key'), false, 'a client of no known organization: mule could read it');
  });

  test('shared with two peers: neither peer\'s clients are named (each would see the other\'s), the owner\'s still are', () => {
    const s = snap([share('max', 'flights-api', { name: 'flights', namespace: 'max-prod' }, ['mule', 'sky'])]);
    const nameable = clientNameable(s, inst, instanceReaders(s, inst));
    assert.equal(nameable('mule-prod/gate-display'), false);
    assert.equal(nameable('sky-prod/app'), false);
    assert.equal(nameable('max-prod/internal'), true);
  });

  test('not shared: every client is named (only the owner reads the status)', () => {
    const s = snap([]);
    assert.equal(clientNameable(s, inst, instanceReaders(s, inst))('nowhere/key'), true);
  });
});
