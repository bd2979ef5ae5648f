// The AdmissionReview round trip through the real HTTPS server on 127.0.0.1.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createWebhookServer, type WebhookServer } from '../../../webhook/server.ts';
import { staticSnapshotSource, type SnapshotSource } from '../../../model/snapshot.ts';
import type { KubeObject } from '../../../webhook/admission.ts';
import { generateCa, issueServingCertificate } from '../../../webhook/certs.ts';
import { assetShare, orgTrust, request, story } from './fixtures.ts';
import { call, serialOf, testPki } from './tls-helpers.ts';

function admissionReview(operation: 'CREATE' | 'UPDATE', object: KubeObject, uid = 'e911857d-c318-11e8-bbad-025000000001') {
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...request(operation, object), uid } });
}

interface Captured {
  level: string;
  obj: object;
  msg?: string;
}
function captureLogger() {
  const lines: Captured[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, ...(msg === undefined ? {} : { msg }) });
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('webhook server', () => {
  let pki: Awaited<ReturnType<typeof testPki>>;
  let server: WebhookServer;
  let port: number;
  let synced = true;
  let snapshot = story();
  const log = captureLogger();
  const source: SnapshotSource = { hasSynced: () => synced, current: () => snapshot };

  before(async () => {
    pki = await testPki();
    server = createWebhookServer({ snapshots: source, host: '127.0.0.1', port: 0, tls: pki.serving, logger: log.logger, bodyLimitBytes: 64 * 1024 });
    port = (await server.listen()).port;
  });
  after(() => server.close());

  test("keep-alive outlives the apiserver's idle connections; headers must arrive within the request's own timeout", () => {
    assert.equal(server.server.keepAliveTimeout, 90_000);
    assert.equal(server.server.requestTimeout, 30_000);
    assert.ok(server.server.headersTimeout <= server.server.requestTimeout, `headersTimeout ${server.server.headersTimeout} > requestTimeout ${server.server.requestTimeout}`);
    const asked = createWebhookServer({ snapshots: source, host: '127.0.0.1', port: 0, tls: pki.serving, headersTimeoutMs: 95_000, requestTimeoutMs: 20_000 });
    assert.equal(asked.server.headersTimeout, 20_000, 'never above requestTimeout');
    assert.equal(createWebhookServer({ snapshots: source, headersTimeoutMs: 5_000 }).server.headersTimeout, 5_000);
  });

  test('an allowed request answers allowed with the request uid', async () => {
    const res = await call(port, pki.ca.cert, { body: admissionReview('CREATE', assetShare('max-airlines-home', 'flights', [{ domain: 'mule-united' }]), 'uid-1') });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'uid-1', allowed: true } });
  });

  test('a refused request carries 403, the message and the field', async () => {
    const res = await call(port, pki.ca.cert, {
      body: admissionReview('CREATE', assetShare('max-airlines-home', 'flights', [{ domain: 'mule-united', access: 'edit' }]), 'uid-2'),
    });
    const message = 'cross-organization grants are view-only: spec.peers[0] (domain "mule-united") asks for "edit" access. Set access to "view" or leave it out.';
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: 'uid-2',
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message, details: { causes: [{ type: 'FieldValueForbidden', field: 'spec.peers[0].access', message }] } },
      },
    });
    assert.ok(log.lines.some((l) => l.msg === 'refused' && (l.obj as { uid?: string }).uid === 'uid-2'));
  });

  test('malformed JSON is refused with an AdmissionReview, not an HTTP error', async () => {
    const res = await call(port, pki.ca.cert, { body: '{"apiVersion": "admission.k8s.io/v1", "kind": "Admissi' });
    assert.equal(res.status, 200);
    assert.equal(res.json.response.allowed, false);
    assert.equal(res.json.response.status.code, 403);
    assert.equal(res.json.response.status.message, 'the request body is not valid JSON; the crossgate webhook refuses what it cannot check (fail closed)');
  });

  test('JSON that is not an AdmissionReview is refused', async () => {
    const res = await call(port, pki.ca.cert, { body: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', request: { uid: 'u' } }) });
    assert.equal(res.json.response.allowed, false);
    assert.equal(res.json.response.uid, 'u');
    assert.equal(
      res.json.response.status.message,
      'expected an admission.k8s.io/v1 AdmissionReview, got "v1" "Pod"; the crossgate webhook refuses what it cannot check (fail closed)',
    );
    const noKind = await call(port, pki.ca.cert, { body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'v', operation: 'CREATE' } }) });
    assert.equal(noKind.json.response.allowed, false);
    assert.match(noKind.json.response.status.message, /has no kind/);
  });

  test('an unknown kind is refused (fail closed)', async () => {
    const gadget = { apiVersion: 'crossgate.dev/v1alpha1', kind: 'Gadget', metadata: { name: 'g', namespace: 'max-airlines-home' }, spec: {} };
    const res = await call(port, pki.ca.cert, { body: admissionReview('CREATE', gadget, 'uid-3') });
    assert.deepEqual(res.json.response, {
      uid: 'uid-3',
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: 'the crossgate webhook has no rules for crossgate.dev/v1alpha1 Gadget; it refuses what it does not know (fail closed)' },
    });
  });

  test('a body over the limit is refused with an AdmissionReview', async () => {
    const big = assetShare('max-airlines-home', 'flights', [{ domain: 'mule-united' }]);
    (big.metadata as { annotations?: Record<string, string> }).annotations = { filler: 'x'.repeat(70 * 1024) };
    const res = await call(port, pki.ca.cert, { body: admissionReview('CREATE', big) });
    assert.equal(res.status, 200);
    assert.equal(res.json.response.allowed, false);
    assert.match(res.json.response.status.message, /larger than the webhook accepts \(65536 bytes\)/);
  });

  test('not synced: requests are refused and /readyz says why', async () => {
    synced = false;
    try {
      const ready = await call(port, pki.ca.cert, { method: 'GET', path: '/readyz' });
      assert.deepEqual([ready.status, ready.body], [503, 'informer caches not synced']);
      const res = await call(port, pki.ca.cert, { body: admissionReview('CREATE', orgTrust('max-airlines-home', 'sky')) });
      assert.equal(res.json.response.allowed, false);
      assert.match(res.json.response.status.message, /has not finished loading organizations and trusts/);
    } finally {
      synced = true;
    }
    const ready = await call(port, pki.ca.cert, { method: 'GET', path: '/readyz' });
    assert.deepEqual([ready.status, ready.body], [200, 'ok']);
    const health = await call(port, pki.ca.cert, { method: 'GET', path: '/healthz' });
    assert.deepEqual([health.status, health.body], [200, 'ok']);
  });

  test('metrics count requests by kind, operation and outcome', async () => {
    const res = await call(port, pki.ca.cert, { method: 'GET', path: '/metrics' });
    assert.equal(res.status, 200);
    assert.match(res.body, /crossgate_webhook_admission_requests_total\{kind="AssetShare",operation="CREATE",allowed="true"\} 1/);
    assert.match(res.body, /crossgate_webhook_admission_requests_total\{kind="AssetShare",operation="CREATE",allowed="false"\} 1/);
    assert.match(res.body, /crossgate_webhook_admission_requests_total\{kind="other",operation="other",allowed="false"\} [1-9]/, 'a review that could not be read counts as "other"');
    assert.doesNotMatch(res.body, /"unknown"/);
    // Both reviews observed (the +Inf bucket: a loaded machine may take longer than any finite bucket).
    assert.match(res.body, /crossgate_webhook_admission_duration_seconds_bucket\{le="\+Inf",kind="AssetShare",operation="CREATE"\} 2/);
    assert.match(res.body, /controller_runtime_webhook_requests_total\{webhook="\/validate",code="200"\} [1-9]/);
    assert.match(res.body, /crossgate_webhook_admission_failures_total\{reason="malformed"\} [1-9]/);
    // The made-up kind Gadget (above) is counted as "other", never under its own name.
    assert.match(res.body, /crossgate_webhook_admission_requests_total\{kind="other",operation="CREATE",allowed="false"\} 1/);
    assert.doesNotMatch(res.body, /Gadget/);
  });
});

