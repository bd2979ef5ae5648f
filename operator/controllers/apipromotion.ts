// ApiPromotion reconciler: copies a source ApiInstance of another environment
// of the same organization into the promotion's namespace, with the Policies
// that apply to it, its SlaTiers and its Alerts (apipromotion-desired.ts).
// It re-checks what admission decided (model/promotion.ts): the webhook can be
// skipped. It copies when the promotion's generation differs from the one it
// last promoted (a new spec.revision, other overrides), never on a source change
// alone: production moves by a reviewed change to the promotion, and status says
// when the source has moved on. A name taken by an object it did not make blocks
// the whole promotion (nothing is overwritten, nothing half-copied), and so does
// an instance copy that would be refused or not served in the target
// (model/promotion-copy.ts), judged before the first write. Creates with
// POST (an object made meanwhile answers 409), updates with PUT at the
// resourceVersion read: it never writes over an object it has not seen as its own.
import type { Manager, ReconcileContext } from '../../kube/controller.ts';
import { generationOrMetadataChanged } from '../../kube/controller.ts';
import { ownConditions, rfc3339, type Condition, type ConditionInput } from '../../kube/conditions.ts';
import { deleteIfStill, ensureFinalizer, removeFinalizer, reportConditionChange } from '../../kube/effects.ts';
import { objectPath } from '../../kube/keys.ts';
import { describeError, statusCodeOf } from '../../kube/kube.ts';
import { MAX_PROMOTED_OBJECTS, type Alert, type ApiInstance, type ApiPromotion, type Policy, type PromotedKind, type SlaTier } from '../../api/v1alpha1/index.ts';
import { FINALIZER_APIPROMOTION } from '../../api/labels.ts';
import { promotionRefusal } from '../../model/promotion.ts';
import { instanceCopyRefusal } from '../../model/promotion-copy.ts';
import { APIINSTANCES, NAMESPACES, ORGANIZATIONS, POLICIES, SLATIERS, crossgate } from '../resources.ts';
import { ALERTS } from './alert.ts';
import { snapshotReader } from './snapshot.ts';
import { copyId, desiredCopies, madeBy, nameClashes, ready, staleCopies, updateBody, upToDate, type Copy, type PromotionState } from './apipromotion-desired.ts';
import type { Deps } from './deps.ts';

export const APIPROMOTIONS = crossgate('ApiPromotion');
type P = ApiPromotion & { kind: string; apiVersion: string };
type Status = NonNullable<ApiPromotion['status']>;
type Any = { kind?: string; metadata: { name?: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string; uid?: string; generation?: number; deletionTimestamp?: unknown } };

/** The field manager of an ApiPromotion's status (server-side apply), and of the copies it writes. */
export const APIPROMOTION_MANAGER = 'crossgate-apipromotion';

const RESOURCES = { ApiInstance: APIINSTANCES, Policy: POLICIES, SlaTier: SLATIERS, Alert: ALERTS } as const;

