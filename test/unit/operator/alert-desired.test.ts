import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertValue, alertmanagerPayload, mergeStats, type WindowStats } from '../../../operator/controllers/alert-desired.ts';
import type { Alert } from '../../../api/v1alpha1/index.ts';

const stats = (s: Partial<WindowStats>): WindowStats => ({ requests: 0, statusCodes: {}, violations: {}, maxMs: 0, ...s });
const alert = (condition: Alert['spec']['condition']): Alert =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'Alert', metadata: { name: 'errors', namespace: 'prod' }, spec: { apiInstanceRef: { name: 'flights' }, severity: 'critical', condition } }) as Alert;

test('replicas are summed; the slowest response is the max', () => {
  const m = mergeStats([stats({ requests: 3, statusCodes: { '200': 2, '503': 1 }, violations: { 'rate-limit': 1 }, maxMs: 40 }), stats({ requests: 2, statusCodes: { '503': 2 }, maxMs: 90 })]);
  assert.deepEqual(m, { requests: 5, statusCodes: { '200': 2, '503': 3 }, violations: { 'rate-limit': 1 }, maxMs: 90 });
});

test('each condition type reads its value', () => {
  const s = stats({ requests: 10, statusCodes: { '200': 6, '500': 1, '503': 3 }, violations: { 'api-key': 2, 'sla-tier': 4 }, maxMs: 1234 });
  assert.equal(alertValue({ type: 'request-count', threshold: 5, periodSeconds: 60 }, s), 10);
  assert.equal(alertValue({ type: 'response-codes', threshold: 1, periodSeconds: 60, statusCodes: [500, 503] }, s), 4);
  assert.equal(alertValue({ type: 'response-time', threshold: 1000, periodSeconds: 60 }, s), 1234);
  assert.equal(alertValue({ type: 'policy-violations', threshold: 1, periodSeconds: 60 }, s), 6);
  assert.equal(alertValue({ type: 'policy-violations', threshold: 1, periodSeconds: 60, policyTypes: ['api-key'] }, s), 2);
});

test('the Alertmanager payload: labels, annotations, and endsAt only when resolved', () => {
  const a = alert({ type: 'response-codes', threshold: 1, periodSeconds: 60, statusCodes: [503] });
  const [firing] = alertmanagerPayload(a, true, 4, '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z');
  assert.deepEqual(firing!.labels, { alertname: 'errors', namespace: 'prod', apiinstance: 'flights', severity: 'critical', type: 'response-codes', source: 'crossgate' });
  assert.equal(firing!.annotations['summary'], 'prod/flights: responses 503 over 60s above 1');
  assert.equal(firing!.endsAt, undefined);
  const [resolved] = alertmanagerPayload(a, false, 0, '2026-01-01T00:00:00Z', '2026-01-01T00:05:00Z');
  assert.equal(resolved!.endsAt, '2026-01-01T00:05:00Z');
});
