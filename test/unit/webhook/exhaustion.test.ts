// Issue 14, weakness 5: anyone who reaches the webhook's port must not be able
// to grow its metric series or hold it busy for the apiserver.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import fc from 'fast-check';
import { createWebhookServer, metricLabels } from '../../../webhook/server.ts';
import { staticSnapshotSource } from '../../../model/snapshot.ts';
import { deny } from '../../../webhook/admission.ts';
import { KINDS } from '../../../api/v1alpha1/index.ts';
import { orgTrust, request, story } from './fixtures.ts';
import { call, testPki } from './tls-helpers.ts';

const review = (kind: { group: string; version: string; kind: string }, operation: string, uid: string) =>
  JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...request('CREATE', orgTrust('max-airlines-home', 'sky')), uid, kind, operation } });

describe('metric labels', () => {
  test('crossgate kinds and admission operations keep their names', () => {
    for (const def of KINDS) assert.deepEqual(metricLabels({ kind: { group: 'crossgate.dev', version: 'v1alpha1', kind: def.kind }, operation: 'UPDATE' }), { kind: def.kind, operation: 'UPDATE' });
  });

  test('anything else is "other": unknown kinds, a known kind in another group, unknown operations', () => {
    assert.deepEqual(metricLabels({ kind: { group: 'crossgate.dev', version: 'v1alpha1', kind: 'Gadget' }, operation: 'CREATE' }), { kind: 'other', operation: 'CREATE' });
    assert.deepEqual(metricLabels({ kind: { group: 'evil.test', version: 'v1', kind: 'Organization' }, operation: 'PATCH' }), { kind: 'other', operation: 'other' });
  });

  test('property: labels always come from a fixed, small set', () => {
    const allowedKinds = new Set([...KINDS.map((k) => k.kind), 'other']);
    const allowedOps = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT', 'other']);
    fc.assert(
      fc.property(fc.record({ group: fc.oneof(fc.constant('crossgate.dev'), fc.string()), version: fc.string(), kind: fc.oneof(fc.constantFrom(...KINDS.map((k) => k.kind)), fc.string()) }), fc.oneof(fc.constantFrom('CREATE', 'DELETE'), fc.string()), (kind, operation) => {
        const l = metricLabels({ kind, operation });
        assert.ok(allowedKinds.has(l.kind), l.kind);
        assert.ok(allowedOps.has(l.operation), l.operation);
      }),
    );
  });

  test('three hundred reviews with random kinds add no series to /metrics', async () => {
    const pki = await testPki();
    const server = createWebhookServer({ snapshots: staticSnapshotSource(story()), host: '127.0.0.1', port: 0, tls: pki.serving });
    try {
      const { port } = await server.listen();
      const series = async () => (await call(port, pki.ca.cert, { method: 'GET', path: '/metrics' })).body.split('\n').filter((l) => l && !l.startsWith('#')).length;
      await call(port, pki.ca.cert, { body: review({ group: 'crossgate.dev', version: 'v1alpha1', kind: 'random-0' }, 'OP-0', 'u-0') });
      const first = await series();
      for (let i = 1; i < 300; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => call(port, pki.ca.cert, { body: review({ group: 'crossgate.dev', version: 'v1alpha1', kind: `random-${i + j}` }, `OP-${i + j}`, `u-${i + j}`) })));
      }
      const body = (await call(port, pki.ca.cert, { method: 'GET', path: '/metrics' })).body;
      assert.equal(await series(), first);
      assert.match(body, /crossgate_webhook_admission_requests_total\{kind="other",operation="other",allowed="false"\} 301/);
      assert.doesNotMatch(body, /random-/);
    } finally {
      await server.close();
    }
  });
});

/** Writes `count` pipelined reviews on one TLS connection and collects the JSON answers until the server closes it. */
function pipeline(port: number, ca: string, count: number): Promise<Array<{ uid: string; allowed: boolean; message: string }>> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      let out = '';
      for (let i = 0; i < count; i++) {
        const body = review({ group: 'crossgate.dev', version: 'v1alpha1', kind: 'OrgTrust' }, 'CREATE', `p-${i}`);
        out += `POST /validate HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${i === count - 1 ? 'connection: close\r\n' : ''}\r\n${body}`;
      }
      socket.write(out);
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
    socket.on('close', () => {
      const answers = [...text.matchAll(/\{"apiVersion":"admission\.k8s\.io\/v1".*?\}\}\}|\{"apiVersion":"admission\.k8s\.io\/v1"[^\n]*?"allowed":true\}\}/g)].map((m) => {
        const r = JSON.parse(m[0]).response;
        return { uid: r.uid, allowed: r.allowed, message: r.status?.message ?? '' };
      });
      resolve(answers);
    });
  });
}

describe('per-connection cap', () => {
  test('beyond maxInFlightPerConnection pipelined reviews, the next is refused unread and the connection closed; other connections are served', async () => {
    const pki = await testPki();
    const server = createWebhookServer({
      snapshots: staticSnapshotSource(story()),
      host: '127.0.0.1',
      port: 0,
      tls: pki.serving,
      maxInFlightPerConnection: 3,
      recheckDeniedAfterMs: 300, // keeps each refused review in flight a while
      review: () => deny('slow no'),
    });
    try {
      const { port } = await server.listen();
      const answers = await pipeline(port, pki.ca.cert, 10);
      assert.deepEqual(answers.slice(0, 3).map((a) => [a.uid, a.message]), [['p-0', 'slow no'], ['p-1', 'slow no'], ['p-2', 'slow no']]);
      assert.deepEqual(answers[3], {
        uid: '',
        allowed: false,
        message: 'more than 3 admission reviews in flight on one connection; the crossgate webhook refuses what it cannot check (fail closed). Send one review at a time per connection.',
      });
      // The refusal closes the connection: the reviews queued behind it get no answer (and were never decided).
      assert.equal(answers.length, 4);
      const metrics = (await call(port, pki.ca.cert, { method: 'GET', path: '/metrics' })).body;
      assert.match(metrics, /crossgate_webhook_admission_failures_total\{reason="too_many_in_flight"\} 7/);
      assert.match(metrics, /crossgate_webhook_admission_requests_total\{kind="OrgTrust",operation="CREATE",allowed="false"\} 3/);
      // The refused reviews were never read: they count under the bounded set's "other", like any unreadable review.
      assert.match(metrics, /crossgate_webhook_admission_requests_total\{kind="other",operation="other",allowed="false"\} 7/);
      assert.doesNotMatch(metrics, /kind="unknown"/);
      // One at a time on a connection is never capped.
      const one = await pipeline(port, pki.ca.cert, 1);
      assert.deepEqual(one.map((a) => a.message), ['slow no']);
    } finally {
      await server.close();
    }
  });

  test('a request that takes longer than requestTimeoutMs to arrive is dropped; the default is 30 s (the apiserver never waits longer)', async () => {
    const pki = await testPki();
    const server = createWebhookServer({ snapshots: staticSnapshotSource(story()), host: '127.0.0.1', port: 0, tls: pki.serving });
    assert.equal(server.server.requestTimeout, 30_000);
    assert.ok(server.server.keepAliveTimeout > 30_000, 'idle keep-alive connections are not requests in progress');
  });
});
