// The ValidatingWebhookConfiguration: rendered from api/, as an object and as YAML.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import {
  applyWebhookConfiguration, localWebhookUrl, renderValidatingWebhookConfiguration, renderValidatingWebhookConfigurationYaml,
} from '../../../webhook/registration.ts';
import { KINDS } from '../../../api/v1alpha1/index.ts';
import { FakeWebhookConfigurations } from './fakes.ts';

describe('ValidatingWebhookConfiguration', () => {
  test('in-cluster: every crossgate kind, CREATE and UPDATE, fail closed, through the Service', () => {
    const c = renderValidatingWebhookConfiguration({
      operatorNamespace: 'crossgate-system',
      clientConfig: { service: { namespace: 'crossgate-system', name: 'crossgate-webhook' } },
    });
    assert.equal(c.metadata?.name, 'crossgate-validating-webhook');
    assert.equal(c.webhooks?.length, 1);
    const w = c.webhooks![0]!;
    assert.equal(w.name, 'validate.crossgate.dev');
    assert.deepEqual(w.rules, [
      {
        apiGroups: ['crossgate.dev'],
        apiVersions: ['v1alpha1'],
        operations: ['CREATE', 'UPDATE'],
        resources: KINDS.map((k) => k.plural),
        scope: '*',
      },
    ]);
    assert.deepEqual(w.rules![0]!.resources, ['organizations', 'orgtrusts', 'assets', 'assetshares', 'apiinstances', 'apigroups', 'policies', 'slatiers', 'apikeys', 'applications', 'contracts', 'alerts', 'apipromotions']);
    assert.equal(w.failurePolicy, 'Fail');
    assert.equal(w.sideEffects, 'None');
    assert.equal(w.matchPolicy, 'Equivalent');
    assert.equal(w.timeoutSeconds, 5);
    assert.deepEqual(w.admissionReviewVersions, ['v1']);
    assert.deepEqual(w.namespaceSelector, {
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'crossgate-system'] }],
    });
    assert.deepEqual(w.clientConfig, { service: { namespace: 'crossgate-system', name: 'crossgate-webhook', port: 443, path: '/validate' } });
  });

  test('local control plane: a URL on 127.0.0.1, and a caBundle when given', () => {
    assert.equal(localWebhookUrl(9443), 'https://127.0.0.1:9443/validate');
    assert.equal(localWebhookUrl(9443, '::1'), 'https://[::1]:9443/validate');
    const c = renderValidatingWebhookConfiguration({
      name: 'crossgate-e2e',
      operatorNamespace: 'crossgate-e2e-system',
      clientConfig: { url: localWebhookUrl(19443) },
      caBundle: 'PEM',
      timeoutSeconds: 3,
    });
    assert.equal(c.metadata?.name, 'crossgate-e2e');
    assert.deepEqual(c.webhooks![0]!.clientConfig, { url: 'https://127.0.0.1:19443/validate', caBundle: Buffer.from('PEM').toString('base64') });
    assert.equal(c.webhooks![0]!.timeoutSeconds, 3);
  });

  test('YAML for the chart parses back to the same object', () => {
    const opts = { operatorNamespace: 'crossgate-system', clientConfig: { service: { namespace: 'crossgate-system', name: 'crossgate-webhook' } } };
    const yaml = renderValidatingWebhookConfigurationYaml(opts);
    assert.match(yaml, /^apiVersion: admissionregistration\.k8s\.io\/v1\nkind: ValidatingWebhookConfiguration\n/);
    assert.deepEqual(parse(yaml), renderValidatingWebhookConfiguration(opts));
  });

  test('apply creates, then updates without losing the injected caBundle', async () => {
    const client = new FakeWebhookConfigurations();
    const desired = renderValidatingWebhookConfiguration({ operatorNamespace: 'crossgate-system', clientConfig: { url: localWebhookUrl(9443) } });
    assert.equal(await applyWebhookConfiguration(client, desired), 'created');
    assert.equal(await applyWebhookConfiguration(client, desired), 'unchanged');
    const stored = (await client.read('crossgate-validating-webhook'))!;
    stored.webhooks![0]!.clientConfig.caBundle = 'SU5KRUNURUQ=';
    await client.replace(stored);
    const moved = renderValidatingWebhookConfiguration({ operatorNamespace: 'crossgate-system', clientConfig: { url: localWebhookUrl(9555) } });
    assert.equal(await applyWebhookConfiguration(client, moved), 'updated');
    const after = (await client.read('crossgate-validating-webhook'))!;
    assert.deepEqual(after.webhooks![0]!.clientConfig, { url: 'https://127.0.0.1:9555/validate', caBundle: 'SU5KRUNURUQ=' });
  });
});
