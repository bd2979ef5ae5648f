// ApiKey reconciler (consumer side): generates the key into a Secret in the
// consumer's namespace, opens the Contract on the owner's side, rotates and
// expires the key, and tells the consumer where it stands. The raw key is
// written once into the Secret and never logged, cached or put in status.
import type { V1Secret } from '@kubernetes/client-node';
import { specOrDeletionChanged, type Manager, type ReconcileContext, type ReconcileResult } from '../../kube/controller.ts';
import { isAlreadyExists, isConflict, isNotFound } from '../../kube/kube.ts';
import { setCondition, type Condition } from '../../kube/conditions.ts';
import type { ApiKey, AssetShare, Contract, SlaTier } from '../../api/v1alpha1/index.ts';
import { API_VERSION } from '../../api/v1alpha1/index.ts';
import {
  ANNOTATION_KEY_GENERATION, ANNOTATION_KEY_ISSUED_AT, ANNOTATION_KEY_SHA256, ANNOTATION_PREVIOUS_KEY_SHA256, ANNOTATION_PREVIOUS_KEY_VALID_UNTIL,
  FINALIZER_APIKEY, LABEL_APIKEY, LABEL_MANAGED_BY, MANAGED_BY, SECRET_KEY_FIELD,
} from '../../api/labels.ts';
import { generateApiKey, hashApiKey, keyIdOf } from '../../api/apikey-format.ts';
import { resolveAccess, type Access } from '../../model/access.ts';
import {
  APIINSTANCES, APIKEYS, ASSETSHARES, CONTRACTS, KEY_SECRETS, MERGE_PATCH, ORGANIZATIONS, ORGTRUSTS, SLATIERS, objectPath,
} from '../resources.ts';
import { snapshotReader } from './snapshot.ts';
import {
  contractNameOf, contractServes, desiredContract, hashesOf, keyVerdict, ownHashesOf, rfc3339, secretAction, secretBelongsToKey, secretConflictMessage, secretNameOf,
} from './apikey-desired.ts';
import { contractsByConsumer } from './contract-index.ts';
import { indexBy } from '../../kube/index-by.ts';
import { splitKey } from '../../kube/keys.ts';
import type { Deps } from './organization.ts';

type Key = ApiKey & { kind: string; apiVersion: string };
/** Something a reconcile did, told in its Event. */
type Done = { reason: string; message: string };
const SECRETS = { group: '', version: 'v1', plural: 'secrets' };
/** A conflicting Secret outside the key-Secret cache (unlabelled) sends no events: look again this often. */
const UNWATCHED_CONFLICT_RECHECK_MS = 60_000;

