// Contract names: one per consumer and API, readable by the owner, and
// collision-free between the kinds of consumer. The consumer's namespace comes
// first (a DNS label: no dots), then the kind's tag, so an ApiKey and an
// Application of the same name never share a Contract; an Application's
// Contracts end in a hash of the ApiInstance (a dotless last segment), so
// "a.b" + one instance never meets "a" + another.
import { createHash } from 'node:crypto';
import type { ConsumerKind } from '../api/v1alpha1/index.ts';

const MAX_NAME = 253;
const TAG: Record<ConsumerKind, string> = { ApiKey: 'key', Application: 'app' };

const hash = (text: string, chars: number) => createHash('sha256').update(text).digest('hex').slice(0, chars);

/** `name` if at most `max` characters, else cut and ended with a hash of the whole, so that two cut names still differ. */
function fit(name: string, max = MAX_NAME): string {
  if (name.length <= max) return name;
  return `${name.slice(0, max - 11).replace(/[.-]+$/, '')}-${hash(name, 10)}`;
}

/** The Contract of ApiKey `namespace/name`: "<namespace>.key.<name>". */
export function keyContractName(namespace: string, name: string): string {
  return fit(`${namespace}.${TAG.ApiKey}.${name}`);
}

/**
 * The Contract of Application `namespace/name` for the ApiInstance named `instance` ("<namespace>.app.<name>.<hash of
 * instance>"), or for the ApiGroup of that name when `kind` is ApiGroup: its hash input is "ApiGroup/<name>", which no
 * instance name (a DNS subdomain, no "/") ever is, so a group and an instance of one name never share a Contract name.
 */
export function applicationContractName(namespace: string, name: string, instance: string, kind: 'ApiInstance' | 'ApiGroup' = 'ApiInstance'): string {
  const tail = `.${hash(kind === 'ApiGroup' ? `ApiGroup/${instance}` : instance, 8)}`;
  return fit(`${namespace}.${TAG.Application}.${name}`, MAX_NAME - tail.length) + tail;
}
