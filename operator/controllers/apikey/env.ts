// What the steps of the ApiKey reconciler share: the caches they read, the
// operator's clients, the clock, and the list of things a reconcile did.
import type { V1Secret } from '@kubernetes/client-node';
import type { Informer } from '../../../kube/informer.ts';
import type { ApiKey, Contract } from '../../../api/v1alpha1/index.ts';
import type { Deps } from '../deps.ts';

export type Key = ApiKey & { kind: string; apiVersion: string };
export type KeyContract = Contract & { kind: string };

export type { Done } from '../credential-secret.ts';

export interface KeyEnv {
  deps: Deps;
  secrets: Informer<V1Secret>;
  contracts: Informer<KeyContract>;
  /** "ns/name" of the Contracts opened for the ApiKey `ns/name` (contract-index.ts). */
  contractsOf: (namespace: string | undefined, name: string | undefined) => string[];
  now: () => Date;
}
