// Governance: which ApiInstances a GovernanceRuleset may read, which of them
// each rule selects, and what each selected instance lacks. One home for the
// operator's report (operator/controllers/governance*.ts) and the webhook's
// admission warnings (webhook/rules/governance.ts). Reads objects only: no
// traffic, no upstream is dialed. A ruleset in an organization's home
// namespace reads that organization's environments only (the namespaces its
// spec lists and no older Organization claims, model/ownership.ts); one in
// the platform namespace reads every organization's. No I/O.
import type { Alert, ApiInstance, GovernanceRule, GovernanceRuleset, Organization, Policy, SlaTier } from '../api/v1alpha1/index.ts';
import { MAX_ORGANIZATION_RULESETS, MAX_REPORTED_INSTANCES } from '../api/v1alpha1/index.ts';
import { orgName, ownerOfNamespace, quoteList, type NamespaceOwner } from './ownership.ts';
import { olderInstanceFirst } from './route-conflicts.ts';
import { matchesSelector, policiesFor, type LabelSelector, type PolicyLike } from './policy-selection.ts';
import { SYSTEM_NAMESPACES, type Snapshot } from './snapshot.ts';
import { CREDENTIAL_POLICY_TYPES } from './tier-enforcement.ts';

/** The requirements a rule can make, in the order they are checked and reported. */
export const REQUIREMENTS = ['policies', 'rateLimitOrTiers', 'corsWithoutWildcard', 'secureUpstream', 'validAsset', 'alert', 'tiersEnforced'] as const;
export type Requirement = (typeof REQUIREMENTS)[number];

/** What admission can judge from the object under review and its caches (no Asset or instance status there). */
export const ADMISSION_REQUIREMENTS: readonly Requirement[] = ['policies', 'rateLimitOrTiers', 'corsWithoutWildcard', 'secureUpstream', 'alert'];
/** What a Policy change can alter. */
export const POLICY_REQUIREMENTS: readonly Requirement[] = ['policies', 'rateLimitOrTiers', 'corsWithoutWildcard', 'tiersEnforced'];

type Meta = Pick<Policy, 'metadata'>;
export type { PolicyLike };
export type AlertLike = Meta & { spec: Pick<Alert['spec'], 'apiInstanceRef'> };
export type TierLike = Meta & { spec: Pick<SlaTier['spec'], 'apiInstanceRef' | 'apiGroupRef'> };
export type RulesetLike = Meta & { spec: Pick<GovernanceRuleset['spec'], 'rules'> };
type InstanceLike = Pick<ApiInstance, 'metadata' | 'spec' | 'status'>;

/** The objects governance reads besides the Snapshot, by namespace. */
export interface GovernanceInputs {
  snapshot: Snapshot;
  /** The namespace whose rulesets are cluster-wide (the operator's, e.g. crossgate-system). */
  platformNamespace: string;
  policies(namespace: string): readonly PolicyLike[];
  slaTiers(namespace: string): readonly TierLike[];
  alerts(namespace: string): readonly AlertLike[];
}

function grouped<T extends Meta>(items: readonly T[]): (namespace: string) => readonly T[] {
  const index = new Map<string, T[]>();
  for (const item of items) {
    const ns = item.metadata?.namespace ?? '';
    let bucket = index.get(ns);
    if (!bucket) index.set(ns, (bucket = []));
    bucket.push(item);
  }
  return (namespace) => index.get(namespace) ?? [];
}

/** GovernanceInputs over plain lists (indexed by namespace once). */
export function governanceInputs(lists: {
  snapshot: Snapshot;
  platformNamespace: string;
  policies: readonly PolicyLike[];
  slaTiers: readonly TierLike[];
  alerts: readonly AlertLike[];
}): GovernanceInputs {
  return { snapshot: lists.snapshot, platformNamespace: lists.platformNamespace, policies: grouped(lists.policies), slaTiers: grouped(lists.slaTiers), alerts: grouped(lists.alerts) };
}

