// The webhook's few writes to the API server (its TLS Secret, the
// ValidatingWebhookConfiguration), over the operator's KubeHttp so that
// authentication, timeouts and error shapes are the same as everywhere else.
import type { V1Secret, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { isNotFound, type ListWatchClient } from '../kube/kube.ts';
import type { SecretClient } from './certs.ts';
import type { WebhookConfigurationWriter } from './registration.ts';

type Http = Pick<ListWatchClient, 'request'>;
const TIMEOUT_MS = 10_000;

async function readOrUndefined<T>(http: Http, path: string): Promise<T | undefined> {
  try {
    return await http.request<T>('GET', path, { timeoutMs: TIMEOUT_MS });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export function secretClient(http: Http): SecretClient {
  const path = (ns: string, name?: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets${name ? `/${encodeURIComponent(name)}` : ''}`;
  return {
    read: (namespace, name) => readOrUndefined<V1Secret>(http, path(namespace, name)),
    create: (secret) => http.request<V1Secret>('POST', path(secret.metadata!.namespace!), { body: secret, timeoutMs: TIMEOUT_MS }),
    replace: (secret) => http.request<V1Secret>('PUT', path(secret.metadata!.namespace!, secret.metadata!.name!), { body: secret, timeoutMs: TIMEOUT_MS }),
  };
}

export function webhookConfigurationClient(http: Http): WebhookConfigurationWriter {
  const base = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
  return {
    read: (name) => readOrUndefined<V1ValidatingWebhookConfiguration>(http, `${base}/${encodeURIComponent(name)}`),
    create: (config) => http.request<V1ValidatingWebhookConfiguration>('POST', base, { body: config, timeoutMs: TIMEOUT_MS }),
    replace: (config) =>
      http.request<V1ValidatingWebhookConfiguration>('PUT', `${base}/${encodeURIComponent(config.metadata!.name!)}`, { body: config, timeoutMs: TIMEOUT_MS }),
  };
}