describe('webhook server: failures inside the rules', () => {
  test('a rule that throws is refused and logged (fail closed)', async () => {
    const pki = await testPki();
    const log = captureLogger();
    const server = createWebhookServer({
      snapshots: staticSnapshotSource(story()),
      host: '127.0.0.1',
      port: 0,
      tls: pki.serving,
      logger: log.logger,
      review: () => {
        throw new Error('boom');
      },
    });
    try {
      const { port } = await server.listen();
      const res = await call(port, pki.ca.cert, { body: admissionReview('CREATE', orgTrust('max-airlines-home', 'sky'), 'uid-boom') });
      assert.deepEqual(res.json.response, {
        uid: 'uid-boom',
        allowed: false,
        status: {
          code: 403,
          reason: 'Forbidden',
          message: 'internal error while checking OrgTrust "sky"; the crossgate webhook refuses what it cannot check (fail closed). The webhook\'s log has the details.',
        },
      });
      const logged = log.lines.find((l) => l.level === 'error');
      assert.equal(logged?.msg, 'admission rule failed');
      assert.equal((logged?.obj as { err: { message: string } }).err.message, 'boom');
    } finally {
      await server.close();
    }
  });

  test('a refusal is looked at again after recheckDeniedAfterMs, for a cache that lags', async () => {
    const pki = await testPki();
    let current = story({ orgTrusts: [orgTrust('max-airlines-home', 'mule-united')] });
    let evaluations = 0;
    const server = createWebhookServer({
      snapshots: {
        hasSynced: () => true,
        current: () => {
          evaluations++;
          const s = current;
          current = story(); // the peer's OrgTrust arrives in the cache a moment later
          return s;
        },
      },
      host: '127.0.0.1',
      port: 0,
      tls: pki.serving,
      recheckDeniedAfterMs: 20,
    });
    try {
      const { port } = await server.listen();
      const res = await call(port, pki.ca.cert, { body: admissionReview('CREATE', assetShare('max-airlines-home', 'flights', [{ domain: 'mule-united' }])) });
      assert.equal(res.json.response.allowed, true);
      assert.equal(evaluations, 2);
    } finally {
      await server.close();
    }
  });
});