/** The platform namespace as admission knows it: the reserved namespaces besides Kubernetes' own. */
export function platformNamespaceOf(snapshot: Snapshot): string | undefined {
  return [...snapshot.reservedNamespaces].find((ns) => !SYSTEM_NAMESPACES.includes(ns));
}

const OWNERS = Symbol('governance: namespace owners');

/** ownerOfNamespace, kept per snapshot: a cluster-wide report asks it for every environment and instance. */
function ownerOf(snapshot: Snapshot, namespace: string): NamespaceOwner | undefined {
  const owners = snapshot.memo(OWNERS, () => new Map<string, NamespaceOwner | undefined>());
  if (!owners.has(namespace)) owners.set(namespace, ownerOfNamespace(snapshot, namespace));
  return owners.get(namespace);
}

export type RulesetScope =
  | { kind: 'cluster' }
  | { kind: 'organization'; organization: Organization }
  | { kind: 'misplaced'; message: string };

/** Whose instances a ruleset in `namespace` reads: decided by the namespace, never by the ruleset. */
export function rulesetScope(snapshot: Snapshot, namespace: string, platformNamespace: string): RulesetScope {
  if (namespace === platformNamespace) return { kind: 'cluster' };
  const owner = ownerOf(snapshot, namespace);
  if (!owner) {
    return { kind: 'misplaced', message: `namespace "${namespace}" belongs to no Organization: a GovernanceRuleset lives in an organization's home namespace, or in the platform namespace "${platformNamespace}" for every organization` };
  }
  if (owner.role !== 'home') {
    return {
      kind: 'misplaced',
      message: `namespace "${namespace}" is an environment namespace of Organization "${orgName(owner.organization)}": a GovernanceRuleset lives in the organization's home namespace, "${owner.organization.spec?.homeNamespace}"`,
    };
  }
  return { kind: 'organization', organization: owner.organization };
}

export function describeScope(scope: RulesetScope): string {
  return scope.kind === 'cluster' ? 'cluster' : scope.kind === 'organization' ? `organization ${orgName(scope.organization)}` : 'none';
}

/** An instance a ruleset may read, with what selects it. */
export interface ScopedInstance {
  instance: InstanceLike;
  organization: string;
  environmentType: 'sandbox' | 'production';
}

/** The environments of `org` that are really its (no older Organization claims the namespace). */
function environmentsOf(snapshot: Snapshot, org: Organization): Array<{ namespace: string; type: 'sandbox' | 'production' }> {
  return (org.spec?.environments ?? [])
    .filter((e) => { const o = ownerOf(snapshot, e.namespace)?.organization; return o !== undefined && orgName(o) === orgName(org); })
    .map((e) => ({ namespace: e.namespace, type: e.type ?? 'sandbox' }));
}

/** Every instance the scope may read, sorted by namespace and name. */
export function instancesInScope(snapshot: Snapshot, scope: RulesetScope): ScopedInstance[] {
  const orgs = scope.kind === 'cluster' ? snapshot.organizations() : scope.kind === 'organization' ? [scope.organization] : [];
  const out: ScopedInstance[] = [];
  for (const org of orgs) {
    if (org.metadata?.deletionTimestamp) continue;
    for (const env of environmentsOf(snapshot, org)) {
      for (const instance of snapshot.apiInstances(env.namespace)) {
        if (!instance.metadata?.deletionTimestamp) out.push({ instance, organization: orgName(org), environmentType: env.type });
      }
    }
  }
  // Code-unit order (not localeCompare: a cluster-wide report sorts every instance).
  const keyed = out.map((s) => ({ s, id: instanceId(s.instance) }));
  keyed.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return keyed.map((k) => k.s);
}

/** Whether the scope may read `instance` (by its namespace): the admission check of a change. */
export function scopeCovers(snapshot: Snapshot, scope: RulesetScope, namespace: string): ScopedInstance['environmentType'] | undefined {
  if (scope.kind === 'misplaced') return undefined;
  const owner = ownerOf(snapshot, namespace);
  if (!owner || owner.role !== 'environment') return undefined;
  if (scope.kind === 'organization' && orgName(owner.organization) !== orgName(scope.organization)) return undefined;
  return environmentsOf(snapshot, owner.organization).find((e) => e.namespace === namespace)?.type;
}