export function registerApiKeyController(mgr: Manager, deps: Deps & { now?: () => Date }): void {
  const keys = mgr.informer<Key>(APIKEYS);
  const secrets = mgr.informer<V1Secret>(KEY_SECRETS);
  const contracts = mgr.informer<Contract & { kind: string }>(CONTRACTS);
  const tiers = mgr.informer<SlaTier & { kind: string }>(SLATIERS);
  const snapshot = snapshotReader(mgr);
  const contractsOf = contractsByConsumer(contracts);
  const now = deps.now ?? (() => new Date());
  const allKeys = () => keys.list().map((k) => `${k.metadata.namespace}/${k.metadata.name}`);
  // Keys by the ApiInstance they name ("ns/name"), instead of a scan of every key per instance, tier or share event.
  const byInstance = indexBy(keys, (k) => `${k.spec.apiInstanceRef.namespace ?? k.metadata.namespace}/${k.spec.apiInstanceRef.name}`);
  const keysOfInstance = (o: { metadata?: { namespace?: string; name?: string } }) => byInstance(`${o.metadata?.namespace}/${o.metadata?.name ?? ''}`);
  // Keys by the Secret name they use: a key in conflict over a Secret hears when that Secret changes or goes.
  const bySecretName = indexBy(keys, (k) => `${k.metadata.namespace}/${secretNameOf(k)}`);
  /** A share reaches the keys of the ApiInstance it shares, nothing else (model/access.ts). */
  const keysOfShare = (o: { metadata?: { namespace?: string } }) => {
    const { targetRef } = (o as AssetShare).spec;
    return targetRef.kind === 'ApiInstance' ? keysOfInstance({ metadata: { namespace: targetRef.namespace ?? o.metadata?.namespace, name: targetRef.name } }) : [];
  };

  mgr.addController({
    name: 'apikey',
    for: APIKEYS,
    workers: 4,
    owns: [{ ...KEY_SECRETS }],
    watches: [
      { resource: KEY_SECRETS, map: (sec) => bySecretName(`${sec.metadata?.namespace}/${sec.metadata?.name}`) },
      { resource: CONTRACTS, map: (c) => { const s = (c as Contract).spec.consumer; return `${s.namespace}/${s.apiKey}`; } },
      // Not on resyncs (keys are resynced themselves) nor status-only updates (a tier's contract count moves at every approval).
      { resource: APIINSTANCES, map: keysOfInstance, predicate: specOrDeletionChanged },
      { resource: SLATIERS, map: (t) => keysOfInstance({ metadata: { namespace: t.metadata?.namespace, name: (t as SlaTier).spec.apiInstanceRef.name } }), predicate: specOrDeletionChanged },
      // Trust decides cross-organization access: revisit every key (cheap: decisions are in memory); a share, the keys of its instance.
      { resource: ORGTRUSTS, map: () => allKeys(), predicate: specOrDeletionChanged },
      { resource: ASSETSHARES, map: keysOfShare, predicate: specOrDeletionChanged },
      { resource: ORGANIZATIONS, map: () => allKeys(), predicate: specOrDeletionChanged },
    ],
    reconcile: async (k: string, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
      const key = keys.get(k);
      if (!key) return closeContractsOf(k, ctx);
      if (key.metadata.deletionTimestamp) return finalize(key, ctx);
      const access = resolveAccess(snapshot(), key);
      if (access.reason === 'NoOrganization') return reportOnly(key, access.message);
      return reconcileKey(key, ctx);
    },
  });

  /** A key in a namespace no Organization owns: nothing is issued; admission refuses such keys once the webhook runs. */
  async function reportOnly(key: Key, message: string): Promise<void> {
    const generation = key.metadata.generation ?? 0;
    await deps.status.patchStatus(key, APIKEYS.plural, {
      observedGeneration: generation,
      conditions: setCondition(deps.status.current(key)?.conditions ?? [], { type: 'Ready', status: 'False', reason: 'NoOrganization', message }, generation),
      state: 'Pending',
    });
  }

  async function reconcileKey(key: Key, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const t = now();
    const ns = key.metadata.namespace!;
    const secretName = secretNameOf(key);
    const secret = secrets.get(`${ns}/${secretName}`);
    const action = secretAction(key, secret, t);
    let secretConflict: string | undefined;
    let recheckConflict = false;
    // What this reconcile did, told in one Event with the state it led to (issuing a key to an
    // automatic tier is one story, and Events are a write each: three per key at bulk scale).
    const did: Done[] = [];
    // The hashes just written: the cache has not seen them yet, and reading it would report the key
    // without keyId/issuedAt, then write the status a second time when the Secret's event arrives.
    let written: V1Secret | undefined;
    switch (action.action) {
      case 'create': {
        const result = await writeNewKey(key, secret, undefined, ctx);
        if ('conflict' in result) {
          secretConflict = result.conflict;
          recheckConflict = true;
          break;
        }
        written = result;
        did.push({ reason: 'KeyIssued', message: `key ${keyIdOf(hashesOf(written).current ?? '')} written to Secret ${secretName}` });
        break;
      }
      case 'rotate':
        written = (await writeNewKey(key, secret, { previous: action.previous, validUntil: action.previousValidUntil }, ctx)) as V1Secret;
        did.push({ reason: 'KeyRotated', message: `a new key was issued into Secret ${secretName}; the previous key works until ${action.previousValidUntil}` });
        break;
      case 'drop-previous':
        await deps.http.request('PATCH', objectPath(SECRETS, ns, secretName), {
          contentType: MERGE_PATCH,
          body: { metadata: { annotations: { [ANNOTATION_PREVIOUS_KEY_SHA256]: null, [ANNOTATION_PREVIOUS_KEY_VALID_UNTIL]: null } } },
        });
        ctx.log.info('grace period of the previous key is over');
        break;
      case 'delete':
        await deps.http.request('DELETE', objectPath(SECRETS, ns, secretName)).catch((e) => { if (!isNotFound(e)) throw e; });
        did.push({ reason: 'KeyRevoked', message: `the key was revoked and Secret ${secretName} deleted` });
        break;
      case 'conflict':
        secretConflict = action.message;
        break;
    }

    const access = resolveAccess(snapshot(), key);
    const tier = access.instance
      ? tiers.get(`${access.instanceNamespace}/${key.spec.tier}`)
      : undefined;
    const tierOk = tier !== undefined && tier.spec.apiInstanceRef.name === key.spec.apiInstanceRef.name;
    let contract = access.owner ? contracts.get(`${access.instanceNamespace}/${contractNameOf(key)}`) : undefined;
    // A key whose Secret is not its own asks for nothing: a Contract would stand for a key it cannot issue.
    if (access.ok && tierOk && !key.spec.revoked && !secretConflict) contract = await ensureContract(key, access, tier!, contract, ctx, did);

    const verdict = secretConflict
      ? { state: 'Pending' as const, reason: 'SecretConflict', message: secretConflict, usable: false }
      : keyVerdict(key, access, contract, tierOk, t);
    const generation = key.metadata.generation ?? 0;
    const was = deps.status.current(key);
    const previous: Condition[] = was?.conditions ?? [];
    const ready = { type: 'Ready', status: verdict.usable ? ('True' as const) : ('False' as const), reason: verdict.reason, message: verdict.message };
    const stateChanged = was?.state !== verdict.state;
    if (stateChanged) ctx.log.info({ state: verdict.state, reason: verdict.reason }, 'key state');
    if (stateChanged || did.length > 0) {
      // The first thing done names the Event (KeyIssued, KeyRotated…); else the new state does.
      const warn = stateChanged && ['Rejected', 'Suspended', 'Expired'].includes(verdict.state);
      const told = [...did.map((d) => d.message), ...(stateChanged ? [`${verdict.state}: ${verdict.message}`] : [])];
      (warn ? deps.events.warning : deps.events.normal).call(deps.events, key, did[0]?.reason ?? verdict.reason, told.join('; '));
    }
    // Only the key's own Secret: a teammate's Secret of the same name must not lend its keyId to this status.
    const fresh = written ? hashesOf(written) : ownHashesOf(key, secrets.get(`${ns}/${secretName}`));
    await deps.status.patchStatus(key, APIKEYS.plural, {
      observedGeneration: generation,
      conditions: setCondition(previous, ready, generation),
      state: verdict.state,
      secretName: key.spec.revoked ? null : secretName,
      keyId: fresh.current && !key.spec.revoked ? keyIdOf(fresh.current) : null,
      contract: contract ? { namespace: contract.metadata.namespace!, name: contract.metadata.name! } : null,
      issuedAt: fresh.issuedAt ?? null,
      rotatedGeneration: fresh.current ? fresh.generation : null,
      previousKeyValidUntil: fresh.previous ? fresh.previousValidUntil ?? null : null,
    });

    // Wake up for the next deadline: expiry, or the end of a rotation grace period.
    const deadlines = [key.spec.expiresAt, fresh.previous ? fresh.previousValidUntil : undefined]
      .filter((d): d is string => Boolean(d))
      .map((d) => new Date(d).getTime() - t.getTime())
      .filter((ms) => ms > 0);
    if (recheckConflict) deadlines.push(UNWATCHED_CONFLICT_RECHECK_MS);
    if (deadlines.length > 0) return { requeueAfterMs: Math.min(...deadlines) + 100 };
  }

  /**
   * Writes a new key into the Secret; returns the Secret's annotations as written (hashes only, never the key), or
   * why a Secret of that name outside the cache (no key label) is not this key's.
   */
  async function writeNewKey(
    key: Key,
    existing: V1Secret | undefined,
    rotation: { previous: string; validUntil: string } | undefined,
    ctx: ReconcileContext,
  ): Promise<V1Secret | { conflict: string }> {
    const ns = key.metadata.namespace!;
    const name = secretNameOf(key);
    const raw = generateApiKey();
    const hash = hashApiKey(raw);
    const annotations: Record<string, string | null> = {
      [ANNOTATION_KEY_SHA256]: hash,
      [ANNOTATION_KEY_GENERATION]: String(key.spec.rotation?.generation ?? 0),
      [ANNOTATION_KEY_ISSUED_AT]: rfc3339(now()),
      [ANNOTATION_PREVIOUS_KEY_SHA256]: rotation?.previous ?? null,
      [ANNOTATION_PREVIOUS_KEY_VALID_UNTIL]: rotation?.validUntil ?? null,
    };
    const data = { [SECRET_KEY_FIELD]: Buffer.from(raw, 'utf8').toString('base64') };
    if (!existing) {
      const body = {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: {
          name,
          namespace: ns,
          labels: { [LABEL_APIKEY]: key.metadata.name!, [LABEL_MANAGED_BY]: MANAGED_BY },
          annotations: Object.fromEntries(Object.entries(annotations).filter((e): e is [string, string] => e[1] !== null)),
          ownerReferences: [{ apiVersion: API_VERSION, kind: 'ApiKey', name: key.metadata.name!, uid: key.metadata.uid!, controller: true, blockOwnerDeletion: true }],
        },
        data,
      };
      try {
        await deps.http.request('POST', objectPath(SECRETS, ns), { body });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        // Not in the cache: unlabelled (someone else's), or ours and the cache trails. Only the first is a conflict.
        const live = await deps.http.request<V1Secret>('GET', objectPath(SECRETS, ns, name));
        if (!secretBelongsToKey(key, live)) return { conflict: secretConflictMessage(key, live) };
        throw new Error(`Secret ${name} appeared meanwhile; will look again`);
      }
      ctx.log.info({ secret: name, keyId: keyIdOf(hash) }, 'issued key');
      return { metadata: { annotations: body.metadata.annotations } };
    }
    // Optimistic lock: two workers must never both rotate (one key would be lost).
    await deps.http.request('PATCH', objectPath(SECRETS, ns, name), {
      contentType: MERGE_PATCH,
      body: { metadata: { resourceVersion: existing.metadata?.resourceVersion, annotations }, data },
    });
    ctx.log.info({ secret: name, keyId: keyIdOf(hash) }, rotation ? 'rotated key' : 'reissued key');
    const kept = Object.fromEntries(Object.entries({ ...existing.metadata?.annotations, ...annotations }).filter((e): e is [string, string] => e[1] !== null));
    return { metadata: { annotations: kept } };
  }

  async function ensureContract(
    key: Key,
    access: Access,
    tier: SlaTier,
    found: (Contract & { kind: string }) | undefined,
    ctx: ReconcileContext,
    did: Done[],
  ) {
    const desired = desiredContract(key, access, tier);
    if (found && !contractServes(found, key)) {
      // Opened for an earlier key of this name: closed, so that its decision never carries over; its delete event brings this key back to open its own.
      await deleteContract(found, ctx, 'closed contract of an earlier key of this name');
      return undefined;
    }
    if (!found) {
      try {
        const created = await deps.http.request<Contract & { kind: string }>('POST', objectPath(CONTRACTS, desired.metadata.namespace), { body: desired });
        ctx.log.info({ contract: `${desired.metadata.namespace}/${desired.metadata.name}`, decision: desired.spec.decision }, 'opened contract');
        did.push({ reason: 'ContractOpened', message: `Contract ${desired.metadata.name} opened in namespace ${desired.metadata.namespace} (${desired.spec.decision})` });
        return created;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        return undefined;
      }
    }
    if (found.spec.tier !== key.spec.tier && found.spec.decision !== 'Revoked' && found.spec.decision !== 'Rejected') {
      // A new tier is a new request: approved at once only if that tier is automatic.
      return deps.http.request<Contract & { kind: string }>('PATCH', objectPath(CONTRACTS, found.metadata.namespace, found.metadata.name), {
        contentType: MERGE_PATCH,
        body: { spec: { tier: key.spec.tier, decision: desired.spec.decision } },
      });
    }
    return found;
  }

  /**
   * The key is gone from the cache: close its Contracts. No finalizer holds the key for this (one write and one
   * admission review less per key); the delete event brings us here, and so does every event of an orphaned
   * Contract (its watch maps it to its key), also after the operator was away when the key went. The cache may
   * trail a create, so the apiserver is asked before anything is deleted.
   */
  async function closeContractsOf(k: string, ctx: ReconcileContext): Promise<void> {
    const { namespace: ns, name } = splitKey(k);
    const found = contractsOf(ns, name).map((c) => contracts.get(c)).filter((c): c is Contract & { kind: string } => c !== undefined && !c.metadata.deletionTimestamp);
    if (found.length === 0) return;
    let live: Key | undefined;
    try {
      live = await deps.http.request<Key>('GET', objectPath(APIKEYS, ns, name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    for (const c of found) {
      if (live && !live.metadata.deletionTimestamp && contractServes(c, live)) continue; // the cache trails: the key exists
      await deleteContract(c, ctx, 'closed contract of deleted key');
    }
  }

  async function deleteContract(c: Contract & { kind: string }, ctx: ReconcileContext, why: string): Promise<void> {
    // Preconditioned on the uid: never the Contract opened meanwhile for a new key of the same name.
    await deps.http
      .request('DELETE', objectPath(CONTRACTS, c.metadata.namespace, c.metadata.name), { body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: c.metadata.uid } } })
      .catch((e) => { if (!isNotFound(e) && !isConflict(e)) throw e; });
    ctx.log.info({ contract: `${c.metadata.namespace}/${c.metadata.name}` }, why);
  }

  /** A key deleted while it still carries the finalizer of earlier crossgate versions: close its Contracts, then let it go. */
  async function finalize(key: Key, ctx: ReconcileContext): Promise<void> {
    if (!key.metadata.finalizers?.includes(FINALIZER_APIKEY)) return; // closed by closeContractsOf once it is gone
    for (const c of contractsOf(key.metadata.namespace, key.metadata.name)) {
      const contract = contracts.get(c);
      if (contract && contractServes(contract, key)) await deleteContract(contract, ctx, 'closed contract of deleted key');
    }
    await deps.http
      .request('PATCH', objectPath(APIKEYS, key.metadata.namespace, key.metadata.name), {
        contentType: MERGE_PATCH,
        body: { metadata: { resourceVersion: key.metadata.resourceVersion, finalizers: (key.metadata.finalizers ?? []).filter((f) => f !== FINALIZER_APIKEY) } },
      })
      .catch((e) => { if (!isNotFound(e)) throw e; });
  }
}
