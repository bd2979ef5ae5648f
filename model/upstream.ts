// Where an ApiInstance's route sends its requests.
import type { ApiInstance } from '../api/v1alpha1/index.ts';

/** The upstream base URL of an instance: its url, or its backendRef's Service by cluster DNS name. */
export function upstreamUrlOf(instance: Pick<ApiInstance, 'metadata' | 'spec'>): string {
  const up = instance.spec.upstream;
  if (up.url !== undefined) return up.url;
  const ref = up.backendRef;
  if (!ref) return '';
  return `${ref.scheme ?? 'http'}://${ref.name}.${instance.metadata.namespace}.svc.cluster.local:${ref.port}`;
}
