// Timestamps as Kubernetes writes them (metav1.Time): every floor above uses
// this one helper, so a condition, an annotation and a key's expiry read alike.

/** RFC 3339 at second precision, e.g. 2025-01-02T03:04:05Z. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