export function instanceId(instance: Meta): string {
  return `${instance.metadata?.namespace ?? ''}/${instance.metadata?.name ?? ''}`;
}

/** Whether `rule` selects an instance of this environment type and labels. */
export function ruleSelects(rule: Pick<GovernanceRule, 'environmentTypes' | 'instanceSelector'>, environmentType: string, labels: Record<string, string> | undefined): boolean {
  if (rule.environmentTypes && rule.environmentTypes.length > 0 && !(rule.environmentTypes as readonly string[]).includes(environmentType)) return false;
  if (rule.instanceSelector === undefined) return true;
  return matchesSelector(labels, rule.instanceSelector as LabelSelector);
}

/** One failed requirement: `summary` fits an admission warning, `message` says how to fix it. */
export interface Failure {
  rule: string;
  requirement: Requirement;
  summary: string;
  message: string;
}

const CORS_WILDCARD = '*';
const MAX_SHOWN_URL = 200;

function shown(url: string): string {
  return JSON.stringify(url.length > MAX_SHOWN_URL ? `${url.slice(0, MAX_SHOWN_URL)}…` : url);
}

/** Whether the instance's upstream is an https URL or a backend inside the cluster (a backendRef or a *.svc URL). */
export function upstreamProblem(instance: Pick<ApiInstance, 'spec'>): string | undefined {
  const upstream = instance.spec?.upstream;
  if (upstream?.backendRef) return undefined;
  const url = upstream?.url;
  if (typeof url !== 'string') return 'it has no upstream';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `spec.upstream.url ${shown(url)} is not a URL`;
  }
  if (parsed.protocol === 'https:') return undefined;
  const host = parsed.hostname.toLowerCase();
  if (host.endsWith('.svc') || host.endsWith('.svc.cluster.local')) return undefined;
  return `spec.upstream.url ${shown(url)} is plain http to a host outside the cluster`;
}

/** The Asset an instance names, resolved in its organization (as the ApiInstance reconciler does), and whether it is Ready. */
export function assetProblem(snapshot: Snapshot, instance: InstanceLike): string | undefined {
  const ns = instance.metadata?.namespace ?? '';
  const owner = ownerOf(snapshot, ns);
  const ref = instance.spec?.assetRef;
  if (!owner || !ref?.name) return `spec.assetRef does not resolve: namespace "${ns}" belongs to no Organization or no Asset is named`;
  const home = owner.organization.spec?.homeNamespace ?? '';
  const assetNs = ref.namespace ?? home;
  const assetOwner = ownerOf(snapshot, assetNs)?.organization;
  if (assetNs !== home && (!assetOwner || orgName(assetOwner) !== orgName(owner.organization))) {
    return `spec.assetRef looks in namespace "${assetNs}", which is not Organization "${orgName(owner.organization)}"'s`;
  }
  const asset = snapshot.assets(assetNs).find((a) => a.metadata?.name === ref.name && !a.metadata?.deletionTimestamp);
  if (!asset) return `Asset "${ref.name}" does not exist in namespace "${assetNs}"`;
  const ready = asset.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') return `Asset "${assetNs}/${ref.name}" is not Ready (${ready ? ready.reason : 'not validated yet'})`;
  return undefined;
}

/** The tiers of an instance: its own and those of the ApiGroups it belongs to. */
function tierCount(inputs: GovernanceInputs, instance: InstanceLike): number {
  const ns = instance.metadata?.namespace ?? '';
  const name = instance.metadata?.name;
  const live = (t: TierLike) => !t.metadata?.deletionTimestamp;
  const own = inputs.slaTiers(ns).filter((t) => live(t) && t.spec?.apiInstanceRef?.name === name).length;
  // The groups that list it, in its organization's home namespace (model/api-group.ts groupsOfInstance, with the owner kept per snapshot).
  const home = ownerOf(inputs.snapshot, ns)?.organization.spec?.homeNamespace;
  const groups = home
    ? inputs.snapshot.apiGroups(home).filter((g) => !g.metadata?.deletionTimestamp && (g.spec?.instances ?? []).some((r) => r.namespace === ns && r.name === name))
    : [];
  const fromGroups = groups.reduce((n, g) => n + inputs.slaTiers(g.metadata?.namespace ?? '').filter((t) => live(t) && t.spec?.apiGroupRef?.name === g.metadata?.name).length, 0);
  return own + fromGroups;
}

