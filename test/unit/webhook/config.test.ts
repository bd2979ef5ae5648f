// Webhook configuration from the environment and flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flagsToEnv, loadWebhookConfig } from '../../../webhook/config.ts';

test('defaults: in-cluster Service, names derived from it', () => {
  const c = loadWebhookConfig({});
  assert.equal(c.namespace, 'crossgate-system');
  assert.equal(c.host, undefined);
  assert.equal(c.port, 9443);
  assert.equal(c.secretNamespace, 'crossgate-system');
  assert.equal(c.secretName, 'crossgate-webhook-tls');
  assert.equal(c.configurationName, 'crossgate-validating-webhook');
  assert.deepEqual(c.clientConfig, { service: { namespace: 'crossgate-system', name: 'crossgate-webhook', port: 443 } });
  assert.deepEqual(c.dnsNames, [
    'crossgate-webhook',
    'crossgate-webhook.crossgate-system',
    'crossgate-webhook.crossgate-system.svc',
    'crossgate-webhook.crossgate-system.svc.cluster.local',
  ]);
  assert.deepEqual(c.ipAddresses, []);
  assert.equal(c.register, false);
  assert.equal(c.recheckDeniedAfterMs, 300);
});

test('local control plane: URL mode takes its certificate names from the URL; flags override the environment', () => {
  const c = loadWebhookConfig({ CROSSGATE_NAMESPACE: 'cg', CROSSGATE_WEBHOOK_ADDR: '0.0.0.0:1' }, [
    '--webhook-addr=127.0.0.1:19443',
    '--webhook-url',
    'https://127.0.0.1:19443/validate',
    '--webhook-register',
  ]);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 19443);
  assert.deepEqual(c.clientConfig, { url: 'https://127.0.0.1:19443/validate' });
  assert.deepEqual(c.dnsNames, ['localhost']);
  assert.deepEqual(c.ipAddresses, ['127.0.0.1']);
  assert.equal(c.register, true);
  assert.equal(c.secretNamespace, 'cg');
  assert.equal(loadWebhookConfig({ CROSSGATE_WEBHOOK_ADDR: '[::1]:8443' }).host, '::1');
});

test('bad values are refused with the variable named', () => {
  assert.throws(() => loadWebhookConfig({ CROSSGATE_WEBHOOK_ADDR: 'nowhere' }), /CROSSGATE_WEBHOOK_ADDR must be \[host\]:port/);
  assert.throws(() => loadWebhookConfig({ CROSSGATE_WEBHOOK_URL: 'http://127.0.0.1/validate' }), /must be https/);
  assert.throws(() => loadWebhookConfig({ CROSSGATE_WEBHOOK_IPS: 'localhost' }), /not an IP address/);
  assert.throws(() => loadWebhookConfig({ CROSSGATE_WEBHOOK_RECHECK_MS: '-1' }), /CROSSGATE_WEBHOOK_RECHECK_MS must be an integer/);
  assert.throws(() => flagsToEnv(['--no-such-flag=1']), /unknown flag --no-such-flag/);
});

test('the flag forms that worked before node:util parseArgs keep working', () => {
  assert.deepEqual(flagsToEnv(['--webhook-url', 'https://h/v', '--webhook-register', '--webhook-addr=127.0.0.1:1']), {
    CROSSGATE_WEBHOOK_URL: 'https://h/v',
    CROSSGATE_WEBHOOK_REGISTER: 'true',
    CROSSGATE_WEBHOOK_ADDR: '127.0.0.1:1',
  });
  assert.deepEqual(flagsToEnv(['--webhook-register=false']), { CROSSGATE_WEBHOOK_REGISTER: 'false' });
  assert.deepEqual(flagsToEnv(['--webhook-register', 'no']), { CROSSGATE_WEBHOOK_REGISTER: 'no' });
  assert.deepEqual(flagsToEnv(['--webhook-dns-names=a=b,c']), { CROSSGATE_WEBHOOK_DNS_NAMES: 'a=b,c' });
  assert.equal(loadWebhookConfig({}, ['--webhook-register=false']).register, false);
  assert.deepEqual(flagsToEnv([]), {});
});

test('anything but a known --flag is refused with what to write instead', () => {
  for (const arg of ['stray', '-r', '--']) {
    assert.throws(() => flagsToEnv([arg]), new RegExp(`unexpected argument "${arg}": flags look like --webhook-addr=127\\.0\\.0\\.1:9443`));
  }
  assert.throws(() => flagsToEnv(['--webhook-addr=1:2', 'stray']), /unexpected argument "stray"/);
  assert.throws(() => flagsToEnv(['--Webhook-Addr=1']), /unknown flag --Webhook-Addr; known: --namespace, --webhook-addr, /);
});
