// The repeated effects of reconcilers (kube/effects.ts): finalizers, deletes
// that tolerate a gone object, condition-change reports.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { KubeHttpError, type RequestOptions } from '../../../kube/kube.ts';
import {
  applyOwned, conditionChanged, deleteIfExists, deleteIfStill, ensureFinalizer, ignoreNotFound, removeFinalizer, reportConditionChange, type Requester,
} from '../../../kube/effects.ts';
import type { Condition } from '../../../kube/conditions.ts';

const SHARES = { group: 'crossgate.dev', version: 'v1alpha1', plural: 'assetshares', kind: 'AssetShare' };
const ORGS = { group: 'crossgate.dev', version: 'v1alpha1', plural: 'organizations', kind: 'Organization', namespaced: false };

/** Records requests; answers each with the next scripted error, if any. */
function fakeHttp(...errors: Array<Error | undefined>) {
  const calls: Array<{ method: string; path: string; opts?: RequestOptions }> = [];
  const http: Requester = {
    request: async <T>(method: string, path: string, opts?: RequestOptions): Promise<T> => {
      calls.push({ method, path, ...(opts ? { opts } : {}) });
      const err = errors.shift();
      if (err) throw err;
      return {} as T;
    },
  };
  return { calls, http };
}
const notFound = () => new KubeHttpError(404, { reason: 'NotFound' } as never, 'DELETE x');
const conflict = () => new KubeHttpError(409, { reason: 'Conflict' } as never, 'PATCH x');

