// One RFC 3339 helper for conditions, annotations and expiries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rfc3339 } from '../../../api/time.ts';
import { rfc3339 as fromConditions } from '../../../kube/conditions.ts';

test('second precision, UTC, as metav1.Time serializes', () => {
  assert.equal(rfc3339(new Date('2025-06-07T08:09:10.999Z')), '2025-06-07T08:09:10Z');
  assert.equal(rfc3339(new Date(0)), '1970-01-01T00:00:00Z');
});

test('kube/conditions re-exports this one rather than holding a copy', () => {
  assert.equal(fromConditions, rfc3339);
});