function corsOrigins(policy: PolicyLike): unknown[] {
  const origins = (policy.spec.config as { allowOrigins?: unknown } | undefined)?.allowOrigins;
  return Array.isArray(origins) ? origins : [];
}

/**
 * What `instance` lacks for `rule`, given the policies that apply to it
 * (`applied`; the caller passes the ones after a change to judge it), and
 * only for the requirements in `only` (default: all).
 */
export function checkRule(inputs: GovernanceInputs, instance: InstanceLike, rule: Pick<GovernanceRule, 'name' | 'require'>, applied: readonly PolicyLike[], only: readonly Requirement[] = REQUIREMENTS): Failure[] {
  const name = instance.metadata?.name ?? '';
  const ns = instance.metadata?.namespace ?? '';
  const req = rule.require ?? {};
  const out: Failure[] = [];
  const fail = (requirement: Requirement, summary: string, fix: string) => out.push({ rule: rule.name, requirement, summary, message: `${summary}: ${fix}` });
  const has = (types: readonly string[]) => applied.some((p) => types.includes(p.spec.type));
  const target = `spec.targetRef {name: ${name}} in namespace "${ns}", or a selector matching its labels`;
  if (only.includes('policies')) {
    for (const group of req.policies ?? []) {
      const types = Array.isArray(group?.anyOf) ? group.anyOf : [];
      if (types.length === 0 || has(types)) continue;
      fail('policies', `no ${types.join(' or ')} Policy applies to ApiInstance "${ns}/${name}"`, `apply a Policy of type ${types.join(' or ')} with ${target}`);
    }
  }
  if (req.rateLimitOrTiers && only.includes('rateLimitOrTiers') && !has(['rate-limit', 'spike-control']) && tierCount(inputs, instance) === 0) {
    fail('rateLimitOrTiers', `ApiInstance "${ns}/${name}" has no rate-limit or spike-control Policy and no SlaTier: its traffic is unlimited`, `apply a rate-limit Policy with ${target}, or create an SlaTier with spec.apiInstanceRef {name: ${name}}`);
  }
  if (req.corsWithoutWildcard && only.includes('corsWithoutWildcard')) {
    const cors = applied.filter((p) => p.spec.type === 'cors');
    const wild = cors.find((p) => corsOrigins(p).includes(CORS_WILDCARD));
    if (cors.length === 0) fail('corsWithoutWildcard', `no cors Policy applies to ApiInstance "${ns}/${name}"`, `apply a cors Policy listing the allowed origins in spec.config.allowOrigins, with ${target}`);
    else if (wild) fail('corsWithoutWildcard', `cors Policy "${wild.metadata?.name ?? ''}" of ApiInstance "${ns}/${name}" allows the origin "*" (any site)`, 'list the origins that may call the API in its spec.config.allowOrigins instead of "*"');
  }
  if (req.secureUpstream && only.includes('secureUpstream')) {
    const problem = upstreamProblem(instance);
    if (problem) fail('secureUpstream', `ApiInstance "${ns}/${name}": ${problem}`, 'use an https:// URL, or a Service of the namespace (spec.upstream.backendRef)');
  }
  if (req.validAsset && only.includes('validAsset')) {
    const problem = assetProblem(inputs.snapshot, instance);
    if (problem) fail('validAsset', `ApiInstance "${ns}/${name}": ${problem}`, 'create or fix the Asset (its Ready condition says why), or point spec.assetRef at a Ready Asset of the organization');
  }
  if (req.alert && only.includes('alert') && !inputs.alerts(ns).some((a) => !a.metadata?.deletionTimestamp && a.spec?.apiInstanceRef?.name === name)) {
    fail('alert', `no Alert watches ApiInstance "${ns}/${name}"`, `create an Alert in namespace "${ns}" with spec.apiInstanceRef {name: ${name}}`);
  }
  if (req.tiersEnforced && only.includes('tiersEnforced')) {
    const problem = tiersProblem(instance, applied);
    if (problem) fail('tiersEnforced', `ApiInstance "${ns}/${name}": ${problem}`, `apply an api-key or client-id-enforcement Policy with ${target}`);
  }
  return out;
}

