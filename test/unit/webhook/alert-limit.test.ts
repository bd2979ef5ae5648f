// security-model row 38: at most MAX_NAMESPACE_ALERTS Alerts per namespace are evaluated
// (model/alert-limit.ts): a new one beyond is refused at admission with a message; the operator's side is in
// test/unit/operator/alert-controller.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { review } from '../../../webhook/rules/index.ts';
import type { KubeObject } from '../../../webhook/admission.ts';
import type { Alert } from '../../../api/v1alpha1/index.ts';
import { MAX_NAMESPACE_ALERTS } from '../../../api/v1alpha1/index.ts';
import { alertLimitProblem, countedAlerts, newAlertLimitProblem } from '../../../model/alert-limit.ts';
import { API_VERSION, request, story } from './fixtures.ts';

const NS = 'max-airlines-prod';
const alert = (name: string, created = '2026-01-01T00:00:00Z', namespace = NS): Alert =>
  ({
    apiVersion: API_VERSION,
    kind: 'Alert',
    metadata: { name, namespace, creationTimestamp: created },
    spec: { apiInstanceRef: { name: 'flights' }, severity: 'warning', condition: { type: 'request-count', threshold: 10, periodSeconds: 60 } },
  }) as unknown as Alert;
const flood = (n: number, namespace = NS) => Array.from({ length: n }, (_, i) => alert(`a-${String(i).padStart(3, '0')}`, `2026-01-01T00:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z`, namespace));

describe('Alerts per namespace (model/alert-limit.ts)', () => {
  test('the oldest MAX_NAMESPACE_ALERTS live ones count; a newer one says why it is not evaluated', () => {
    const all = [...flood(MAX_NAMESPACE_ALERTS), alert('late', '2026-01-02T00:00:00Z')];
    const counted = countedAlerts(all);
    assert.equal(counted.size, MAX_NAMESPACE_ALERTS);
    assert.equal(alertLimitProblem(all[0]!, counted), undefined);
    assert.match(alertLimitProblem(alert('late', '2026-01-02T00:00:00Z'), counted)!, new RegExp(`^namespace "${NS}" holds more than ${MAX_NAMESPACE_ALERTS} Alerts and only the ${MAX_NAMESPACE_ALERTS} oldest are evaluated: this one is not`));
    // One of the oldest being deleted makes room.
    const deleting = all.map((a, i) => (i === 0 ? ({ ...a, metadata: { ...a.metadata, deletionTimestamp: '2026-01-03T00:00:00Z' } } as unknown as Alert) : a));
    assert.ok(countedAlerts(deleting).has(`${NS}/late`));
  });

  test('admission: the 101st Alert of a namespace is refused with the message; updates, other namespaces and a replaced name pass', () => {
    const full = story({ alerts: flood(MAX_NAMESPACE_ALERTS) });
    const v = review(request('CREATE', alert('one-more') as unknown as KubeObject), full);
    assert.equal(v.allowed, false);
    assert.equal((v as { field?: string }).field, 'metadata.namespace');
    assert.equal(
      (v as { message: string }).message,
      `Alert "one-more": namespace "${NS}" already holds ${MAX_NAMESPACE_ALERTS} Alerts, the most one namespace may hold (${MAX_NAMESPACE_ALERTS}): each is evaluated every interval by the operator all organizations share. Delete one, or watch several status codes or policy types in one Alert`,
    );
    const existing = alert('a-000') as unknown as KubeObject;
    assert.equal(review(request('UPDATE', existing, existing), full).allowed, true);
    assert.equal(review(request('CREATE', alert('one-more') as unknown as KubeObject), story({ alerts: flood(MAX_NAMESPACE_ALERTS - 1) })).allowed, true);
    assert.equal(newAlertLimitProblem(NS, 'a-000', flood(MAX_NAMESPACE_ALERTS)), undefined, 'its own name is not counted');
    assert.equal(review(request('CREATE', alert('one-more', undefined, 'mule-united-prod') as unknown as KubeObject), full).allowed, true, 'another namespace\'s flood is not this one\'s');
  });
});
