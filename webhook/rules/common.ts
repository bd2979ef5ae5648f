// Small helpers shared by the rules.
import { DNS_LABEL_PATTERN } from '../../api/v1alpha1/index.ts';
import type { AdmissionRequestLike } from '../admission.ts';

const DNS_LABEL = new RegExp(DNS_LABEL_PATTERN);

/** An RFC 1123 label: lowercase letters, digits and '-', alphanumeric at both ends, 1 to 63 characters. */
export function isDnsLabel(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= 63 && DNS_LABEL.test(value);
}

export const DNS_LABEL_HINT = 'a DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters';

/** "created" or "changed", for messages. */
export function verb(request: AdmissionRequestLike): string {
  return request.operation === 'UPDATE' ? 'changed' : 'created';
}

export function show(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value) ?? 'nothing';
}