/**
 * Whether the instance's tiers are enforced: its TiersEnforced condition (the
 * ApiInstance reconciler's), and no longer so when the credential policy the
 * condition names does not apply any more (a change the condition has not
 * caught up with).
 */
function tiersProblem(instance: InstanceLike, applied: readonly PolicyLike[]): string | undefined {
  const c = instance.status?.conditions?.find((x) => x.type === 'TiersEnforced');
  if (!c) return 'its TiersEnforced condition is not reported yet';
  if (c.status !== 'True') return `its SlaTiers are not enforced (TiersEnforced ${c.status}, ${c.reason})`;
  const credential = applied.some((p) => (CREDENTIAL_POLICY_TYPES as readonly string[]).includes(p.spec.type));
  if (c.reason !== 'NoTiers' && !credential) return 'its SlaTiers would not be enforced: no api-key or client-id-enforcement Policy applies to it';
  return undefined;
}

/** Every failure of one instance against one ruleset's rules that select it; undefined when no rule selects it. */
export function checkInstance(
  inputs: GovernanceInputs,
  ruleset: RulesetLike,
  scoped: ScopedInstance,
  opts: { applied?: readonly PolicyLike[]; only?: readonly Requirement[] } = {},
): Failure[] | undefined {
  const { instance, environmentType } = scoped;
  const rules = (Array.isArray(ruleset.spec?.rules) ? ruleset.spec.rules : []).filter((r) => ruleSelects(r, environmentType, instance.metadata?.labels));
  if (rules.length === 0) return undefined;
  const applied = opts.applied ?? policiesFor(instance, inputs.policies(instance.metadata?.namespace ?? ''));
  return rules.flatMap((r) => checkRule(inputs, instance, r, applied, opts.only));
}

export interface RulesetReport {
  scope: RulesetScope;
  evaluated: number;
  conforming: string[];
  conformingCount: number;
  nonConforming: Array<{ namespace: string; name: string; failures: Array<{ rule: string; requirement: string; message: string }> }>;
  nonConformingCount: number;
  /** Non-conforming instances per organization and rule, every pair of the scope's organizations and the rules (0 included). */
  byOrganizationAndRule: Array<{ organization: string; rule: string; count: number }>;
  /** Failures by instance id, for the instances' Conformant conditions. */
  failures: Map<string, Failure[]>;
  /** Why nothing was evaluated: the ruleset is beyond its namespace's bound (rulesetLimitProblem). */
  tooMany?: string;
}

/** The most failures one instance's report lists. */
export const MAX_FAILURES_PER_INSTANCE = 64;

/**
 * The whole report of one ruleset: lists bounded, counts complete. `siblings` (the rulesets of its namespace):
 * an organization's ruleset beyond MAX_ORGANIZATION_RULESETS reads nothing (`tooMany`).
 */
