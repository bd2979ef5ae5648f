import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applicationContractName, keyContractName } from '../../../model/contract-name.ts';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
const objectName = fc.array(label, { minLength: 1, maxLength: 6 }).map((ls) => ls.join('.').slice(0, 253).replace(/[.-]+$/, '')).filter((n) => n.length > 0 && SUBDOMAIN.test(n));

test('contract names are readable: consumer namespace, the kind, the consumer', () => {
  assert.equal(keyContractName('mule-united-prod', 'ops-dashboard'), 'mule-united-prod.key.ops-dashboard');
  assert.match(applicationContractName('mule-united-prod', 'booking', 'flights'), /^mule-united-prod\.app\.booking\.[0-9a-f]{8}$/);
});

test('an ApiKey and an Application of the same name never share a Contract', () => {
  fc.assert(
    fc.property(label, objectName, objectName, objectName, (ns, key, app, instance) => {
      assert.notEqual(keyContractName(ns, key), applicationContractName(ns, app, instance));
    }),
  );
});

test('contract names are valid object names, also for the longest inputs', () => {
  fc.assert(
    fc.property(label, objectName, objectName, (ns, name, instance) => {
      for (const n of [keyContractName(ns, name), applicationContractName(ns, name, instance)]) {
        assert.ok(n.length <= 253, n);
        assert.match(n, SUBDOMAIN);
      }
    }),
  );
  const long = 'a'.repeat(250);
  assert.ok(keyContractName('n'.repeat(63), long).length <= 253);
  assert.notEqual(keyContractName('ns', `${long}x`), keyContractName('ns', `${long}y`));
  assert.notEqual(applicationContractName('ns', `${long}x`, 'i'), applicationContractName('ns', `${long}y`, 'i'));
});

test('one Application has one Contract per instance, and two applications never share one', () => {
  fc.assert(
    fc.property(label, objectName, objectName, objectName, objectName, (ns, a, b, i, j) => {
      fc.pre(a !== b || i !== j);
      assert.notEqual(applicationContractName(ns, a, i), applicationContractName(ns, b, j));
    }),
  );
});
