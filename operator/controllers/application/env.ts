// What the steps of the Application reconciler share: the caches they read,
// the operator's clients, the clock, and the list of things a reconcile did.
import type { V1Secret } from '@kubernetes/client-node';
import type { Informer } from '../../../kube/informer.ts';
import type { Application, Contract } from '../../../api/v1alpha1/index.ts';
import type { Deps } from '../deps.ts';
import type { Done } from '../credential-secret.ts';

export type { Done };
export type App = Application & { kind: string; apiVersion: string };
export type AppContract = Contract & { kind: string };

/** The field manager of the Application's status (server-side apply). */
export const APPLICATION_MANAGER = 'crossgate-application';

export interface AppEnv {
  deps: Deps;
  secrets: Informer<V1Secret>;
  contracts: Informer<AppContract>;
  /** "ns/name" of the Contracts opened for the Application `ns/name` (contract-index.ts). */
  contractsOf: (namespace: string | undefined, name: string | undefined) => string[];
  now: () => Date;
}
