// REST paths and object keys: one builder for collections and objects, so the
// two can never disagree on the group, namespace or escaping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectionPath, joinKey, objectPath, splitKey } from '../../../kube/keys.ts';
import { objectPath as operatorObjectPath, ORGANIZATIONS, APIKEYS } from '../../../operator/resources.ts';

const secrets = { group: '', version: 'v1', plural: 'secrets' };

test('collection and object paths: core and named groups, namespaced and cluster-scoped', () => {
  assert.equal(collectionPath(secrets), '/api/v1/secrets');
  assert.equal(collectionPath(secrets, 'ns'), '/api/v1/namespaces/ns/secrets');
  assert.equal(objectPath(secrets, 'ns', 's1'), '/api/v1/namespaces/ns/secrets/s1');
  assert.equal(objectPath(secrets, 'ns'), collectionPath(secrets, 'ns'));
  assert.equal(objectPath(ORGANIZATIONS, undefined, 'max-airlines'), '/apis/crossgate.dev/v1alpha1/organizations/max-airlines');
  assert.equal(objectPath(APIKEYS, 'mule-united-prod', 'trial-app'), '/apis/crossgate.dev/v1alpha1/namespaces/mule-united-prod/apikeys/trial-app');
});

test('names and namespaces are escaped in the path', () => {
  assert.equal(objectPath(secrets, 'a/b', 'c?d'), '/api/v1/namespaces/a%2Fb/secrets/c%3Fd');
});

test("the operator's objectPath is the runtime's (one builder)", () => {
  assert.equal(operatorObjectPath, objectPath);
});

test('keys read as kubectl names them and split back', () => {
  assert.equal(joinKey('ns', 'n'), 'ns/n');
  assert.equal(joinKey(undefined, 'n'), 'n');
  assert.deepEqual(splitKey('ns/n'), { namespace: 'ns', name: 'n' });
  assert.deepEqual(splitKey('n'), { namespace: undefined, name: 'n' });
});
