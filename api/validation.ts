// ajv validators compiled from the same TypeBox schemas as the CRDs, for
// validation at the boundaries the apiserver does not cover (the webhook's
// policy configs, the gateway's config files, objects read from files).
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { TSchema } from '@sinclair/typebox';
import { isIPv6 } from 'node:net';
import { KINDS } from './v1alpha1/index.ts';

// ajv-formats ships CommonJS with a default export; under ESM it arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv) => Ajv;

export interface FieldError {
  /** JSON pointer of the offending field, e.g. /spec/limits/0/requests. */
  path: string;
  message: string;
}

export function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: false });
  addFormats(ajv);
  // Not in ajv-formats: an IPv4/IPv6 address with an optional prefix length.
  ajv.addFormat('cidr', { type: 'string', validate: isCidr });
  // Kubernetes' schema extensions: meaningful to the apiserver, inert here.
  ajv.addVocabulary([
    'x-kubernetes-validations',
    'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys',
    'x-kubernetes-map-type',
    'x-kubernetes-int-or-string',
  ]);
  return ajv;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isCidr(value: string): boolean {
  const [addr, prefix, ...rest] = value.split('/');
  if (rest.length > 0 || !addr) return false;
  const v4 = IPV4.test(addr);
  const v6 = !v4 && isIPv6(addr);
  if (!v4 && !v6) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (v4 ? 32 : 128);
}

const ajv = newAjv();
const byKind = new Map<string, ValidateFunction>();

export function compile(schema: TSchema): ValidateFunction {
  return ajv.compile(JSON.parse(JSON.stringify(schema)));
}

export function describeErrors(errors: ErrorObject[] | null | undefined): FieldError[] {
  return (errors ?? []).map((e) => {
    let path = e.instancePath || '';
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') path += `/${(e.params as { missingProperty: string }).missingProperty}`, (message = 'is required');
    else if (e.keyword === 'additionalProperties') path += `/${(e.params as { additionalProperty: string }).additionalProperty}`, (message = 'is not a known field');
    else if (e.keyword === 'enum') message = `must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    return { path: path || '/', message };
  });
}

export function formatErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join('; ');
}

/** Validates a whole crossgate object against its kind's schema. */
export function validateObject(kind: string, obj: unknown): FieldError[] {
  let fn = byKind.get(kind);
  if (!fn) {
    const def = KINDS.find((k) => k.kind === kind);
    if (!def) return [{ path: '/kind', message: `unknown crossgate kind ${JSON.stringify(kind)}` }];
    fn = compile(def.schema);
    byKind.set(kind, fn);
  }
  return fn(obj) ? [] : describeErrors(fn.errors);
}
