// Pure ApiPromotion decisions: which copies a promotion makes in its namespace
// (the instance with its overrides, the Policies that apply to it, its
// SlaTiers and Alerts), which names are taken by objects it did not make, which
// of its earlier copies are stale, and the conditions that tell the story.
// No I/O: operator/controllers/apipromotion.ts applies the result.
import { API_VERSION, MAX_PROMOTED_OBJECTS, type Alert, type ApiInstance, type ApiPromotion, type Policy, type PromotedKind, type SlaTier } from '../../api/v1alpha1/index.ts';
import { ANNOTATION_PROMOTED_FROM, ANNOTATION_PROMOTED_SOURCE_GENERATION, LABEL_PROMOTION } from '../../api/labels.ts';
import { policiesFor } from '../../model/policy-selection.ts';
import { plainSpec, promotedInstanceSpec } from '../../model/promotion-copy.ts';
import type { ConditionInput } from '../../kube/conditions.ts';

type Meta = { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; generation?: number; deletionTimestamp?: unknown };
type Obj = { metadata?: Meta; spec?: unknown };

/** One object the promotion wants in its namespace. Objects are written in this order: the instance last. */
export interface Copy {
  kind: PromotedKind;
  /** Name of the object it copies, in the source namespace. */
  source: string;
  object: { apiVersion: string; kind: PromotedKind; metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> }; spec: Record<string, unknown> };
}

export interface SourceObjects {
  instance: ApiInstance;
  /** Every Policy, SlaTier and Alert of the source namespace (the ones of the instance are picked here). */
  policies: readonly Policy[];
  tiers: readonly SlaTier[];
  alerts: readonly Alert[];
}

const MAX_NAME = 253;

/** The name a copied automated policy gets: it is bound to one copy, so two promotions of one selector never collide. */
export function automatedCopyName(policy: string, instance: string): string {
  return `${policy}-${instance}`;
}

/** The source's labels without a promotion label of its own (a copy of a copy belongs to this promotion only). */
function copiedLabels(labels: Readonly<Record<string, string>> | undefined, promotion: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) if (k !== LABEL_PROMOTION) out[k] = v;
  out[LABEL_PROMOTION] = promotion;
  return out;
}

/**
 * What the promotion makes: copies of the Policies that apply to the source instance (targetRef ones as they
 * are; automated ones bound to the copy by targetRef, their selector dropped, so they never select other
 * instances of the target), its SlaTiers and Alerts, then the instance with the overrides. The instance comes
 * last so that it is never served in the target before the policies that protect it. Contracts, ApiKeys and
 * Applications are never copied. `problems` lists what prevents the promotion (a name too long, too many objects).
 */
export function desiredCopies(promotion: ApiPromotion, src: SourceObjects): { copies: Copy[]; problems: string[] } {
  const namespace = promotion.metadata?.namespace ?? '';
  const pname = promotion.metadata?.name ?? '';
  const instance = src.instance;
  const iname = instance.metadata?.name ?? '';
  const srcNs = instance.metadata?.namespace ?? '';
  const generation = String(instance.metadata?.generation ?? 0);
  const problems: string[] = [];
  const make = <K extends PromotedKind>(kind: K, from: Obj, name: string, spec: Record<string, unknown>): Copy => ({
    kind,
    source: from.metadata?.name ?? '',
    object: {
      apiVersion: API_VERSION,
      kind,
      metadata: {
        name,
        namespace,
        labels: copiedLabels(from.metadata?.labels, pname),
        annotations: { [ANNOTATION_PROMOTED_FROM]: `${srcNs}/${from.metadata?.name ?? ''}`, [ANNOTATION_PROMOTED_SOURCE_GENERATION]: generation },
      },
      spec,
    },
  });
  const copies: Copy[] = [];
  for (const p of policiesFor(instance, src.policies)) {
    const { selector: _selector, ...spec } = plainSpec(p.spec);
    const name = p.spec.targetRef ? p.metadata?.name ?? '' : automatedCopyName(p.metadata?.name ?? '', iname);
    if (name.length > MAX_NAME) problems.push(`the copy of automated Policy "${p.metadata?.name}" would be named "${name.slice(0, 40)}…", longer than ${MAX_NAME} characters`);
    copies.push(make('Policy', p, name, { ...spec, targetRef: { name: iname } }));
  }
  const live = (o: Obj) => o.metadata?.namespace === srcNs && !o.metadata?.deletionTimestamp;
  for (const t of src.tiers.filter((t) => live(t) && t.spec?.apiInstanceRef?.name === iname)) copies.push(make('SlaTier', t, t.metadata?.name ?? '', plainSpec(t.spec)));
  for (const a of src.alerts.filter((a) => live(a) && a.spec?.apiInstanceRef?.name === iname)) copies.push(make('Alert', a, a.metadata?.name ?? '', plainSpec(a.spec)));
  copies.push(make('ApiInstance', instance, iname, promotedInstanceSpec(promotion, instance)));
  // A targetRef policy named like the copy of an automated one ("cors-baggage" beside "cors"): one would overwrite the other.
  const seen = new Set<string>();
  for (const c of copies) {
    const id = `${c.kind}/${c.object.metadata.name}`;
    if (seen.has(id)) problems.push(`two objects of the source would both be copied as ${copyId(c.kind, c.object.metadata.name)}`);
    seen.add(id);
  }
  if (copies.length > MAX_PROMOTED_OBJECTS) problems.push(`the instance has ${copies.length} objects to copy, more than ${MAX_PROMOTED_OBJECTS}`);
  return { copies, problems };
}

