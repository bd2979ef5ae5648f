// Certificate management: the pure decisions, the Secret round trip, the
// two-replica race, caBundle injection, and the manager hot-swapping a live server.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import {
  caBundle, CertificateManager, executePlan, injectCaBundle, materialFromSecret, needsRotation, nextRotation, planTls, reconcileTlsSecret,
  rotationDue, secretFromMaterial, splitPem, subjectAltNames, type TlsMaterial,
} from '../../../webhook/certs.ts';
import { renderValidatingWebhookConfiguration } from '../../../webhook/registration.ts';
import { createWebhookServer } from '../../../webhook/server.ts';
import { staticSnapshotSource } from '../../../model/snapshot.ts';
import { FakeSecrets, FakeWebhookConfigurations } from './fakes.ts';
import { call, serialOf } from './tls-helpers.ts';
import { story } from './fixtures.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const names = { dnsNames: ['crossgate-webhook.crossgate-system.svc', 'localhost'], ipAddresses: ['127.0.0.1'] };
const at = (base: Date, ms: number) => new Date(base.getTime() + ms);

async function fresh(now: Date, opts = { caValidityMs: 30 * DAY, servingValidityMs: 3 * DAY }): Promise<TlsMaterial> {
  return executePlan(undefined, planTls(undefined, names, now), names, now, opts);
}

