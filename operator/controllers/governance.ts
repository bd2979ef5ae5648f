// GovernanceRuleset reconciler: evaluates one ruleset over the instances its
// namespace lets it read (model/governance.ts: an organization's home
// namespace reads that organization's environments, the platform namespace
// every organization's) and writes the report to its status (bounded lists,
// complete counts) and the gauge of non-conforming instances per
// organization and rule. It reads caches only: nothing is dialed. Changes of
// instances, policies, tiers, alerts and assets are coalesced (delayMs): one
// evaluation per ruleset per burst.
import type { Manager, Predicate, ReconcileContext } from '../../kube/controller.ts';
import { generationChanged, generationOrMetadataChanged } from '../../kube/controller.ts';
import { ownConditions, rfc3339, type Condition } from '../../kube/conditions.ts';
import { metricsIn } from '../../kube/metrics.ts';
import { normalizeJson } from '../../kube/status.ts';
import { isDeepStrictEqual } from 'node:util';
import { reportConditionChange } from '../../kube/effects.ts';
import { describeScope, evaluateRuleset, rulesetsFor } from '../../model/governance.ts';
import { ownerOfNamespace } from '../../model/ownership.ts';
import type { PlatformSettings } from '../../api/platform.ts';
import { APIGROUPS, APIINSTANCES, ASSETS, NAMESPACES, ORGANIZATIONS, POLICIES, SLATIERS } from '../resources.ts';
import type { Deps } from './deps.ts';
import { GOVERNANCE_ALERTS, GOVERNANCE_RULESETS, governanceReader, specOrCondition, type Ruleset } from './governance-inputs.ts';

/** The field manager of a GovernanceRuleset's status (server-side apply). */
export const GOVERNANCE_MANAGER = 'crossgate-governanceruleset';
/** Changes within this window are one evaluation. */
export const GOVERNANCE_COALESCE_MS = 500;

export interface GovernanceOptions {
  /** The namespace whose rulesets are cluster-wide (the operator's). */
  platformNamespace: string;
  settings?: PlatformSettings;
  now?: () => Date;
}

/** A deletion, or a deletionTimestamp set. */
const goes: Predicate = (e) => e.type === 'delete' || (e.type === 'update' && !e.oldObj?.metadata?.deletionTimestamp && !!e.obj.metadata?.deletionTimestamp);

