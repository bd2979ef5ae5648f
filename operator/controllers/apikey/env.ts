// What the steps of the ApiKey reconciler share: the caches they read, the
// operator's clients, the clock (consumer-contract.ts ConsumerEnv), and the
// list of things a reconcile did.
import type { ApiKey, Contract } from '../../../api/v1alpha1/index.ts';
import type { ConsumerEnv } from '../consumer-contract.ts';

export type { Done } from '../credential-secret.ts';
export type Key = ApiKey & { kind: string; apiVersion: string };
export type KeyContract = Contract & { kind: string };
export type KeyEnv = ConsumerEnv<KeyContract>;