function signedBy(certPem: string, caPem: string): boolean {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

function captureLogs() {
  const lines: string[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push(JSON.stringify({ level, msg, ...obj }));
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('rotation decisions (pure)', () => {
  test('a certificate needs rotation in the last third of its lifetime', () => {
    const v = { notBefore: new Date(0), notAfter: new Date(300) };
    assert.equal(needsRotation(v, new Date(199)), false);
    assert.equal(needsRotation(v, new Date(200)), true);
    assert.equal(needsRotation(v, new Date(400)), true);
    assert.deepEqual(rotationDue(v), new Date(200));
    assert.equal(needsRotation(v, new Date(149), 1 / 2), false);
    assert.equal(needsRotation(v, new Date(150), 1 / 2), true);
  });

  test('nothing yet: create a CA and issue a serving certificate; then nothing to do', async () => {
    const now = new Date();
    assert.deepEqual(planTls(undefined, names, now), {
      ca: 'create',
      serving: 'issue',
      reasons: ['no usable CA (certificate and matching key)', 'a new CA needs a new serving certificate'],
    });
    const m = await fresh(now);
    assert.deepEqual(planTls(m, names, now), { ca: 'keep', serving: 'keep', reasons: [] });
    const cert = new X509Certificate(m.cert);
    assert.deepEqual(subjectAltNames(cert), { dns: names.dnsNames, ips: ['127.0.0.1'] });
    assert.equal(cert.ca, false);
    assert.equal(new X509Certificate(m.caCert).ca, true);
    assert.ok(signedBy(m.cert, m.caCert));
    assert.equal(splitPem(m.caBundle).length, 1);
    assert.equal(nextRotation(m)!.getTime(), rotationDue({ notBefore: cert.validFromDate, notAfter: cert.validToDate }).getTime());
  });

  test('the serving certificate is renewed in its last third, by the same CA', async () => {
    const t0 = new Date();
    const m = await fresh(t0);
    const plan = planTls(m, names, at(t0, 2 * DAY + HOUR));
    assert.equal(plan.ca, 'keep');
    assert.equal(plan.serving, 'issue');
    assert.match(plan.reasons[0]!, /^serving certificate is in the last 33% of its lifetime/);
    const m2 = await executePlan(m, plan, names, at(t0, 2 * DAY + HOUR));
    assert.notEqual(m2.cert, m.cert);
    assert.equal(m2.caCert, m.caCert);
    assert.equal(m2.caBundle, m.caBundle);
    assert.ok(signedBy(m2.cert, m.caCert));
  });

  test('a change of names, a key that does not match, or a foreign issuer means a new serving certificate', async () => {
    const now = new Date();
    const m = await fresh(now);
    assert.deepEqual(planTls(m, { ...names, dnsNames: [...names.dnsNames, 'extra.example'] }, now).reasons, [
      'serving certificate names differ from the configured DNS names and IPs',
    ]);
    assert.deepEqual(planTls(m, { ...names, ipAddresses: [] }, now).serving, 'issue');
    const other = await fresh(now);
    assert.deepEqual(planTls({ ...m, key: other.key }, names, now).reasons, ['serving key does not match the certificate']);
    assert.deepEqual(planTls({ ...m, cert: other.cert, key: other.key }, names, now).reasons, ['serving certificate is not signed by a CA of the bundle']);
  });

  test('CA rotation keeps the old CA in the bundle; the serving certificate moves to the new CA when it renews', async () => {
    const t0 = new Date();
    let m = await fresh(t0);
    const oldCa = m.caCert;
    // Renew the serving certificate at day 19 (3-day lifetime, due at day 21).
    m = await executePlan(m, planTls(m, names, at(t0, 19 * DAY)), names, at(t0, 19 * DAY), { caValidityMs: 30 * DAY, servingValidityMs: 3 * DAY });
    // Day 20.5: the CA (30 days) is in its last third; the serving certificate is not.
    const t1 = at(t0, 20.5 * DAY);
    const plan = planTls(m, names, t1);
    assert.equal(plan.ca, 'rotate');
    assert.equal(plan.serving, 'keep');
    const rotated = await executePlan(m, plan, names, t1, { caValidityMs: 30 * DAY, servingValidityMs: 3 * DAY });
    assert.notEqual(rotated.caCert, oldCa);
    assert.deepEqual(splitPem(rotated.caBundle), [rotated.caCert, oldCa], 'new CA first, old CA kept');
    assert.equal(rotated.cert, m.cert, 'the serving certificate signed by the old CA stays, still trusted through the bundle');
    assert.deepEqual(planTls(rotated, names, t1), { ca: 'keep', serving: 'keep', reasons: [] });
    // Day 21.5: the serving certificate renews, now signed by the new CA.
    const t2 = at(t0, 21.5 * DAY);
    const renewed = await executePlan(rotated, planTls(rotated, names, t2), names, t2, { caValidityMs: 30 * DAY, servingValidityMs: 3 * DAY });
    assert.ok(signedBy(renewed.cert, rotated.caCert));
    assert.equal(splitPem(renewed.caBundle).length, 2);
    // Once the old CA has expired it leaves the bundle.
    assert.deepEqual(splitPem(caBundle(renewed.caCert, renewed.caBundle, at(t0, 31 * DAY))), [renewed.caCert]);
  });

  test('an expired CA is replaced outright', async () => {
    const t0 = new Date();
    const m = await fresh(t0, { caValidityMs: DAY, servingValidityMs: HOUR });
    const plan = planTls(m, names, at(t0, 2 * DAY));
    assert.equal(plan.ca, 'create');
    assert.equal(plan.serving, 'issue');
    const m2 = await executePlan(m, plan, names, at(t0, 2 * DAY));
    assert.deepEqual(splitPem(m2.caBundle), [m2.caCert], 'the expired CA is not carried over');
  });

  test('a serving certificate never outlives its CA', async () => {
    const t0 = new Date();
    const m = await fresh(t0, { caValidityMs: 2 * DAY, servingValidityMs: 90 * DAY });
    assert.ok(new X509Certificate(m.cert).validToDate.getTime() <= new X509Certificate(m.caCert).validToDate.getTime());
  });
});

describe('the Secret', () => {
  test('round trip: type kubernetes.io/tls with tls.crt, tls.key, ca.crt (the bundle) and ca.key', async () => {
    const m = await fresh(new Date());
    const s = secretFromMaterial(m, { namespace: 'crossgate-system', name: 'crossgate-webhook-tls' });
    assert.equal(s.type, 'kubernetes.io/tls');
    assert.deepEqual(Object.keys(s.data!).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    assert.equal(s.metadata!.labels!['app.kubernetes.io/managed-by'], 'crossgate-operator');
    assert.deepEqual(materialFromSecret(s), m);
    assert.equal(planTls(materialFromSecret({ data: {} }), names, new Date()).ca, 'create');
  });

  test('reconcile creates the Secret once and reuses it while valid', async () => {
    const secrets = new FakeSecrets();
    const opts = { namespace: 'crossgate-system', name: 'webhook-tls', ...names };
    const now = new Date();
    const first = await reconcileTlsSecret(secrets, opts, now);
    assert.equal(secrets.writes, 1);
    const again = await reconcileTlsSecret(secrets, opts, at(now, HOUR));
    assert.equal(secrets.writes, 1, 'no write while the material is valid');
    assert.deepEqual(again, first);
    const renewed = await reconcileTlsSecret(secrets, opts, at(now, 61 * DAY));
    assert.equal(secrets.writes, 2);
    assert.notEqual(renewed.cert, first.cert);
    assert.equal(renewed.caCert, first.caCert);
  });

  test('two replicas racing to create the Secret end up with the same material (409 → read again)', async () => {
    const secrets = new FakeSecrets();
    const opts = { namespace: 'crossgate-system', name: 'webhook-tls', ...names };
    // Both read "absent" before either writes.
    let arrived = 0;
    let release!: () => void;
    const bothRead = new Promise<void>((r) => (release = r));
    secrets.beforeWrite = async () => {
      if (++arrived === 2) release();
      await bothRead;
    };
    const now = new Date();
    const [a, b] = await Promise.all([reconcileTlsSecret(secrets, opts, now), reconcileTlsSecret(secrets, opts, now)]);
    secrets.beforeWrite = undefined;
    assert.equal(secrets.writes, 1, 'exactly one create succeeded');
    assert.deepEqual(a, b);
    assert.deepEqual(materialFromSecret(await secrets.read('crossgate-system', 'webhook-tls')), a);
  });

  test('a stale update (409) is retried against the fresh Secret', async () => {
    const secrets = new FakeSecrets();
    const opts = { namespace: 'crossgate-system', name: 'webhook-tls', ...names };
    const now = new Date();
    await reconcileTlsSecret(secrets, opts, now);
    let bumped = false;
    secrets.beforeWrite = async () => {
      if (bumped) return;
      bumped = true;
      // Another writer touches the Secret (e.g. adds a label) between our read and our write.
      const s = secrets.store.get('crossgate-system/webhook-tls')!;
      s.metadata!.resourceVersion = `${s.metadata!.resourceVersion}-other`;
    };
    const renewed = await reconcileTlsSecret(secrets, opts, at(now, 61 * DAY));
    assert.deepEqual(materialFromSecret(await secrets.read('crossgate-system', 'webhook-tls')), renewed);
  });
});

describe('caBundle injection', () => {
  const config = () => renderValidatingWebhookConfiguration({ operatorNamespace: 'crossgate-system', clientConfig: { url: 'https://127.0.0.1:9443/validate' } });

  test('injects when it differs, leaves it alone when it does not, reports a missing configuration', async () => {
    const client = new FakeWebhookConfigurations();
    assert.equal(await injectCaBundle(client, 'crossgate-validating-webhook', 'PEM'), 'missing');
    await client.create(config());
    const m = await fresh(new Date());
    assert.equal(await injectCaBundle(client, 'crossgate-validating-webhook', m.caBundle), 'updated');
    const stored = await client.read('crossgate-validating-webhook');
    assert.equal(Buffer.from(stored!.webhooks![0]!.clientConfig.caBundle!, 'base64').toString(), m.caBundle);
    assert.equal(await injectCaBundle(client, 'crossgate-validating-webhook', m.caBundle), 'unchanged');
    assert.equal(client.writes, 2);
  });

  test('a conflicting write is retried', async () => {
    const client = new FakeWebhookConfigurations();
    await client.create(config());
    client.conflicts = 2;
    assert.equal(await injectCaBundle(client, 'crossgate-validating-webhook', 'BUNDLE'), 'updated');
  });
});

describe('CertificateManager', () => {
  test('loads, injects and rotates without logging key material', async () => {
    const secrets = new FakeSecrets();
    const configs = new FakeWebhookConfigurations();
    await configs.create(renderValidatingWebhookConfiguration({ operatorNamespace: 'crossgate-system', clientConfig: { url: 'https://127.0.0.1:9443/validate' } }));
    let clock = new Date();
    const loaded: TlsMaterial[] = [];
    const logs = captureLogs();
    const manager = new CertificateManager({
      secrets,
      webhookConfigurations: configs,
      webhookConfigurationName: 'crossgate-validating-webhook',
      namespace: 'crossgate-system',
      name: 'webhook-tls',
      ...names,
      logger: logs.logger,
      now: () => clock,
      onCertificate: (m) => loaded.push(m),
    });
    const first = await manager.sync();
    await manager.sync();
    assert.equal(loaded.length, 1, 'loaded once');
    const injected = (await configs.read('crossgate-validating-webhook'))!.webhooks![0]!.clientConfig.caBundle!;
    assert.equal(Buffer.from(injected, 'base64').toString(), first.caBundle);
    clock = at(clock, 61 * DAY);
    const second = await manager.sync();
    assert.equal(loaded.length, 2, 'the renewed certificate is handed to the server');
    assert.notEqual(second.cert, first.cert);
    const all = logs.lines.join('\n');
    assert.ok(!all.includes('PRIVATE KEY'), 'no PEM keys in logs');
    for (const m of [first, second]) {
      for (const pem of [m.key, m.caKey]) {
        const body = pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
        assert.ok(!all.includes(body.slice(0, 40)), 'no key bytes in logs');
        assert.ok(!all.includes(Buffer.from(pem).toString('base64').slice(0, 40)), 'no base64 keys in logs');
      }
    }
    manager.stop();
  });

  test('hot swap through a live server: after rotation a new connection sees the new certificate', async () => {
    const secrets = new FakeSecrets();
    const tlsNames = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
    const server = createWebhookServer({ snapshots: staticSnapshotSource(story()), host: '127.0.0.1', port: 0 });
    // Issue the first certificate "2.5 hours ago" with a 3-hour lifetime: valid now, due for renewal now.
    const now = new Date();
    let clock = at(now, -2.5 * HOUR);
    const manager = new CertificateManager({
      secrets,
      namespace: 'crossgate-system',
      name: 'webhook-tls',
      ...tlsNames,
      caValidityMs: 10 * HOUR,
      servingValidityMs: 3 * HOUR,
      now: () => clock,
      onCertificate: (m) => server.setCertificate(m),
    });
    try {
      const { port } = await server.listen();
      const first = await manager.sync();
      const before = await call(port, first.caBundle, { method: 'GET', path: '/healthz' });
      assert.equal(before.serial, serialOf(first.cert));
      clock = now;
      const second = await manager.sync();
      assert.notEqual(second.cert, first.cert);
      const after = await call(port, second.caBundle, { method: 'GET', path: '/healthz' });
      assert.equal(after.serial, serialOf(second.cert));
      assert.equal(after.status, 200);
    } finally {
      manager.stop();
      await server.close();
    }
  });
});