/** `Kind "name"`, as the conditions name a copy. */
export function copyId(kind: string, name: string): string {
  return `${kind} "${name}"`;
}

/** Whether `obj` is a copy this promotion made (its label names it; the namespace is the promotion's). */
export function madeBy(obj: Obj | undefined, promotion: string): boolean {
  return obj?.metadata?.labels?.[LABEL_PROMOTION] === promotion;
}

/** The copies whose name is taken in the target by an object the promotion did not make: never overwritten. */
export function nameClashes(copies: readonly Copy[], existing: (kind: PromotedKind, name: string) => Obj | undefined, promotion: string): string[] {
  return copies.filter((c) => {
    const found = existing(c.kind, c.object.metadata.name);
    return found !== undefined && !madeBy(found, promotion);
  }).map((c) => copyId(c.kind, c.object.metadata.name));
}

/** Earlier copies of this promotion that the source no longer has (a policy dropped in the source): removed on promotion. */
export function staleCopies<T extends Obj & { kind?: string }>(made: readonly T[], copies: readonly Copy[]): T[] {
  const wanted = new Set(copies.map((c) => `${c.kind}/${c.object.metadata.name}`));
  return made.filter((o) => !wanted.has(`${o.kind}/${o.metadata?.name}`));
}

/**
 * The body of an update of an existing copy (PUT, with its resourceVersion): the desired labels and spec, the
 * copy's own metadata otherwise (finalizers, owner references, annotations others added).
 */
export function updateBody(existing: Obj & { metadata?: Meta & { resourceVersion?: string } }, copy: Copy): Record<string, unknown> {
  const { managedFields: _m, ...meta } = (existing.metadata ?? {}) as Meta & { managedFields?: unknown };
  return {
    ...copy.object,
    metadata: { ...meta, labels: copy.object.metadata.labels, annotations: { ...(meta.annotations ?? {}), ...copy.object.metadata.annotations } },
  };
}

export type PromotionState = NonNullable<NonNullable<ApiPromotion['status']>['state']>;

/** The Ready condition of each outcome. */
export const ready = {
  promoted: (n: number, source: string, generation: number): ConditionInput => ({
    type: 'Ready', status: 'True', reason: 'Promoted', message: `${n} object(s) copied from ApiInstance ${source} at generation ${generation}`,
  }),
  refused: (reason: string, message: string): ConditionInput => ({ type: 'Ready', status: 'False', reason, message: `${message}; nothing is copied` }),
  sourceNotFound: (source: string): ConditionInput => ({
    type: 'Ready', status: 'False', reason: 'SourceNotFound', message: `ApiInstance ${source} does not exist (yet); nothing is copied`,
  }),
  sourceDeleted: (source: string, n: number, generation: number | undefined): ConditionInput => ({
    type: 'Ready', status: 'False', reason: 'SourceDeleted',
    message: `ApiInstance ${source} was deleted; the ${n} copies made from its generation ${generation ?? '?'} stay (delete them, or this promotion with spec.deletionPolicy Delete)`,
  }),
  nameTaken: (clashes: readonly string[]): ConditionInput => ({
    type: 'Ready', status: 'False', reason: 'NameTaken',
    message: `${clashes.join(', ')} already exist(s) in this namespace and were not made by this promotion; nothing is overwritten and nothing is copied: rename or delete them`,
  }),
  invalid: (problems: readonly string[]): ConditionInput => ({ type: 'Ready', status: 'False', reason: 'CannotCopy', message: `${problems.join('; ')}; nothing is copied` }),
  /** The instance copy would be refused (or lose its route) in the target (model/promotion-copy.ts): checked before anything is written. */
  copyWouldBeRefused: (message: string): ConditionInput => ({ type: 'Ready', status: 'False', reason: 'CopyWouldBeRefused', message: `${message}; nothing is copied` }),
  copyRefused: (what: string, why: string): ConditionInput => ({ type: 'Ready', status: 'False', reason: 'CopyRefused', message: `the apiserver refused ${what}: ${why}` }),
};

/** Whether the copies are from the source's current generation; absent when nothing was promoted or the source is gone. */
export function upToDate(sourceGeneration: number | undefined, promotedFrom: number | undefined): ConditionInput | undefined {
  if (sourceGeneration === undefined || promotedFrom === undefined) return undefined;
  return sourceGeneration === promotedFrom
    ? { type: 'UpToDate', status: 'True', reason: 'InSync', message: `the copies are from the source's current generation ${sourceGeneration}` }
    : {
      type: 'UpToDate', status: 'False', reason: 'SourceChanged',
      message: `the source is at generation ${sourceGeneration}, the copies are from generation ${promotedFrom}: raise spec.revision to promote again`,
    };
}
