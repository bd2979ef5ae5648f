import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  generateApiKey, generateClientId, generateClientSecret, hashApiKey, isWellFormedApiKey, isWellFormedClientId, isWellFormedClientSecret, keyIdOf,
} from '../../../api/credential-format.ts';
import { validatePolicyConfig } from '../../../api/policies.ts';
import { isCidr } from '../../../api/validation.ts';
import { canonicalJson, checksumOf, shardOf } from '../../../api/gateway/checksum.ts';

test('API keys: prefix, 256 random bits, checksum, unique', () => {
  const keys = new Set(Array.from({ length: 1000 }, generateApiKey));
  assert.equal(keys.size, 1000);
  for (const k of keys) {
    assert.match(k, /^cgk_[A-Za-z0-9_-]{43}_[0-9a-f]{8}$/);
    assert.equal(Buffer.from(k.slice(4, 47), 'base64url').length, 32);
    assert.ok(isWellFormedApiKey(k));
  }
  const k = [...keys][0]!;
  const tampered = k.slice(0, 10) + (k[10] === 'A' ? 'B' : 'A') + k.slice(11);
  assert.equal(isWellFormedApiKey(tampered), false, 'a changed character breaks the checksum');
  assert.equal(isWellFormedApiKey('cgk_short_00000000'), false);
});

test('client secrets: cgs_ prefix, 256 random bits, checksum, unique; never taken for an API key', () => {
  const secrets = new Set(Array.from({ length: 1000 }, generateClientSecret));
  assert.equal(secrets.size, 1000);
  for (const s of secrets) {
    assert.match(s, /^cgs_[A-Za-z0-9_-]{43}_[0-9a-f]{8}$/);
    assert.equal(Buffer.from(s.slice(4, 47), 'base64url').length, 32);
    assert.ok(isWellFormedClientSecret(s));
    assert.equal(isWellFormedApiKey(s), false);
  }
  const s = [...secrets][0]!;
  const tampered = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
  assert.equal(isWellFormedClientSecret(tampered), false, 'a changed character breaks the checksum');
  assert.equal(isWellFormedClientSecret(generateApiKey()), false);
  assert.equal(hashApiKey(s), hashApiKey(s).toLowerCase());
  assert.match(hashApiKey(s), /^[0-9a-f]{64}$/);
});

test('client IDs: cgc_ prefix and 128 random bits, unique', () => {
  const ids = new Set(Array.from({ length: 1000 }, generateClientId));
  assert.equal(ids.size, 1000);
  for (const id of ids) {
    assert.match(id, /^cgc_[A-Za-z0-9_-]{22}$/);
    assert.equal(Buffer.from(id.slice(4), 'base64url').length, 16);
    assert.ok(isWellFormedClientId(id));
  }
  assert.equal(isWellFormedClientId('cgc_short'), false);
});

test('key hash is SHA-256 hex and the key id is its prefix', () => {
  assert.equal(hashApiKey('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(keyIdOf(hashApiKey('abc')), 'ba7816bf8f01');
});

test('policy configs: errors carry the JSON pointer of the bad field and what was expected', () => {
  assert.deepEqual(validatePolicyConfig('rate-limit', { limits: [{ requests: 0, period: 'week' }], extra: 1 }), [
    { path: '/spec/config/extra', message: 'is not a known field' },
    { path: '/spec/config/limits/0/requests', message: 'must be >= 1' },
    { path: '/spec/config/limits/0/period', message: 'must be one of: "second", "minute", "hour", "day"' },
  ]);
  assert.deepEqual(validatePolicyConfig('ip-blocklist', { cidrs: ['10.0.0.0/33'] }), [{ path: '/spec/config/cidrs/0', message: 'must match format "cidr"' }]);
  assert.deepEqual(validatePolicyConfig('cors', {}), [{ path: '/spec/config/allowOrigins', message: 'is required' }]);
  assert.deepEqual(validatePolicyConfig('api-key', undefined), []);
  assert.deepEqual(validatePolicyConfig('header-injection', { request: { set: { 'x-a': 'b' } } }), []);
  assert.deepEqual(validatePolicyConfig('nope', {}), [{ path: '/spec/type', message: 'unknown policy type "nope"' }]);
});

test('CIDR format: IPv4, IPv6, with and without prefix', () => {
  for (const ok of ['10.0.0.0/8', '192.168.1.1', '::1', '2001:db8::/32', '0.0.0.0/0', '::/0']) assert.ok(isCidr(ok), ok);
  for (const bad of ['10.0.0.0/33', '256.0.0.1', '2001:db8::/129', 'abc', '10.0.0.0/', '1.2.3.4/8/9']) assert.ok(!isCidr(bad), bad);
});

test('checksums ignore key order; shards spread by first byte', () => {
  assert.equal(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }), '{"a":[2,{"c":4,"d":3}],"b":1}');
  assert.equal(checksumOf({ a: 1, b: 2 }), checksumOf({ b: 2, a: 1 }));
  assert.equal(shardOf('ff00', 64), 255 % 64);
});
