// operator/controllers/organization-desired.ts findConflicts and model/ownership.ts ownerOfNamespace: a reserved
// namespace (the system's, crossgate's own) is no Organization's even when a spec names it (the webhook skipped):
// the operator neither labels nor binds it, and no rule takes it for the organization's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Organization } from '../../../api/v1alpha1/index.ts';
import { findConflicts } from '../../../operator/controllers/organization-desired.ts';
import { ownerOfNamespace } from '../../../model/ownership.ts';
import { snapshotFrom } from '../../../model/snapshot.ts';

const org = (name: string, envNamespace: string): Organization =>
  ({
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'Organization',
    metadata: { name, uid: `uid-${name}`, creationTimestamp: '2026-01-01T00:00:00Z' as unknown as Date },
    spec: { domain: name, displayName: name, homeNamespace: `${name}-home`, environments: [{ name: 'prod', namespace: envNamespace }], adminGroups: [`${name}:admins`] },
  }) as Organization;

test('attacker: an Organization naming a reserved namespace gets a ReservedNamespace conflict for it, and no owner there', () => {
  const rogue = org('rogue', 'crossgate-system');
  const reserved = new Set(['kube-system', 'crossgate-system']);
  assert.deepEqual(findConflicts(rogue, [rogue], reserved), [
    {
      reason: 'ReservedNamespace',
      message: 'namespace "crossgate-system" is reserved for the system or for crossgate itself and cannot belong to an Organization',
      namespaces: ['crossgate-system'],
    },
  ]);
  assert.deepEqual(findConflicts(rogue, [rogue], new Set()), [], 'not reserved: its own');
  const s = snapshotFrom({ organizations: [org('sys', 'kube-system'), rogue], reservedNamespaces: ['crossgate-system'] });
  assert.equal(ownerOfNamespace(s, 'kube-system'), undefined, 'a system namespace is reserved in every snapshot');
  assert.equal(ownerOfNamespace(s, 'crossgate-system'), undefined);
  assert.equal(ownerOfNamespace(s, 'rogue-home')?.organization.metadata.name, 'rogue');
});
