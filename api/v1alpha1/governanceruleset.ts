import { Type, type Static } from '@sinclair/typebox';
import { AGE_COLUMN, Conditions, DnsLabel, KindSchema, ObservedGeneration, READY_COLUMN, REASON_COLUMN, StringEnum, type KindDefinition } from './common.ts';
import { LabelSelector, POLICY_TYPES } from './policy.ts';

/** The most instances a ruleset's status lists by name, per list; the counts cover every instance. */
export const MAX_REPORTED_INSTANCES = 100;
/** The most rules one ruleset holds. */
export const MAX_GOVERNANCE_RULES = 32;
/** The most GovernanceRulesets of one organization's home namespace that are evaluated (the oldest): each one is work over every instance of the organization. */
export const MAX_ORGANIZATION_RULESETS = 8;

export const GovernanceRule = Type.Object(
  {
    name: DnsLabel('Name of the rule, unique in the ruleset; it names the rule in reports, conditions and the gauge.'),
    description: Type.Optional(Type.String({ description: 'What the rule is for, shown with its failures.', maxLength: 512 })),
    environmentTypes: Type.Optional(
      Type.Array(StringEnum(['sandbox', 'production'] as const, { description: 'An environment type of the Organization (spec.environments[].type).' }), {
        description: 'Instances of environments of these types only; absent: every environment.',
        maxItems: 2,
        'x-kubernetes-list-type': 'set',
      }),
    ),
    instanceSelector: Type.Optional(
      Type.Unsafe<Static<typeof LabelSelector>>({ ...LabelSelector, description: 'Instances whose labels match; absent: every instance.' }),
    ),
    require: Type.Object(
      {
        policies: Type.Optional(
          Type.Array(
            Type.Object(
              {
                anyOf: Type.Array(StringEnum(POLICY_TYPES, { description: 'A policy type.' }), {
                  description: 'At least one Policy of one of these types must apply to the instance.',
                  minItems: 1,
                  maxItems: POLICY_TYPES.length,
                  'x-kubernetes-list-type': 'set',
                }),
              },
              { description: 'One policy requirement: any of the listed types.' },
            ),
            { description: 'Policy requirements, all of them, e.g. [{anyOf: [api-key, client-id-enforcement]}].', maxItems: 16, 'x-kubernetes-list-type': 'atomic' },
          ),
        ),
        rateLimitOrTiers: Type.Optional(Type.Boolean({ description: 'A rate-limit or spike-control Policy applies, or the instance has SlaTiers.' })),
        corsWithoutWildcard: Type.Optional(Type.Boolean({ description: 'A cors Policy applies and no cors Policy of the instance allows the origin "*".' })),
        secureUpstream: Type.Optional(Type.Boolean({ description: 'The upstream is an https URL, or an in-cluster backend (spec.upstream.backendRef or a *.svc URL).' })),
        validAsset: Type.Optional(Type.Boolean({ description: 'spec.assetRef resolves to an Asset of the organization whose Ready condition is True.' })),
        alert: Type.Optional(Type.Boolean({ description: 'At least one Alert watches the instance.' })),
        tiersEnforced: Type.Optional(Type.Boolean({ description: 'The instance\'s TiersEnforced condition is True (its SlaTiers are enforced by a credential policy).' })),
      },
      { description: 'What every selected instance must have; each true or non-empty field is one requirement.' },
    ),
  },
  { description: 'One rule: which instances it selects and what they must have.' },
);
export type GovernanceRule = Static<typeof GovernanceRule>;

export const GovernanceRulesetSpec = Type.Object(
  {
    description: Type.Optional(Type.String({ description: 'What the ruleset is for.', maxLength: 1024 })),
    rules: Type.Array(GovernanceRule, {
      description: 'The rules; an instance conforms when it passes every rule that selects it.',
      minItems: 1,
      maxItems: MAX_GOVERNANCE_RULES,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    }),
  },
  { description: 'Desired state of the GovernanceRuleset.' },
);

export const InstanceReport = Type.Object(
  {
    namespace: Type.String({ description: 'Namespace (environment) of the ApiInstance.', maxLength: 63 }),
    name: Type.String({ description: 'Name of the ApiInstance.', maxLength: 253 }),
    failures: Type.Array(
      Type.Object(
        {
          rule: Type.String({ description: 'The rule that failed.', maxLength: 63 }),
          requirement: Type.String({ description: 'The requirement that failed, e.g. policies, secureUpstream.', maxLength: 63 }),
          message: Type.String({ description: 'What is missing and how to fix it.', maxLength: 2048 }),
        },
        { description: 'One failed requirement.' },
      ),
      { description: 'Every failed requirement (bounded).', maxItems: 64 },
    ),
  },
  { description: 'A non-conforming ApiInstance and why.' },
);

export const GovernanceRulesetStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    scope: Type.Optional(Type.String({ description: 'What the ruleset reads: "organization <name>" or "cluster".', maxLength: 300 })),
    evaluated: Type.Optional(Type.Integer({ description: 'Instances selected by at least one rule.', minimum: 0 })),
    conformingCount: Type.Optional(Type.Integer({ description: 'Selected instances that pass every rule.', minimum: 0 })),
    nonConformingCount: Type.Optional(Type.Integer({ description: 'Selected instances that fail at least one rule.', minimum: 0 })),
    conforming: Type.Optional(
      Type.Array(Type.String({ description: 'namespace/name of an ApiInstance.', maxLength: 320 }), {
        description: `Conforming instances, the first ${MAX_REPORTED_INSTANCES} by namespace and name (conformingCount counts all).`,
        maxItems: MAX_REPORTED_INSTANCES,
      }),
    ),
    nonConforming: Type.Optional(
      Type.Array(InstanceReport, {
        description: `Non-conforming instances with their failures, the first ${MAX_REPORTED_INSTANCES} by namespace and name (nonConformingCount counts all).`,
        maxItems: MAX_REPORTED_INSTANCES,
      }),
    ),
    lastEvaluation: Type.Optional(Type.String({ description: 'When the report was last computed.', format: 'date-time' })),
  },
  { description: 'Observed state of the GovernanceRuleset: the conformance report.' },
);

export const GovernanceRuleset = KindSchema(
  'GovernanceRuleset tests ApiInstances against rules (required policy types, a secure upstream, a valid Asset, an Alert, enforced tiers) and reports conforming and non-conforming instances. In an organization\'s home namespace it reads that organization\'s instances only; in the platform namespace (the operator\'s, e.g. crossgate-system) it reads every organization\'s.',
  GovernanceRulesetSpec,
  GovernanceRulesetStatus,
);
export type GovernanceRuleset = Static<typeof GovernanceRuleset>;

export const governanceRulesetDefinition: KindDefinition<typeof GovernanceRuleset> = {
  kind: 'GovernanceRuleset',
  plural: 'governancerulesets',
  singular: 'governanceruleset',
  shortNames: ['govrs'],
  scope: 'Namespaced',
  description: GovernanceRuleset.description!,
  schema: GovernanceRuleset,
  printerColumns: [
    { name: 'Scope', type: 'string', jsonPath: '.status.scope', description: 'Whose instances the ruleset reads.' },
    { name: 'Conforming', type: 'integer', jsonPath: '.status.conformingCount', description: 'Selected instances that pass every rule.' },
    { name: 'Non-Conforming', type: 'integer', jsonPath: '.status.nonConformingCount', description: 'Selected instances that fail a rule.' },
    READY_COLUMN,
    REASON_COLUMN,
    AGE_COLUMN,
  ],
};
