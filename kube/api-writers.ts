// The status, Event and Lease clients over KubeHttp, the plain JSON client the
// reconcilers and informers use: client-node's generated APIs cost CPU on every
// call (docs/performance.md). The interfaces stay the generated APIs' subsets,
// so tests keep their fakes and a client-node client still fits.
import type { CoreV1Event, V1Lease } from '@kubernetes/client-node';
import type { KubeHttp } from './kube.ts';
import type { StatusClient, WriteOptions } from './status.ts';
import type { EventClient } from './events.ts';
import type { LeaseClient } from './leader-election.ts';

const seg = encodeURIComponent;
const timeoutOf = (o: WriteOptions | undefined) => (o?.timeoutMs ? { timeoutMs: o.timeoutMs } : {});

export function statusClientOver(http: KubeHttp): StatusClient {
  // force: a server-side apply takes the fields it sets over from other managers instead of failing with 409.
  const patch = (path: string, p: { body: unknown; fieldManager?: string; force?: boolean }, o: WriteOptions | undefined) =>
    http.request<unknown>('PATCH', path, {
      body: p.body,
      contentType: o?.contentType ?? 'application/merge-patch+json',
      ...timeoutOf(o),
      ...(p.fieldManager || p.force ? { query: { ...(p.fieldManager ? { fieldManager: p.fieldManager } : {}), ...(p.force ? { force: 'true' } : {}) } } : {}),
    });
  return {
    patchNamespacedCustomObjectStatus: (p, o) => patch(`/apis/${seg(p.group)}/${seg(p.version)}/namespaces/${seg(p.namespace)}/${seg(p.plural)}/${seg(p.name)}/status`, p, o),
    patchClusterCustomObjectStatus: (p, o) => patch(`/apis/${seg(p.group)}/${seg(p.version)}/${seg(p.plural)}/${seg(p.name)}/status`, p, o),
  };
}

export function eventClientOver(http: KubeHttp): EventClient {
  return {
    createNamespacedEvent: (p, o) => http.request<CoreV1Event>('POST', `/api/v1/namespaces/${seg(p.namespace)}/events`, { body: p.body, ...timeoutOf(o) }),
    patchNamespacedEvent: (p, o) =>
      http.request<CoreV1Event>('PATCH', `/api/v1/namespaces/${seg(p.namespace)}/events/${seg(p.name)}`, {
        body: p.body,
        contentType: o?.contentType ?? 'application/merge-patch+json',
        ...timeoutOf(o),
      }),
  };
}

export function leaseClientOver(http: KubeHttp): LeaseClient {
  const base = (namespace: string) => `/apis/coordination.k8s.io/v1/namespaces/${seg(namespace)}/leases`;
  return {
    readNamespacedLease: (p, o) => http.request<V1Lease>('GET', `${base(p.namespace)}/${seg(p.name)}`, timeoutOf(o)),
    createNamespacedLease: (p, o) => http.request<V1Lease>('POST', base(p.namespace), { body: p.body, ...timeoutOf(o) }),
    replaceNamespacedLease: (p, o) => http.request<V1Lease>('PUT', `${base(p.namespace)}/${seg(p.name)}`, { body: p.body, ...timeoutOf(o) }),
  };
}