describe('effects', () => {

  test('ignoreNotFound swallows 404 only', () => {
    assert.equal(ignoreNotFound(notFound()), undefined);
    assert.throws(() => ignoreNotFound(conflict()), /HTTP 409/);
  });

  test('deleteIfExists: true when deleted, false when already gone, other errors thrown', async () => {
    const { calls, http } = fakeHttp(undefined, notFound(), conflict());
    assert.equal(await deleteIfExists(http, '/api/v1/namespaces/ns/secrets/k'), true);
    assert.equal(await deleteIfExists(http, '/api/v1/namespaces/ns/secrets/k'), false);
    await assert.rejects(deleteIfExists(http, '/api/v1/namespaces/ns/secrets/k'), /HTTP 409/);
    assert.deepEqual(calls.map((c) => c.method), ['DELETE', 'DELETE', 'DELETE']);
  });

  test('deleteIfStill: a DELETE preconditioned on the uid; gone (404) or made again meanwhile (409) is false, other errors thrown', async () => {
    const forbidden = new KubeHttpError(403, { reason: 'Forbidden' } as never, 'DELETE x');
    const { calls, http } = fakeHttp(undefined, notFound(), conflict(), forbidden);
    const path = '/apis/crossgate.dev/v1alpha1/namespaces/max-prod/contracts/c';
    assert.equal(await deleteIfStill(http, path, 'u1'), true);
    assert.equal(await deleteIfStill(http, path, 'u1'), false);
    assert.equal(await deleteIfStill(http, path, 'u1'), false);
    await assert.rejects(deleteIfStill(http, path, 'u1'), /HTTP 403/);
    assert.deepEqual(calls[0], { method: 'DELETE', path, opts: { body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: 'u1' } } } });
    assert.equal(calls.length, 4);
  });

  test('ensureFinalizer: adds it with the resourceVersion read (merge patch), and sends nothing when present', async () => {
    const { calls, http } = fakeHttp();
    const share = { metadata: { name: 's', namespace: 'mule-united', resourceVersion: '7', finalizers: ['other.io/x'] } };
    assert.equal(await ensureFinalizer(http, SHARES, share, 'crossgate.dev/share'), true);
    assert.deepEqual(calls, [{
      method: 'PATCH',
      path: '/apis/crossgate.dev/v1alpha1/namespaces/mule-united/assetshares/s',
      opts: { contentType: 'application/merge-patch+json', body: { metadata: { resourceVersion: '7', finalizers: ['other.io/x', 'crossgate.dev/share'] } } },
    }]);
    const held = { metadata: { name: 's', namespace: 'mule-united', finalizers: ['crossgate.dev/share'] } };
    assert.equal(await ensureFinalizer(http, SHARES, held, 'crossgate.dev/share'), false);
    assert.equal(calls.length, 1);
  });

  test('ensureFinalizer: a conflict (the object moved on) is thrown for a retry; a nameless object is refused', async () => {
    const { http } = fakeHttp(conflict());
    await assert.rejects(ensureFinalizer(http, ORGS, { metadata: { name: 'o', resourceVersion: '1' } }, 'f'), /HTTP 409/);
    await assert.rejects(ensureFinalizer(http, ORGS, { metadata: {} }, 'f'), /cannot change the finalizers of a Organization without a name/);
  });

  test('removeFinalizer: keeps the others, tolerates a gone object, sends nothing when absent', async () => {
    const { calls, http } = fakeHttp(undefined, notFound());
    const org = { metadata: { name: 'o', resourceVersion: '3', finalizers: ['a', 'crossgate.dev/org', 'b'] } };
    await removeFinalizer(http, ORGS, org, 'crossgate.dev/org');
    assert.deepEqual(calls[0]!.opts!.body, { metadata: { resourceVersion: '3', finalizers: ['a', 'b'] } });
    assert.equal(calls[0]!.path, '/apis/crossgate.dev/v1alpha1/organizations/o');
    await removeFinalizer(http, ORGS, org, 'crossgate.dev/org'); // 404: already gone
    await removeFinalizer(http, ORGS, { metadata: { name: 'o', finalizers: ['a'] } }, 'crossgate.dev/org');
    assert.equal(calls.length, 2);
  });

  test('removeFinalizer: errors other than 404 are thrown', async () => {
    const { http } = fakeHttp(conflict());
    await assert.rejects(removeFinalizer(http, ORGS, { metadata: { name: 'o', finalizers: ['f'] } }, 'f'), /HTTP 409/);
  });

  function recorder() {
    const events: string[] = [];
    const logs: Array<{ fields: object; message: string }> = [];
    return {
      events,
      logs,
      report: {
        events: { normal: (_o: unknown, r: string, m: string) => void events.push(`Normal ${r}: ${m}`), warning: (_o: unknown, r: string, m: string) => void events.push(`Warning ${r}: ${m}`) },
        log: { info: (fields: object, message: string) => void logs.push({ fields, message }) },
      },
    };
  }
  const cond = (status: Condition['status'], reason: string): Condition => ({ type: 'Ready', status, reason, message: reason, lastTransitionTime: '2025-01-01T00:00:00Z' });

  test('conditionChanged: status or reason, not message; a new condition is a change', () => {
    assert.equal(conditionChanged([cond('True', 'Applied')], { type: 'Ready', status: 'True', reason: 'Applied' }), false);
    assert.equal(conditionChanged([cond('True', 'Applied')], { type: 'Ready', status: 'False', reason: 'Applied' }), true);
    assert.equal(conditionChanged([cond('False', 'A')], { type: 'Ready', status: 'False', reason: 'B' }), true);
    assert.equal(conditionChanged(undefined, { type: 'Ready', status: 'True', reason: 'A' }), true);
    assert.equal(conditionChanged([cond('True', 'A')], { type: 'Mutual', status: 'True', reason: 'A' }), true);
  });

  test('reportConditionChange: Normal when True, Warning when not, a log line with fields, nothing when unchanged', () => {
    const r = recorder();
    const obj = { metadata: { name: 'p' } };
    const report = { ...r.report, message: 'policy state changed', fields: { applied: 2 } };
    assert.equal(reportConditionChange(obj, [], { type: 'Ready', status: 'True', reason: 'Applied', message: 'applied to 2' }, report), true);
    assert.equal(reportConditionChange(obj, [cond('True', 'Applied')], { type: 'Ready', status: 'True', reason: 'Applied', message: 'again' }, report), false);
    assert.equal(reportConditionChange(obj, [cond('True', 'Applied')], { type: 'Ready', status: 'False', reason: 'TargetNotFound', message: 'no ApiInstance "x"' }, report), true);
    assert.deepEqual(r.events, ['Normal Applied: applied to 2', 'Warning TargetNotFound: no ApiInstance "x"']);
    assert.deepEqual(r.logs, [
      { fields: { ready: 'True', reason: 'Applied', applied: 2 }, message: 'policy state changed' },
      { fields: { ready: 'False', reason: 'TargetNotFound', applied: 2 }, message: 'policy state changed' },
    ]);
  });

  test('reportConditionChange: quiet conditions raise no Warning; without a message nothing is logged', () => {
    const r = recorder();
    const report = { events: r.report.events, log: r.report.log, quiet: (c: { reason: string }) => c.reason === 'Progressing' };
    reportConditionChange({}, [], { type: 'Ready', status: 'False', reason: 'Progressing', message: 'waiting' }, report);
    reportConditionChange({}, [cond('False', 'Progressing')], { type: 'Ready', status: 'False', reason: 'DomainConflict', message: 'taken' }, report);
    assert.deepEqual(r.events, ['Warning DomainConflict: taken']);
    assert.deepEqual(r.logs, []);
  });

  describe('applyOwned: an apply that never takes over a same-name object made between the read and the write', () => {
    /** Answers each request with the next scripted value, or throws it when it is an Error. */
    function scripted(...answers: unknown[]) {
      const calls: Array<{ method: string; opts?: RequestOptions }> = [];
      const http: Requester = {
        request: async <T>(method: string, _path: string, opts?: RequestOptions): Promise<T> => {
          calls.push({ method, ...(opts ? { opts } : {}) });
          const a = answers.shift();
          if (a instanceof Error) throw a;
          return a as T;
        },
      };
      return { calls, http };
    }
    const path = '/apis/gateway.networking.k8s.io/v1/namespaces/ns/httproutes/r';
    const obj = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r', namespace: 'ns' }, spec: { hostnames: ['a.example'] } };
    const withManagers = (...managers: Array<[string, string?]>) => ({ metadata: { uid: 'u1', managedFields: managers.map(([manager, subresource]) => ({ manager, ...(subresource ? { subresource } : {}) })) } });
    const invalid = () => new KubeHttpError(422, { reason: 'Invalid' } as never, 'PATCH x');

    test('nothing read: applied without force; only its own manager (a status writer aside) means it made the object', async () => {
      const { calls, http } = scripted(withManagers(['m'], ['gateway-controller', 'status']));
      const r = await applyOwned(http, path, obj, 'm', undefined);
      assert.ok('applied' in r);
      assert.deepEqual(calls[0]!.opts!.query, { fieldManager: 'm', force: false });
      assert.equal((calls[0]!.opts!.body as { metadata: { uid?: string } }).metadata.uid, undefined);
    });

    test('nothing read, and the apply conflicts (409): taken, nothing else sent', async () => {
      const { calls, http } = scripted(conflict());
      assert.deepEqual(await applyOwned(http, path, obj, 'm', undefined), { taken: true });
      assert.equal(calls.length, 1);
    });

    test('nothing read, and the applied object shows another manager: every field handed back by an empty apply, taken', async () => {
      const { calls, http } = scripted(withManagers(['m'], ['kubectl-client-side-apply']), {});
      assert.deepEqual(await applyOwned(http, path, obj, 'm', undefined), { taken: true });
      assert.equal(calls.length, 2);
      assert.deepEqual(calls[1]!.opts!.body, { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: 'r', namespace: 'ns' } });
      assert.deepEqual(calls[1]!.opts!.query, { fieldManager: 'm', force: false });
    });

    test('ours read: applied with force and the uid read; refused and another object there now: taken; the same one: the error is thrown', async () => {
      const ok = scripted(withManagers(['m']));
      assert.ok('applied' in (await applyOwned(ok.http, path, obj, 'm', 'u1')));
      assert.deepEqual(ok.calls[0]!.opts!.query, { fieldManager: 'm', force: true });
      assert.equal((ok.calls[0]!.opts!.body as { metadata: { uid?: string } }).metadata.uid, 'u1');
      const replaced = scripted(invalid(), { metadata: { uid: 'u2' } });
      assert.deepEqual(await applyOwned(replaced.http, path, obj, 'm', 'u1'), { taken: true });
      assert.deepEqual(replaced.calls.map((c) => c.method), ['PATCH', 'GET']);
      const same = scripted(invalid(), { metadata: { uid: 'u1' } });
      await assert.rejects(applyOwned(same.http, path, obj, 'm', 'u1'), /HTTP 422/);
      const gone = scripted(invalid(), notFound());
      await assert.rejects(applyOwned(gone.http, path, obj, 'm', 'u1'), /HTTP 422/);
    });
  });
});