export function registerApiPromotionController(mgr: Manager, deps: Deps & { workers?: number }): void {
  const promotions = mgr.informer<P>(APIPROMOTIONS);
  const informers = {
    ApiInstance: mgr.informer<ApiInstance & Any>(APIINSTANCES),
    Policy: mgr.informer<Policy & Any>(POLICIES),
    SlaTier: mgr.informer<SlaTier & Any>(SLATIERS),
    Alert: mgr.informer<Alert & Any>(ALERTS),
  };
  const snapshot = snapshotReader(mgr);
  const inNs = <T extends Any>(list: readonly T[], ns: string) => list.filter((o) => o.metadata.namespace === ns);
  // Promotions into or out of a namespace: its objects are their sources or their copies (and name clashes).
  const touching = (o: { metadata?: { namespace?: string } }) =>
    promotions.list().filter((p) => p.metadata.namespace === o.metadata?.namespace || p.spec.source.namespace === o.metadata?.namespace).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
  const all = () => promotions.list().map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
  // An instance anywhere may hold the route a pending copy would take (or free it): promotions not yet done at their generation look again.
  const pending = (o: { metadata?: { namespace?: string } }) => [
    ...new Set([
      ...touching(o),
      ...promotions.list().filter((p) => (deps.status.current(p) as Status | undefined)?.promotedGeneration !== (p.metadata.generation ?? 0)).map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
    ]),
  ];
  /** This promotion's copies in its namespace, of every kind, by its label. */
  const madeCopies = (p: P): Any[] =>
    (Object.keys(informers) as PromotedKind[]).flatMap((kind) =>
      inNs(informers[kind].list() as Any[], p.metadata.namespace!).filter((o) => madeBy(o, p.metadata.name!)).map((o) => ({ ...o, kind })),
    );

  const write = async (p: P, previous: Condition[], fields: Partial<Status>, conds: ConditionInput[], ctx: ReconcileContext) => {
    const generation = p.metadata.generation ?? 0;
    for (const c of conds) reportConditionChange(p, previous, c, { events: deps.events, log: ctx.log, message: 'promotion state changed', fields: { state: fields.state } });
    // A condition left out (UpToDate, once the source is gone) is removed: this manager owns it.
    await deps.status.applyStatus(p, APIPROMOTIONS.plural, { observedGeneration: generation, ...fields, conditions: ownConditions(previous, conds, generation) }, APIPROMOTION_MANAGER);
  };

  /** Writes one copy: POST when absent, PUT at the resourceVersion read when it is ours. Answers what it did. */
  const writeCopy = async (copy: Copy): Promise<'Created' | 'Updated' | 'Unchanged'> => {
    const res = RESOURCES[copy.kind];
    const ns = copy.object.metadata.namespace;
    const existing = informers[copy.kind].get(`${ns}/${copy.object.metadata.name}`) as Any | undefined;
    const query = { fieldManager: APIPROMOTION_MANAGER };
    if (!existing) {
      await deps.http.request('POST', objectPath(res, ns), { body: copy.object, query });
      return 'Created';
    }
    // The cache keeps crossgate's annotations only: the body is built from the live copy, so others' annotations stay.
    const live = await deps.http.request<Any>('GET', objectPath(res, ns, copy.object.metadata.name));
    if (live.metadata?.resourceVersion !== existing.metadata.resourceVersion) throw new Error(`${copy.kind} ${ns}/${copy.object.metadata.name} changed meanwhile; will look again`);
    const after = await deps.http.request<Any>('PUT', objectPath(res, ns, copy.object.metadata.name), { body: updateBody(live, copy), query });
    return after.metadata?.resourceVersion === live.metadata?.resourceVersion ? 'Unchanged' : 'Updated';
  };

  mgr.addController({
    name: 'apipromotion',
    for: { ...APIPROMOTIONS, predicate: generationOrMetadataChanged },
    workers: deps.workers,
    watches: [
      ...Object.values(RESOURCES).map((resource) => ({ resource, map: resource === APIINSTANCES ? pending : touching, predicate: generationOrMetadataChanged })),
      // Which namespaces are whose decides whether a promotion is allowed.
      { resource: ORGANIZATIONS, map: () => all(), predicate: generationOrMetadataChanged },
      { resource: NAMESPACES, map: () => all(), predicate: generationOrMetadataChanged },
    ],
    reconcile: async (key: string, ctx: ReconcileContext) => {
      const p = promotions.get(key);
      if (!p) return;
      const ns = p.metadata.namespace!;
      const name = p.metadata.name!;
      const deleting = (p.spec.deletionPolicy ?? 'Retain') === 'Delete';
      if (p.metadata.deletionTimestamp) {
        // Only with deletionPolicy Delete does the finalizer hold the promotion until its copies are gone.
        if (deleting) for (const o of madeCopies(p)) await deleteIfStill(deps.http, objectPath(RESOURCES[o.kind as PromotedKind], ns, o.metadata.name), o.metadata.uid);
        await removeFinalizer(deps.http, APIPROMOTIONS, p, FINALIZER_APIPROMOTION);
        return;
      }
      if (deleting && (await ensureFinalizer(deps.http, APIPROMOTIONS, p, FINALIZER_APIPROMOTION))) return;
      if (!deleting) await removeFinalizer(deps.http, APIPROMOTIONS, p, FINALIZER_APIPROMOTION);

      const prevStatus = (deps.status.current(p) ?? {}) as Status;
      const previous = (prevStatus.conditions ?? []) as Condition[];
      const kept: Partial<Status> = {
        promotedGeneration: prevStatus.promotedGeneration,
        sourceGeneration: prevStatus.sourceGeneration,
        promotedAt: prevStatus.promotedAt,
        copied: prevStatus.copied,
        copiedCount: prevStatus.copiedCount,
      };
      const source = `${p.spec.source.namespace}/${p.spec.source.name}`;
      const blocked = (state: PromotionState, cond: ConditionInput, extra: ConditionInput[] = []) => write(p, previous, { ...kept, state }, [cond, ...extra], ctx);

      // The webhook's decision, made again: across organizations or outside an environment, nothing is read or written.
      const refusal = promotionRefusal(snapshot(), { namespace: ns, sourceNamespace: p.spec.source.namespace });
      if (refusal) return blocked('Refused', ready.refused(refusal.reason, refusal.message));

      const instance = informers.ApiInstance.get(source);
      if (!instance || instance.metadata.deletionTimestamp) {
        if (prevStatus.promotedGeneration === undefined) return blocked('SourceNotFound', ready.sourceNotFound(source));
        return blocked('SourceDeleted', ready.sourceDeleted(source, madeCopies(p).length, prevStatus.sourceGeneration));
      }
      const generation = p.metadata.generation ?? 0;
      const sourceGeneration = instance.metadata.generation ?? 0;
      if (prevStatus.promotedGeneration === generation) {
        // Already promoted at this generation: only say whether the source has moved on since.
        const synced = upToDate(sourceGeneration, prevStatus.sourceGeneration);
        return write(p, previous, { ...kept, state: 'Promoted' }, [ready.promoted(prevStatus.copiedCount ?? 0, source, prevStatus.sourceGeneration ?? 0), ...(synced ? [synced] : [])], ctx);
      }

      const srcNs = p.spec.source.namespace;
      const { copies, problems } = desiredCopies(p, {
        instance,
        policies: inNs(informers.Policy.list(), srcNs),
        tiers: inNs(informers.SlaTier.list(), srcNs),
        alerts: inNs(informers.Alert.list(), srcNs),
      });
      if (problems.length) return blocked('Blocked', ready.invalid(problems));
      const clashes = nameClashes(copies, (kind, n) => informers[kind].get(`${ns}/${n}`), name);
      if (clashes.length) return blocked('Blocked', ready.nameTaken(clashes));
      // The webhook's judgement of the instance copy, made again on the source as it is now: refused, nothing is written.
      const refused = instanceCopyRefusal(snapshot(), p, instance, informers.ApiInstance.get(`${ns}/${instance.metadata.name}`));
      if (refused) return blocked('Blocked', ready.copyWouldBeRefused(refused.message));

      const copied: Status['copied'] = [];
      for (const copy of copies) {
        try {
          copied.push({ kind: copy.kind, name: copy.object.metadata.name, source: copy.source, action: await writeCopy(copy) });
        } catch (err) {
          // A refusal (admission, schema) is the tenant's to fix and is reported; a conflict or an outage is retried.
          const code = statusCodeOf(err);
          if (code === undefined || code === 409 || code >= 500) throw err;
          return blocked('Blocked', ready.copyRefused(copyId(copy.kind, copy.object.metadata.name), describeError(err)));
        }
      }
      for (const o of staleCopies(madeCopies(p), copies)) {
        if (await deleteIfStill(deps.http, objectPath(RESOURCES[o.kind as PromotedKind], ns, o.metadata.name), o.metadata.uid)) {
          copied.push({ kind: o.kind as PromotedKind, name: o.metadata.name ?? '', source: '', action: 'Deleted' });
        }
      }
      ctx.log.info({ source, sourceGeneration, copies: copies.length }, 'promoted');
      await write(
        p,
        previous,
        {
          state: 'Promoted',
          promotedGeneration: generation,
          sourceGeneration,
          promotedAt: rfc3339(new Date()),
          // Deleted entries come last: the list keeps within its schema bound.
          copied: copied.slice(0, MAX_PROMOTED_OBJECTS),
          copiedCount: copies.length,
        },
        [ready.promoted(copies.length, source, sourceGeneration), upToDate(sourceGeneration, sourceGeneration)!],
        ctx,
      );
    },
  });
}
