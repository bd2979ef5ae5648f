// Admission of outbound URLs: an ApiInstance's upstream.url, a jwt-validation
// Policy's jwksUrl and an Alert's notify.url are judged by model/upstream.ts,
// through the whole rule chain, with the field named.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { review } from '../../../webhook/rules/index.ts';
import type { KubeObject, Verdict } from '../../../webhook/admission.ts';
import { API_VERSION, apiInstance, request, story } from './fixtures.ts';
import { platformSettingsFromEnv } from '../../../api/platform.ts';

const NS = 'max-airlines-prod';

/** The refusal, with its message and field (fails the test when the verdict allows). */
function refusal(v: Verdict): { message: string; field?: string } {
  assert.equal(v.allowed, false, 'expected a refusal');
  return v as unknown as { message: string; field?: string };
}

describe('outbound URLs at admission', () => {
  const s = story();

  test('an ApiInstance whose upstream.url is loopback is refused, naming the instance and the field', () => {
    const i = apiInstance(NS, 'escape');
    const obj = { ...i, spec: { ...i.spec, upstream: { url: 'http://127.0.0.1:9090' } } } as unknown as KubeObject;
    const v = refusal(review(request('CREATE', obj), s));
        assert.equal(v.field, 'spec.upstream.url');
    assert.match(v.message, /^ApiInstance "escape": spec\.upstream\.url names host "127\.0\.0\.1", a loopback address/);
    assert.equal(review(request('CREATE', apiInstance(NS, 'ok') as unknown as KubeObject), s).allowed, true);
  });

  test('an ApiInstance naming another organization\'s Service is refused', () => {
    const i = apiInstance(NS, 'peek');
    const obj = { ...i, spec: { ...i.spec, upstream: { url: 'http://rail.mule-united-prod.svc.cluster.local:8080' } } } as unknown as KubeObject;
    const v = refusal(review(request('UPDATE', obj, obj), s));
    assert.match(v.message, /^ApiInstance "peek": spec\.upstream\.url names Service "rail" in namespace "mule-united-prod", which is not a namespace of Organization "max-airlines"/);
  });

  test('a jwt-validation Policy whose jwksUrl is plain http or link-local is refused', () => {
    const policy = (jwksUrl: string): KubeObject => ({
      apiVersion: API_VERSION,
      kind: 'Policy',
      metadata: { name: 'jwt', namespace: NS },
      spec: { type: 'jwt-validation', targetRef: { name: 'flights' }, config: { jwksUrl } },
    });
    assert.deepEqual(review(request('CREATE', policy('https://id.example.com/jwks')), s), { allowed: true });
    const http = refusal(review(request('CREATE', policy('http://id.example.com/jwks')), s));
    assert.equal(http.field, 'spec.config.jwksUrl');
    assert.match(http.message, /^spec\.config\.jwksUrl must use https/);
    assert.match(refusal(review(request('CREATE', policy('https://169.254.169.254/jwks')), s)).message, /^spec\.config\.jwksUrl names host "169\.254\.169\.254", a link-local address/);
  });

  test('an Alert whose notify.url is not allowed is refused', () => {
    const alert = (url: string): KubeObject => ({
      apiVersion: API_VERSION,
      kind: 'Alert',
      metadata: { name: 'errors', namespace: NS },
      spec: { apiInstanceRef: { name: 'flights' }, severity: 'warning', condition: { type: 'request-count', threshold: 10, periodSeconds: 60 }, notify: { url } },
    });
    const v = refusal(review(request('CREATE', alert('http://[::ffff:127.0.0.1]:9093/api/v2/alerts')), s));
        assert.equal(v.field, 'spec.notify.url');
    assert.match(v.message, /^Alert "errors": spec\.notify\.url names host "::ffff:7f00:1", a loopback address/);
    assert.match(refusal(review(request('CREATE', alert('https://hooks.example.net/x')), s)).message, /^Alert "errors": spec\.notify\.url names host "hooks\.example\.net", which Organization "max-airlines" does not allow/);
    assert.deepEqual(review(request('CREATE', alert('http://am.max-airlines-prod.svc:9093/api/v2/alerts')), s), { allowed: true });
  });

  test("an address of the cluster's own networks is refused in upstream.url, jwksUrl and notify.url; own Services still pass", () => {
    const c = story({ platform: platformSettingsFromEnv({ CROSSGATE_CLUSTER_CIDRS: '10.244.0.0/16,10.96.0.0/12' }) });
    const i = apiInstance(NS, 'pods');
    const inst = { ...i, spec: { ...i.spec, upstream: { url: 'http://10.244.7.12:8080' } } } as unknown as KubeObject;
    const v = refusal(review(request('CREATE', inst), c));
    assert.equal(v.field, 'spec.upstream.url');
    assert.equal(
      v.message,
      'ApiInstance "pods": spec.upstream.url names host "10.244.7.12", an address inside the cluster\'s own network 10.244.0.0/16 (pods and Services, CROSSGATE_CLUSTER_CIDRS): ' +
        "an address there may be any organization's workload, so in-cluster targets are named by Service only. Use a Service of this namespace (spec.upstream.backendRef).",
    );
    const policy: KubeObject = { apiVersion: API_VERSION, kind: 'Policy', metadata: { name: 'jwt', namespace: NS }, spec: { type: 'jwt-validation', targetRef: { name: 'flights' }, config: { jwksUrl: 'https://10.96.0.42/jwks' } } };
    assert.match(refusal(review(request('CREATE', policy), c)).message, /^spec\.config\.jwksUrl names host "10\.96\.0\.42", an address inside the cluster's own network 10\.96\.0\.0\/12/);
    const alert: KubeObject = {
      apiVersion: API_VERSION,
      kind: 'Alert',
      metadata: { name: 'errors', namespace: NS },
      spec: { apiInstanceRef: { name: 'flights' }, severity: 'warning', condition: { type: 'request-count', threshold: 10, periodSeconds: 60 }, notify: { url: 'http://10.96.0.93:9093/api/v2/alerts' } },
    };
    assert.match(refusal(review(request('CREATE', alert), c)).message, /^Alert "errors": spec\.notify\.url names host "10\.96\.0\.93", an address inside the cluster's own network 10\.96\.0\.0\/12/);
    const backend = { ...i, spec: { ...i.spec, upstream: { backendRef: { name: 'flights', port: 8080 } } } } as unknown as KubeObject;
    assert.deepEqual(review(request('CREATE', backend), c), { allowed: true });
    assert.deepEqual(review(request('CREATE', apiInstance(NS, 'ok') as unknown as KubeObject), c), { allowed: true });
  });
});
