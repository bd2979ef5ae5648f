// The shape of an admission request as the rules see it, and their answer.
// Kept independent of @kubernetes/client-node so rules and tests build plain objects.
import type { V1ObjectMeta } from '@kubernetes/client-node';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** Any Kubernetes object the webhook may be asked about. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: unknown;
  [key: string]: unknown;
}

/** The part of admission.k8s.io/v1 AdmissionRequest the rules read. */
export interface AdmissionRequestLike {
  uid?: string;
  kind: GroupVersionKind;
  /** CREATE, UPDATE, DELETE or CONNECT. */
  operation: string;
  /** Namespace of the object; empty or absent for cluster-scoped kinds. */
  namespace?: string;
  name?: string;
  object?: KubeObject | null;
  oldObject?: KubeObject | null;
  dryRun?: boolean;
  userInfo?: { username?: string; groups?: string[] };
}

/** An allowed verdict may carry admission warnings: kubectl and client-go print them, nothing is refused. */
export type Verdict = { allowed: true; warnings?: string[] } | { allowed: false; message: string; field?: string };

/** Allowed, with warnings when there are any. */
export function allowWithWarnings(warnings: readonly string[]): Verdict {
  return warnings.length > 0 ? { allowed: true, warnings: [...warnings] } : ALLOW;
}

export const ALLOW: Verdict = Object.freeze({ allowed: true }) as Verdict;

export function deny(message: string, field?: string): Verdict {
  return field === undefined ? { allowed: false, message } : { allowed: false, message, field };
}

/** Name of the object under review, for messages. */
export function objectName(request: AdmissionRequestLike): string {
  return request.object?.metadata?.name ?? request.name ?? request.oldObject?.metadata?.name ?? '';
}

/** Namespace of the object under review. */
export function objectNamespace(request: AdmissionRequestLike): string {
  return request.namespace || request.object?.metadata?.namespace || request.oldObject?.metadata?.namespace || '';
}

/** The object's spec, as a loosely typed record (the rules never trust its shape). */
export function specOf<T>(obj: KubeObject | null | undefined): Partial<T> {
  const spec = obj?.spec;
  return (spec && typeof spec === 'object' ? spec : {}) as Partial<T>;
}

export function isBeingDeleted(obj: { metadata?: V1ObjectMeta } | null | undefined): boolean {
  return Boolean(obj?.metadata?.deletionTimestamp);
}

/** `Kind "name"`, the way messages name an object. */
export function describe(kind: string, name: string): string {
  return name ? `${kind} "${name}"` : `this ${kind}`;
}
