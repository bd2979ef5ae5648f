// The Contract effects shared by the ApiKey and Application reconcilers: open
// a Contract, make it follow its consumer (a new tier or a wider scope is a new
// request: contractSpecPatch), and close the Contracts of a consumer that is
// gone. What differs per kind (which Contracts it wants) stays in its step.
import type { V1Secret } from '@kubernetes/client-node';
import { specOrDeletionChanged, type ControllerSpec, type InformerSpec, type Manager, type ReconcileContext } from '../../kube/controller.ts';
import type { Informer } from '../../kube/informer.ts';
import { isAlreadyExists } from '../../kube/kube.ts';
import { deleteIfStill, ignoreNotFound } from '../../kube/effects.ts';
import { splitKey, type ResourceRef } from '../../kube/keys.ts';
import type { ConsumerKind, Contract, SlaTier } from '../../api/v1alpha1/index.ts';
import { contractServes } from '../../model/key-verdict.ts';
import { ASSETSHARES, CONTRACTS, MERGE_PATCH, ORGANIZATIONS, ORGTRUSTS, SLATIERS, objectPath } from '../resources.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { snapshotReader } from './snapshot.ts';
import { contractSpecPatch } from './consumer-desired.ts';
import type { Done } from './credential-secret.ts';
import { contractsByConsumer } from './contract-index.ts';
import type { Deps } from './deps.ts';

type Stored = Contract & { kind: string };

/** What the steps of a consumer's reconciler (ApiKey or Application) share: caches, clients, the clock. */
export interface ConsumerEnv<C extends Stored> {
  deps: Deps;
  secrets: Informer<V1Secret>;
  contracts: Informer<C>;
  /** "ns/name" of the Contracts opened for the consumer `ns/name` (contract-index.ts). */
  contractsOf: (namespace: string | undefined, name: string | undefined) => string[];
  tiers: Informer<SlaTier & { kind: string }>;
  /** The cluster state decisions in model/ read (trust, shares, ownership, instances, groups). */
  snapshot: () => Snapshot;
  now: () => Date;
}

/** The env of a consumer reconciler of `kind` whose credential Secrets are `secrets` (a label-selected informer). */
export function consumerEnv<C extends Stored>(mgr: Manager, deps: Deps & { now?: () => Date }, kind: ConsumerKind, secrets: InformerSpec): ConsumerEnv<C> {
  const contracts = mgr.informer<C>(CONTRACTS);
  return {
    deps,
    secrets: mgr.informer<V1Secret>(secrets),
    contracts,
    contractsOf: contractsByConsumer(contracts, kind),
    tiers: mgr.informer<SlaTier & { kind: string }>(SLATIERS),
    snapshot: snapshotReader(mgr),
    now: deps.now ?? (() => new Date()),
  };
}

/**
 * The watches every consumer reconciler has: its Contracts (by spec.consumer), and what decides cross-organization
 * access (Organizations, which platform admins write: every consumer, cheap as decisions are in memory; an OrgTrust,
 * which an organization writes as often as it likes: only the consumers between its two organizations, `ofTrust`
 * (access-pairs.ts); a share: `ofShare`).
 */
export function consumerWatches(
  kind: ConsumerKind,
  all: () => string[],
  ofShare: (share: { metadata?: { namespace?: string } }) => string[],
  ofTrust: (trust: unknown) => string[],
): NonNullable<ControllerSpec['watches']> {
  return [
    { resource: CONTRACTS, map: (c) => { const s = (c as Contract).spec.consumer; return s.kind === kind ? [`${s.namespace}/${s.name}`] : []; } },
    { resource: ORGTRUSTS, map: ofTrust, predicate: specOrDeletionChanged },
    { resource: ASSETSHARES, map: ofShare, predicate: specOrDeletionChanged },
    { resource: ORGANIZATIONS, map: () => all(), predicate: specOrDeletionChanged },
  ];
}

/** Creates `desired`; undefined when it exists already (the cache trails: the next event brings it). */
export async function openContract<C extends Stored>(env: ConsumerEnv<C>, desired: Contract, ctx: ReconcileContext, did: Done[]): Promise<C | undefined> {
  const { namespace, name } = desired.metadata;
  try {
    const created = await env.deps.http.request<C>('POST', objectPath(CONTRACTS, namespace), { body: desired });
    ctx.log.info({ contract: `${namespace}/${name}`, decision: desired.spec.decision }, 'opened contract');
    did.push({ reason: 'ContractOpened', message: `Contract ${name} opened in namespace ${namespace} (${desired.spec.decision})` });
    return created;
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    return undefined;
  }
}

/** `found` moved to what the consumer asks now (tier, endpoints); as it is when nothing changes. */
export async function followConsumer<C extends Stored>(
  env: ConsumerEnv<C>, found: C, asked: { tier: string; endpoints?: Contract['spec']['endpoints'] }, tier: SlaTier, ctx: ReconcileContext,
): Promise<C> {
  const patch = contractSpecPatch(found, { tier: asked.tier, ...(asked.endpoints ? { endpoints: asked.endpoints } : {}) }, tier.spec.approval === 'automatic');
  if (!patch) return found;
  const { namespace, name } = found.metadata;
  ctx.log.info({ contract: `${namespace}/${name}`, decision: patch.spec.decision ?? found.spec.decision }, 'contract follows its consumer');
  return env.deps.http.request<C>('PATCH', objectPath(CONTRACTS, namespace, name), { contentType: MERGE_PATCH, body: patch });
}

/**
 * The consumer `ns/name` (of `resource`) is gone from the cache: close its Contracts. No finalizer holds it (one
 * write and one admission review less per consumer); the delete event brings us here, and so does every event of
 * an orphaned Contract, also after the operator was away when the consumer went. The cache may trail a create, so
 * the apiserver is asked before anything is deleted.
 */
export async function closeContractsOfGone<C extends Stored>(env: ConsumerEnv<C>, resource: ResourceRef, k: string, ctx: ReconcileContext): Promise<void> {
  const { namespace: ns, name } = splitKey(k);
  const found = env.contractsOf(ns, name).map((c) => env.contracts.get(c)).filter((c): c is C => c !== undefined && !c.metadata.deletionTimestamp);
  if (found.length === 0) return;
  const live = await env.deps.http.request<{ metadata: { uid?: string; deletionTimestamp?: unknown } }>('GET', objectPath(resource, ns, name)).catch(ignoreNotFound);
  for (const c of found) {
    if (live && !live.metadata.deletionTimestamp && contractServes(c, live)) continue; // the cache trails: the consumer exists
    await deleteContract(env, c, ctx, `closed contract of a deleted ${resource.kind ?? 'consumer'}`);
  }
}

/** Deletes `c`, preconditioned on its uid: never the Contract opened meanwhile for a new consumer of the same name. */
export async function deleteContract<C extends Stored>(env: ConsumerEnv<C>, c: C, ctx: ReconcileContext, why: string): Promise<void> {
  await deleteIfStill(env.deps.http, objectPath(CONTRACTS, c.metadata.namespace, c.metadata.name), c.metadata.uid);
  ctx.log.info({ contract: `${c.metadata.namespace}/${c.metadata.name}` }, why);
}
