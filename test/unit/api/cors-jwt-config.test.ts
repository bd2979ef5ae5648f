// The CORS and JWT config rules a schema cannot say (issue 14): "*" with
// credentials, the opaque origin "null", and exp required by default. The same
// validatePolicyConfig answers the webhook, the operator's route verdict and
// the gateway's compile, so one refusal here is a refusal everywhere.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validatePolicyConfig } from '../../../api/policies.ts';
import { actualRequestHeaders, compileCors, evaluatePreflight } from '../../../gateway/policies/cors.ts';
import type { CorsPolicyConfig } from '../../../api/policies.ts';

const STAR_WITH_CREDENTIALS =
  'allowCredentials: true cannot be combined with allowOrigins "*": any site could then read responses made with its visitors\' credentials; list the origins that may send credentials, or drop allowCredentials';
const nullMessage = (o: string) =>
  `origin ${JSON.stringify(o)} is never allowed: sandboxed frames, file: pages and redirects all send it, so it names no site; list real origins (scheme://host[:port])`;

describe('cors config', () => {
  test('"*" with allowCredentials: true is refused at /spec/config/allowCredentials', () => {
    assert.deepEqual(validatePolicyConfig('cors', { allowOrigins: ['*'], allowCredentials: true }), [{ path: '/spec/config/allowCredentials', message: STAR_WITH_CREDENTIALS }]);
    assert.deepEqual(validatePolicyConfig('cors', { allowOrigins: ['https://a.test', '*'], allowCredentials: true }), [{ path: '/spec/config/allowCredentials', message: STAR_WITH_CREDENTIALS }]);
  });

  test('"*" without credentials, and listed origins with credentials, are fine', () => {
    assert.deepEqual(validatePolicyConfig('cors', { allowOrigins: ['*'] }), []);
    assert.deepEqual(validatePolicyConfig('cors', { allowOrigins: ['*'], allowCredentials: false }), []);
    assert.deepEqual(validatePolicyConfig('cors', { allowOrigins: ['https://a.test'], allowCredentials: true }), []);
  });

  test('the origin "null" is refused wherever it is listed, in any case', () => {
    assert.deepEqual(validatePolicyConfig('cors', { allowOrigins: ['https://a.test', 'null'] }), [{ path: '/spec/config/allowOrigins/1', message: nullMessage('null') }]);
    assert.deepEqual(validatePolicyConfig('cors', { allowOrigins: ['NULL'], allowCredentials: true }), [{ path: '/spec/config/allowOrigins/0', message: nullMessage('NULL') }]);
  });

  const origin = fc.oneof(
    fc.constantFrom('*', 'null', 'Null', 'https://app.test', 'http://localhost:3000'),
    fc.webUrl({ withQueryParameters: false, withFragments: false }).map((u) => new URL(u).origin),
  );
  const config = fc.record(
    { allowOrigins: fc.array(origin, { minLength: 1, maxLength: 6 }), allowCredentials: fc.option(fc.boolean(), { nil: undefined }) },
    { requiredKeys: ['allowOrigins'] },
  );

  test('property: a config passes only without "*"+credentials and without "null"; what passes never echoes an unlisted origin or "null"', () => {
    fc.assert(
      fc.property(config, fc.oneof(origin, fc.constant('https://evil.test')), (cfg, requestOrigin) => {
        const c = cfg as CorsPolicyConfig;
        const errors = validatePolicyConfig('cors', c);
        const star = c.allowOrigins.includes('*');
        const hasNull = c.allowOrigins.some((o) => o.toLowerCase() === 'null');
        assert.equal(errors.length === 0, !(star && c.allowCredentials === true) && !hasNull, JSON.stringify({ c, errors }));
        // Whether or not it validates (the gateway withholds what does not), the compiled policy never echoes what it should not.
        const compiled = compileCors('ns/p', c);
        const listed = c.allowOrigins.map((o) => o.toLowerCase());
        for (const headers of [actualRequestHeaders(compiled, requestOrigin), (() => { const p = evaluatePreflight(compiled, requestOrigin, 'GET', undefined); return p.ok ? p.headers : undefined; })()]) {
          const allowed = headers?.['access-control-allow-origin'];
          if (allowed === undefined) continue;
          assert.notEqual(allowed.toLowerCase(), 'null');
          if (allowed !== '*') assert.ok(listed.includes(allowed.toLowerCase()), `${allowed} echoed but not listed in ${JSON.stringify(c.allowOrigins)}`);
          if (headers?.['access-control-allow-credentials'] === 'true') assert.notEqual(allowed, '*');
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('jwt-validation config', () => {
  test('requireExpiry is an optional boolean', () => {
    assert.deepEqual(validatePolicyConfig('jwt-validation', { jwksUrl: 'https://idp.test/jwks', requireExpiry: false }), []);
    assert.deepEqual(validatePolicyConfig('jwt-validation', { jwksUrl: 'https://idp.test/jwks', requireExpiry: 'no' }), [{ path: '/spec/config/requireExpiry', message: 'must be boolean' }]);
  });
});