export function evaluateRuleset(inputs: GovernanceInputs, ruleset: RulesetLike & { metadata?: { namespace?: string } }, siblings: readonly RulesetLike[] = [ruleset]): RulesetReport {
  const scope = rulesetScope(inputs.snapshot, ruleset.metadata?.namespace ?? '', inputs.platformNamespace);
  const rules = Array.isArray(ruleset.spec?.rules) ? ruleset.spec.rules : [];
  const report: RulesetReport = { scope, evaluated: 0, conforming: [], conformingCount: 0, nonConforming: [], nonConformingCount: 0, byOrganizationAndRule: [], failures: new Map() };
  const tooMany = scope.kind === 'organization' ? rulesetLimitProblem(ruleset, siblings) : undefined;
  if (tooMany) return { ...report, tooMany };
  const counts = new Map<string, Map<string, number>>();
  const orgs = scope.kind === 'cluster' ? inputs.snapshot.organizations().map(orgName) : scope.kind === 'organization' ? [orgName(scope.organization)] : [];
  for (const o of orgs) counts.set(o, new Map(rules.map((r) => [r.name, 0])));
  for (const scoped of instancesInScope(inputs.snapshot, scope)) {
    const failures = checkInstance(inputs, ruleset, scoped);
    if (!failures) continue;
    report.evaluated++;
    const id = instanceId(scoped.instance);
    report.failures.set(id, failures);
    if (failures.length === 0) {
      report.conformingCount++;
      if (report.conforming.length < MAX_REPORTED_INSTANCES) report.conforming.push(id);
      continue;
    }
    report.nonConformingCount++;
    if (report.nonConforming.length < MAX_REPORTED_INSTANCES) {
      report.nonConforming.push({
        namespace: scoped.instance.metadata?.namespace ?? '',
        name: scoped.instance.metadata?.name ?? '',
        failures: failures.slice(0, MAX_FAILURES_PER_INSTANCE).map(({ rule, requirement, message }) => ({ rule, requirement, message })),
      });
    }
    const perRule = counts.get(scoped.organization);
    for (const rule of new Set(failures.map((f) => f.rule))) perRule?.set(rule, (perRule.get(rule) ?? 0) + 1);
  }
  for (const [organization, perRule] of counts) for (const [rule, count] of perRule) report.byOrganizationAndRule.push({ organization, rule, count });
  return report;
}

/** The Conformant condition of an instance, given its failures per ruleset ("ns/name") that select it. */
export function conformantCondition(results: ReadonlyMap<string, readonly Failure[]>): { type: 'Conformant'; status: 'True' | 'False'; reason: string; message: string } {
  const names = [...results.keys()].sort();
  if (names.length === 0) return { type: 'Conformant', status: 'True', reason: 'NoRulesetSelects', message: 'no GovernanceRuleset selects this instance' };
  const failed = names.filter((n) => (results.get(n) ?? []).length > 0);
  if (failed.length === 0) {
    return { type: 'Conformant', status: 'True', reason: 'Conformant', message: `passes GovernanceRuleset${names.length === 1 ? '' : 's'} ${names.map((n) => `"${n}"`).join(', ')}` };
  }
  const shownRulesets = failed.slice(0, 16);
  const parts = shownRulesets.map((n) => {
    const rules = [...new Set((results.get(n) ?? []).map((f) => `${f.rule} (${f.requirement})`))];
    return `"${n}" rules ${rules.slice(0, 16).join(', ')}`;
  });
  const more = failed.length > shownRulesets.length ? ` and ${failed.length - shownRulesets.length} more` : '';
  return {
    type: 'Conformant',
    status: 'False',
    reason: 'RulesetsFailed',
    message: `fails GovernanceRuleset${failed.length === 1 ? '' : 's'} ${parts.join('; ')}${more}; the rulesets' status.nonConforming says how to fix each`,
  };
}

/**
 * The rulesets of an organization's home namespace that count: the MAX_ORGANIZATION_RULESETS oldest live ones
 * (creationTimestamp, then name). Each ruleset is evaluated over every instance of the organization on every
 * change, warned at every admission there and counted in the gauge per rule: without a bound, one organization's
 * rulesets would multiply the shared operator's and webhook's work and the gauge's series. The platform namespace
 * (platform admins only) is not bounded.
 */
export function countedRulesets<R extends RulesetLike>(rulesets: readonly R[]): R[] {
  return rulesets.filter((r) => !r.metadata?.deletionTimestamp).sort(olderInstanceFirst).slice(0, MAX_ORGANIZATION_RULESETS);
}

