// The ValidatingWebhookConfiguration that makes the apiserver call the webhook,
// rendered from api/ (one rule for every crossgate kind) as an object and as
// YAML (for the chart). Pure, apart from applyWebhookConfiguration at the end.
import type { V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { GROUP, KINDS, VERSION } from '../api/v1alpha1/index.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../api/labels.ts';
import { isWriteRace } from '../kube/kube.ts';
import type { WebhookConfigurationClient } from './certs.ts';

export const DEFAULT_CONFIGURATION_NAME = 'crossgate-validating-webhook';
export const DEFAULT_WEBHOOK_NAME = 'validate.crossgate.dev';
export const VALIDATE_PATH = '/validate';

export type ClientConfig =
  /** Outside the cluster, e.g. the local e2e control plane: https://127.0.0.1:PORT/validate. */
  | { url: string }
  /** In the cluster: the webhook's Service. */
  | { service: { namespace: string; name: string; port?: number; path?: string } };

export interface RegistrationOptions {
  /** The operator's namespace: excluded from the webhook together with kube-system. */
  operatorNamespace: string;
  clientConfig: ClientConfig;
  /** metadata.name of the ValidatingWebhookConfiguration. */
  name?: string;
  webhookName?: string;
  /** CA bundle (PEM); usually injected later by the certificate manager. */
  caBundle?: string;
  timeoutSeconds?: number;
  /** Namespaces besides kube-system and the operator's whose objects are not sent to the webhook. */
  extraExcludedNamespaces?: string[];
}

/** The URL of a webhook listening on this machine. */
export function localWebhookUrl(port: number, host = '127.0.0.1'): string {
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}${VALIDATE_PATH}`;
}

export function renderValidatingWebhookConfiguration(opts: RegistrationOptions): V1ValidatingWebhookConfiguration {
  const excluded = [...new Set(['kube-system', opts.operatorNamespace, ...(opts.extraExcludedNamespaces ?? [])])];
  const clientConfig =
    'url' in opts.clientConfig
      ? { url: opts.clientConfig.url }
      : { service: { path: VALIDATE_PATH, port: 443, ...opts.clientConfig.service } };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: {
      name: opts.name ?? DEFAULT_CONFIGURATION_NAME,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, 'app.kubernetes.io/component': 'webhook' },
    },
    webhooks: [
      {
        name: opts.webhookName ?? DEFAULT_WEBHOOK_NAME,
        admissionReviewVersions: ['v1'],
        clientConfig: opts.caBundle ? { ...clientConfig, caBundle: Buffer.from(opts.caBundle, 'utf8').toString('base64') } : clientConfig,
        rules: [
          {
            apiGroups: [GROUP],
            apiVersions: [VERSION],
            operations: ['CREATE', 'UPDATE'],
            resources: KINDS.map((k) => k.plural),
            scope: '*',
          },
        ],
        failurePolicy: 'Fail',
        matchPolicy: 'Equivalent',
        sideEffects: 'None',
        timeoutSeconds: opts.timeoutSeconds ?? 5,
        // Cluster-scoped kinds (Organization) are always sent; the selector only skips namespaced objects.
        namespaceSelector: {
          matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excluded }],
        },
      },
    ],
  };
}

export function renderValidatingWebhookConfigurationYaml(opts: RegistrationOptions): string {
  return stringify(renderValidatingWebhookConfiguration(opts), { lineWidth: 0 });
}

export interface WebhookConfigurationWriter extends WebhookConfigurationClient {
  create(config: V1ValidatingWebhookConfiguration): Promise<V1ValidatingWebhookConfiguration>;
}

/**
 * Creates the configuration, or brings an existing one to the rendered form
 * while keeping the caBundle already injected (the certificate manager owns it).
 */
export async function applyWebhookConfiguration(client: WebhookConfigurationWriter, desired: V1ValidatingWebhookConfiguration): Promise<'created' | 'updated' | 'unchanged'> {
  const name = desired.metadata!.name!;
  for (let attempt = 1; attempt <= 5; attempt++) {
    const found = await client.read(name);
    if (!found) {
      try {
        await client.create(desired);
        return 'created';
      } catch (err) {
        if (isWriteRace(err)) continue;
        throw err;
      }
    }
    const keep = (i: number) => found.webhooks?.[i]?.clientConfig?.caBundle;
    const webhooks = (desired.webhooks ?? []).map((w, i) => {
      const caBundle = w.clientConfig.caBundle ?? keep(i);
      return caBundle ? { ...w, clientConfig: { ...w.clientConfig, caBundle } } : w;
    });
    const same =
      JSON.stringify(webhooks) === JSON.stringify(found.webhooks ?? []) &&
      Object.entries(desired.metadata?.labels ?? {}).every(([k, v]) => found.metadata?.labels?.[k] === v);
    if (same) return 'unchanged';
    try {
      await client.replace({ ...found, metadata: { ...found.metadata, labels: { ...found.metadata?.labels, ...desired.metadata?.labels } }, webhooks });
      return 'updated';
    } catch (err) {
      if (!isWriteRace(err)) throw err;
    }
  }
  throw new Error(`ValidatingWebhookConfiguration ${name} kept changing under us`);
}
