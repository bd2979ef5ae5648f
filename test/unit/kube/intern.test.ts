// StringPool: cached objects keep their values, equal short strings are pooled,
// the pool stays bounded (values seen once pass through), recurring values stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StringPool } from '../../../kube/intern.ts';

test('objects keep their values; strings in nested objects and arrays are pooled once', () => {
  const pool = new StringPool(100);
  const a = { apiVersion: 'crossgate.dev/v1alpha1', metadata: { namespace: 'ns', labels: { team: 'a' } }, status: { conditions: [{ type: 'Ready', reason: 'Approved' }], list: ['x', 1, null, true] } };
  const copy = structuredClone(a);
  assert.equal(pool.intern(a), a, 'in place');
  assert.deepEqual(a, copy);
  const size = pool.size;
  pool.intern(structuredClone(copy));
  assert.equal(pool.size, size, 'the second object adds nothing: its strings are in the pool');
  assert.deepEqual(new Set(['crossgate.dev/v1alpha1', 'ns', 'a', 'Ready', 'Approved', 'x']).size, size);
});

test('bounded: values seen once churn through; a value in use stays; long strings are not pooled', () => {
  const pool = new StringPool(10);
  for (let i = 0; i < 1000; i++) {
    pool.intern({ uid: `uid-${i}`, namespace: 'shared' });
    assert.ok(pool.size <= 10);
  }
  assert.ok(pool.has('shared'), 'a value that recurs is still pooled after 1,000 unique values went by');
  assert.ok(!pool.has('uid-0'), 'a value seen once is gone');
  assert.ok(pool.has('uid-999'));
  const long = 'y'.repeat(257);
  pool.string(long);
  assert.ok(!pool.has(long), 'long strings are left alone');
});
