// What the steps of the Application reconciler share: the caches they read,
// the operator's clients, the clock (consumer-contract.ts ConsumerEnv), and
// the list of things a reconcile did.
import type { Application, Contract } from '../../../api/v1alpha1/index.ts';
import type { ConsumerEnv } from '../consumer-contract.ts';

export type { Done } from '../credential-secret.ts';
export type App = Application & { kind: string; apiVersion: string };
export type AppContract = Contract & { kind: string };
export type AppEnv = ConsumerEnv<AppContract>;

/** The field manager of the Application's status (server-side apply). */
export const APPLICATION_MANAGER = 'crossgate-application';
