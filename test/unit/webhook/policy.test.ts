// Admission of Policies: the config of each type checked against its schema,
// answered with every bad field's JSON pointer; selectors well-formed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { review } from '../../../webhook/rules/index.ts';
import { pointerToField, policyRules } from '../../../webhook/rules/policy.ts';
import type { KubeObject, Verdict } from '../../../webhook/admission.ts';
import { API_VERSION, request, story } from './fixtures.ts';

const ALLOWED: Verdict = { allowed: true };
const denied = (message: string, field: string): Verdict => ({ allowed: false, message, field });

function policy(spec: Record<string, unknown>, name = 'p'): KubeObject {
  return { apiVersion: API_VERSION, kind: 'Policy', metadata: { name, namespace: 'max-airlines-prod' }, spec: { targetRef: { name: 'flights' }, ...spec } };
}

describe('Policy admission', () => {
  const s = story();
  const check = (spec: Record<string, unknown>) => policyRules(request('CREATE', policy(spec)), s);

  test('a valid config of every type is allowed, through the whole chain', () => {
    const valid: Record<string, unknown>[] = [
      { type: 'api-key', config: { header: 'x-api-key' } },
      { type: 'api-key' },
      { type: 'rate-limit', config: { limits: [{ requests: 100, period: 'minute' }], per: 'client' } },
      { type: 'spike-control', config: { maxRequests: 10, windowMs: 1000 } },
      { type: 'ip-allowlist', config: { cidrs: ['10.0.0.0/8', '2001:db8::/32'] } },
      { type: 'ip-blocklist', config: { cidrs: ['192.0.2.1'] } },
      { type: 'cors', config: { allowOrigins: ['https://app.mule-united.example'], maxAgeSeconds: 600 } },
      { type: 'header-injection', config: { request: { set: { 'x-env': 'prod' } }, response: { remove: ['server'] } } },
      { type: 'jwt-validation', config: { jwksUrl: 'https://id.example.com/.well-known/jwks.json', audiences: ['flights'] } },
    ];
    for (const spec of valid) {
      assert.deepEqual(check(spec), ALLOWED, JSON.stringify(spec));
      assert.deepEqual(review(request('CREATE', policy(spec)), s), ALLOWED, JSON.stringify(spec));
    }
  });

  test('a bad field is refused with its JSON pointer and what was expected', () => {
    assert.deepEqual(
      check({ type: 'rate-limit', config: { limits: [{ requests: 0, period: 'minute' }] } }),
      denied('spec.config is invalid: /spec/config/limits/0/requests: must be >= 1', 'spec.config.limits[0].requests'),
    );
  });

  test('every bad field is named at once', () => {
    assert.deepEqual(
      check({ type: 'spike-control', config: { maxRequests: 'ten', windowMs: 5, burst: 1 } }),
      denied(
        'spec.config is invalid: /spec/config/burst: is not a known field; /spec/config/maxRequests: must be integer; /spec/config/windowMs: must be >= 100',
        'spec.config.burst',
      ),
    );
  });

  test('missing required fields and an absent config are named', () => {
    assert.deepEqual(check({ type: 'rate-limit' }), denied('spec.config is invalid: /spec/config/limits: is required', 'spec.config.limits'));
    assert.deepEqual(
      check({ type: 'jwt-validation', config: { jwksUrl: 'ftp://id.example.com/jwks' } }),
      denied('spec.config is invalid: /spec/config/jwksUrl: must match pattern "^https?://"', 'spec.config.jwksUrl'),
    );
    assert.deepEqual(
      check({ type: 'ip-allowlist', config: { cidrs: ['10.0.0.0/33'] } }),
      denied('spec.config is invalid: /spec/config/cidrs/0: must match format "cidr"', 'spec.config.cidrs[0]'),
    );
    assert.deepEqual(check({ type: 'header-injection', config: {} }), denied('spec.config is invalid: /spec/config: must NOT have fewer than 1 properties', 'spec.config'));
  });

  test('a header-injection policy that forges the identity header or erases the forwarding chain is refused, naming the header', () => {
    assert.deepEqual(
      check({ type: 'header-injection', config: { request: { set: { 'X-Crossgate-Client': 'victim/app' }, remove: ['x-forwarded-for'] } } }),
      denied(
        'spec.config is invalid: /spec/config/request/set/X-Crossgate-Client: header "X-Crossgate-Client" is reserved: the gateway sets it; /spec/config/request/remove/0: header "x-forwarded-for" is reserved: the gateway sets the forwarding headers',
        'spec.config.request.set.X-Crossgate-Client',
      ),
    );
    assert.deepEqual(
      check({ type: 'header-injection', config: { response: { set: { 'x-note': 'a\r\nset-cookie: s=1' } } } }),
      denied('spec.config is invalid: /spec/config/response/set/x-note: header "x-note" has U+000D at position 1 of its value: use visible ASCII, space and tab only', 'spec.config.response.set.x-note'),
    );
  });

  test('the config of another type is refused for what it is', () => {
    assert.deepEqual(
      check({ type: 'cors', config: { limits: [{ requests: 1, period: 'second' }] } }),
      denied('spec.config is invalid: /spec/config/allowOrigins: is required; /spec/config/limits: is not a known field', 'spec.config.allowOrigins'),
    );
  });

  test('an unknown type is refused, listing the types', () => {
    assert.deepEqual(
      check({ type: 'oauth', config: {} }),
      denied(
        'spec.type "oauth" is not a policy type: use one of "api-key", "client-id-enforcement", "rate-limit", "spike-control", "ip-allowlist", "ip-blocklist", "cors", "header-injection", "jwt-validation".',
        'spec.type',
      ),
    );
  });

  test('a malformed selector of an automated policy is refused', () => {
    const spec = { type: 'cors', config: { allowOrigins: ['*'] }, selector: { matchExpressions: [{ key: 'exposure', operator: 'In', values: [] }] } };
    assert.deepEqual(
      policyRules(request('CREATE', { ...policy({}), spec }), s),
      denied('spec.selector is invalid: /spec/selector/matchExpressions/0/values: must have at least one value for operator In', 'spec.selector.matchExpressions[0].values'),
    );
    const ok = { ...spec, selector: { matchLabels: { exposure: 'public' }, matchExpressions: [{ key: 'team', operator: 'Exists' }] } };
    assert.deepEqual(review(request('CREATE', { ...policy({}), spec: ok }), s), ALLOWED);
  });

  test('the config is checked on update as well', () => {
    const before = policy({ type: 'rate-limit', config: { limits: [{ requests: 10, period: 'second' }] } });
    const after = policy({ type: 'rate-limit', config: { limits: [{ requests: 10, period: 'fortnight' }] } });
    const v = review(request('UPDATE', after, before), s);
    assert.equal(v.allowed, false);
    assert.equal(!v.allowed && v.message, 'spec.config is invalid: /spec/config/limits/0/period: must be one of: "second", "minute", "hour", "day"');
  });

  test('JSON pointers become the field paths the other rules use', () => {
    assert.equal(pointerToField('/spec/config/limits/0/requests'), 'spec.config.limits[0].requests');
    assert.equal(pointerToField('/spec/config/request/set/a~1b'), 'spec.config.request.set.a/b');
    assert.equal(pointerToField('/spec/config'), 'spec.config');
  });
});