/** Why `ruleset` (of an organization's home namespace; `siblings`: that namespace's rulesets) is not evaluated, or undefined when it counts. */
export function rulesetLimitProblem(ruleset: RulesetLike, siblings: readonly RulesetLike[]): string | undefined {
  const counted = countedRulesets(siblings);
  if (counted.some((r) => instanceId(r) === instanceId(ruleset))) return undefined;
  return (
    `namespace "${ruleset.metadata?.namespace ?? ''}" holds more than ${MAX_ORGANIZATION_RULESETS} GovernanceRulesets and only the ${MAX_ORGANIZATION_RULESETS} oldest are evaluated ` +
    `(${quoteList(counted.map((r) => r.metadata?.name ?? ''))}): this one reads nothing. Add its rules to one of them (up to 32 each), or delete one`
  );
}

/** The admission refusal of a new ruleset in a home namespace that already holds MAX_ORGANIZATION_RULESETS live ones (`existing`), or undefined. */
export function newRulesetLimitProblem(namespace: string, name: string, existing: readonly RulesetLike[]): string | undefined {
  const others = existing.filter((r) => !r.metadata?.deletionTimestamp && r.metadata?.name !== name);
  if (others.length < MAX_ORGANIZATION_RULESETS) return undefined;
  const names = others.map((r) => r.metadata?.name ?? '').sort();
  return (
    `namespace "${namespace}" already holds ${others.length} GovernanceRulesets (${quoteList(names.slice(0, MAX_ORGANIZATION_RULESETS))}${names.length > MAX_ORGANIZATION_RULESETS ? ', …' : ''}), ` +
    `the most an organization's home namespace may hold (${MAX_ORGANIZATION_RULESETS}): add the rules to one of them (up to 32 each), or delete one`
  );
}

/** The rulesets an instance in `namespace` is judged by: its organization's (home namespace, the ones that count) and the platform's. */
export function rulesetsFor<R extends RulesetLike>(snapshot: Snapshot, namespace: string, platformNamespace: string, rulesetsOf: (namespace: string) => readonly R[]): R[] {
  const owner = ownerOf(snapshot, namespace);
  if (!owner || owner.role !== 'environment') return [];
  const home = owner.organization.spec?.homeNamespace ?? '';
  const live = (r: R) => !r.metadata?.deletionTimestamp;
  const platform = platformNamespace && platformNamespace !== home ? rulesetsOf(platformNamespace).filter(live) : [];
  return [...countedRulesets(rulesetsOf(home)), ...platform];
}

/** An instance's failures per ruleset that selects it (the Conformant condition's input). */
export function instanceResults(inputs: GovernanceInputs, instance: InstanceLike, rulesets: readonly RulesetLike[]): Map<string, Failure[]> {
  const out = new Map<string, Failure[]>();
  const ns = instance.metadata?.namespace ?? '';
  for (const ruleset of rulesets) {
    const scope = rulesetScope(inputs.snapshot, ruleset.metadata?.namespace ?? '', inputs.platformNamespace);
    const environmentType = scopeCovers(inputs.snapshot, scope, ns);
    if (!environmentType) continue;
    const failures = checkInstance(inputs, ruleset, { instance, organization: '', environmentType });
    if (failures) out.set(instanceId(ruleset), failures);
  }
  return out;
}

/** The longest admission warning: the apiserver shortens longer ones. */
export const MAX_WARNING_LENGTH = 256;
/** The most warnings one admission answer carries. */
export const MAX_WARNINGS = 8;

/** Admission warnings: failures a change brings that were not there before (`before` undefined: a new object). */
export function newFailureWarnings(
  subject: string,
  after: ReadonlyMap<string, readonly Failure[]>,
  before: ReadonlyMap<string, readonly Failure[]> | undefined,
): string[] {
  const out: string[] = [];
  for (const [ruleset, failures] of after) {
    const known = new Set((before?.get(ruleset) ?? []).map((f) => `${f.rule}\u0000${f.summary}`));
    for (const f of failures) {
      if (known.has(`${f.rule}\u0000${f.summary}`)) continue;
      const text = `${subject} breaks GovernanceRuleset "${ruleset}" rule "${f.rule}": ${f.summary}`;
      out.push(text.length > MAX_WARNING_LENGTH ? `${text.slice(0, MAX_WARNING_LENGTH - 1)}…` : text);
    }
  }
  return out.slice(0, MAX_WARNINGS);
}