describe('webhook server: certificates', () => {
  test('without a certificate it is not ready; setCertificate makes it serve', async () => {
    const pki = await testPki();
    const server = createWebhookServer({ snapshots: staticSnapshotSource(story()), host: '127.0.0.1', port: 0 });
    try {
      const { port } = await server.listen();
      assert.equal(server.notReadyReason(), 'no serving certificate loaded');
      await assert.rejects(call(port, pki.ca.cert, { method: 'GET', path: '/healthz' }));
      server.setCertificate(pki.serving);
      assert.equal(server.notReadyReason(), undefined);
      assert.equal((await call(port, pki.ca.cert, { method: 'GET', path: '/readyz' })).status, 200);
    } finally {
      await server.close();
    }
  });

  test('hot swap: a connection after rotation sees the new certificate, without a restart', async () => {
    const now = new Date();
    const oldCa = await generateCa(now, 24 * 3600_000, 'old-ca');
    const newCa = await generateCa(now, 24 * 3600_000, 'new-ca');
    const names = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
    const first = await issueServingCertificate(oldCa, names, now, 3600_000);
    const second = await issueServingCertificate(newCa, names, now, 3600_000);
    const server = createWebhookServer({ snapshots: staticSnapshotSource(story()), host: '127.0.0.1', port: 0, tls: first });
    try {
      const { port } = await server.listen();
      const bundle = [newCa.cert, oldCa.cert];
      const before = await call(port, bundle, { method: 'GET', path: '/healthz' });
      assert.equal(before.serial, serialOf(first.cert));
      server.setCertificate(second);
      const afterSwap = await call(port, bundle, { method: 'GET', path: '/healthz' });
      assert.equal(afterSwap.serial, serialOf(second.cert));
      assert.equal(afterSwap.status, 200);
      // A client that trusts only the old CA no longer gets in: the bundle must carry the new CA first.
      await assert.rejects(call(port, oldCa.cert, { method: 'GET', path: '/healthz' }), /self-signed|unable to verify|certificate/i);
    } finally {
      await server.close();
    }
  });
});