export function registerGovernanceController(mgr: Manager, deps: Deps & GovernanceOptions): void {
  const now = deps.now ?? (() => new Date());
  const rulesets = mgr.informer<Ruleset>(GOVERNANCE_RULESETS);
  const inputs = governanceReader(mgr, deps.platformNamespace, deps.settings);
  const gauge = mgr.metrics
    ? metricsIn(mgr.metrics.registry).gauge(
        'crossgate_governance_nonconforming_instances',
        'ApiInstances that fail a rule of a GovernanceRuleset, per organization, ruleset (namespace/name) and rule.',
        ['organization', 'ruleset', 'rule'],
      )
    : undefined;
  /** The gauge series each ruleset set last, so a rule, an organization or a ruleset that goes takes its series along. */
  const series = new Map<string, Array<{ organization: string; ruleset: string; rule: string }>>();
  const all = () => rulesets.list().map((r) => `${r.metadata.namespace}/${r.metadata.name}`);
  // The rulesets that may read a namespace: its organization's and the platform's.
  const readers = (o: { metadata?: { namespace?: string } }) =>
    rulesetsFor(inputs().snapshot, o.metadata?.namespace ?? '', deps.platformNamespace, (ns) => rulesets.list().filter((r) => r.metadata.namespace === ns)).map(
      (r) => `${r.metadata.namespace}/${r.metadata.name}`,
    );
  // An Asset lives in a home namespace: the rulesets of its organization and the platform's.
  const assetReaders = (o: { metadata?: { namespace?: string } }) => {
    const owner = ownerOfNamespace(inputs().snapshot, o.metadata?.namespace ?? '');
    const home = owner?.organization.spec?.homeNamespace;
    return rulesets.list().filter((r) => r.metadata.namespace === deps.platformNamespace || r.metadata.namespace === home).map((r) => `${r.metadata.namespace}/${r.metadata.name}`);
  };
  const delayMs = GOVERNANCE_COALESCE_MS;

  mgr.addController({
    name: 'governanceruleset',
    for: { ...GOVERNANCE_RULESETS, predicate: generationChanged },
    workers: 1,
    watches: [
      { resource: APIINSTANCES, map: readers, predicate: specOrCondition('TiersEnforced'), delayMs },
      { resource: POLICIES, map: readers, predicate: generationOrMetadataChanged, delayMs },
      { resource: SLATIERS, map: readers, predicate: generationOrMetadataChanged, delayMs },
      { resource: GOVERNANCE_ALERTS, map: readers, predicate: generationOrMetadataChanged, delayMs },
      { resource: ASSETS, map: assetReaders, predicate: specOrCondition('Ready'), delayMs },
      // A ruleset that goes moves the next of its namespace into the ones evaluated (a new one is the newest: it moves none).
      { resource: GOVERNANCE_RULESETS, map: (o) => rulesets.list().filter((r) => r.metadata.namespace === o.metadata?.namespace).map((r) => `${r.metadata.namespace}/${r.metadata.name}`), predicate: goes },
      // Environments, their types and group memberships decide what is read and selected.
      { resource: ORGANIZATIONS, map: all, predicate: generationOrMetadataChanged, delayMs },
      { resource: NAMESPACES, map: all, predicate: generationOrMetadataChanged, delayMs },
      { resource: APIGROUPS, map: all, predicate: generationOrMetadataChanged, delayMs },
    ],
    reconcile: async (key: string, ctx: ReconcileContext) => {
      const ruleset = rulesets.get(key);
      if (!ruleset || ruleset.metadata.deletionTimestamp) {
        for (const labels of series.get(key) ?? []) gauge?.remove(labels);
        series.delete(key);
        return;
      }
      // An organization's rulesets beyond the bound (model/governance.ts countedRulesets) read nothing.
      const report = evaluateRuleset(inputs(), ruleset, rulesets.list().filter((r) => r.metadata.namespace === ruleset.metadata.namespace));
      const generation = ruleset.metadata.generation ?? 0;
      const previous: Condition[] = deps.status.current(ruleset)?.conditions ?? [];
      const ready =
        report.tooMany
          ? { type: 'Ready', status: 'False' as const, reason: 'TooManyRulesets', message: report.tooMany }
          : report.scope.kind === 'misplaced'
          ? { type: 'Ready', status: 'False' as const, reason: 'Misplaced', message: report.scope.message }
          : {
              type: 'Ready',
              status: 'True' as const,
              reason: 'Evaluated',
              message: `${report.evaluated} instance${report.evaluated === 1 ? '' : 's'} selected: ${report.conformingCount} conforming, ${report.nonConformingCount} not`,
            };
      reportConditionChange(ruleset, previous, ready, { events: deps.events, log: ctx.log, message: 'governance ruleset state changed' });
      const labels = report.byOrganizationAndRule.map((r) => ({ organization: r.organization, ruleset: key, rule: r.rule }));
      for (const old of series.get(key) ?? []) if (!labels.some((l) => l.organization === old.organization && l.rule === old.rule)) gauge?.remove(old);
      report.byOrganizationAndRule.forEach((r, i) => gauge?.set(labels[i]!, r.count));
      series.set(key, labels);
      const fields = {
        scope: report.tooMany ? 'none' : describeScope(report.scope),
        evaluated: report.evaluated,
        conformingCount: report.conformingCount,
        nonConformingCount: report.nonConformingCount,
        conforming: report.conforming,
        nonConforming: report.nonConforming,
      };
      // lastEvaluation moves only with the report: a write per evaluation would wake watchers for nothing.
      const was = (deps.status.current(ruleset) ?? {}) as Record<string, unknown>;
      const unchanged = typeof was['lastEvaluation'] === 'string' && Object.entries(fields).every(([k, v]) => isDeepStrictEqual(normalizeJson(was[k]), normalizeJson(v)));
      await deps.status.applyStatus(
        ruleset,
        GOVERNANCE_RULESETS.plural,
        { observedGeneration: generation, conditions: ownConditions(previous, [ready], generation), ...fields, lastEvaluation: unchanged ? was['lastEvaluation'] : rfc3339(now()) },
        GOVERNANCE_MANAGER,
      );
    },
  });
}
