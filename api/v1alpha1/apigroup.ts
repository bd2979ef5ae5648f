import { Type, type Static } from '@sinclair/typebox';
import { AGE_COLUMN, Conditions, DnsLabel, KindSchema, ObjectName, ObservedGeneration, READY_COLUMN, REASON_COLUMN, type KindDefinition } from './common.ts';

/** The most ApiInstances of one ApiGroup: each is a route of the group's grants. */
export const MAX_GROUP_INSTANCES = 32;

export const GroupMemberRef = Type.Object(
  {
    namespace: DnsLabel('Environment namespace of the ApiInstance: one of this organization\'s.'),
    name: ObjectName('Name of the ApiInstance.'),
  },
  { description: 'One ApiInstance of the group.' },
);
export type GroupMemberRef = Static<typeof GroupMemberRef>;

export const ApiGroupSpec = Type.Object(
  {
    displayName: Type.Optional(Type.String({ description: 'Name shown to consumers, e.g. "Travel APIs".', maxLength: 128 })),
    version: Type.Optional(Type.String({ description: 'Version of the group, as the owner names it, e.g. v1.', maxLength: 64 })),
    description: Type.Optional(Type.String({ description: 'What the group offers.', maxLength: 1024 })),
    instances: Type.Array(GroupMemberRef, {
      description: `ApiInstances of this organization that act as one unit (at most ${MAX_GROUP_INSTANCES}): an Application with access to the group calls all of them with one client ID, under one Contract and the group's tiers.`,
      minItems: 1,
      maxItems: MAX_GROUP_INSTANCES,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['namespace', 'name'],
    }),
  },
  { description: 'Desired state of the ApiGroup.' },
);

export const ApiGroupStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    members: Type.Optional(Type.Integer({ description: 'ApiInstances of spec.instances that exist and belong to this organization.', minimum: 0 })),
    missing: Type.Optional(
      Type.Array(Type.String({ description: 'namespace/name of a member left out.', maxLength: 317 }), {
        description: 'Members left out: they do not exist, or are not this organization\'s (see the Ready message).',
        maxItems: MAX_GROUP_INSTANCES,
      }),
    ),
    notServed: Type.Optional(
      Type.Array(
        Type.Object(
          {
            instance: Type.String({ description: 'namespace/name of the member.', maxLength: 317 }),
            reason: Type.String({ description: 'Why its route is not served (the reason its ApiInstance\'s Ready condition gives): InvalidPolicy, UpstreamNotAllowed, RouteConflict, OutsideRouteClaims, RouteTooLarge…', maxLength: 128 }),
          },
          { description: 'A member whose route the gateway does not serve.' },
        ),
        {
          description:
            'Members that resolve but whose route the gateway does not serve (held closed, answering 503, or not emitted): no grant of the group lists them until their ApiInstance is fixed. The MembersServed condition says why for each.',
          maxItems: MAX_GROUP_INSTANCES,
        },
      ),
    ),
  },
  { description: 'Observed state of the ApiGroup.' },
);

export const ApiGroup = KindSchema(
  'ApiGroup is a collection of an organization\'s ApiInstances that act as a single unit: an Application with access to the group calls every member with one client ID, under one Contract and the group\'s SlaTiers. It lives in the organization\'s home namespace.',
  ApiGroupSpec,
  ApiGroupStatus,
);
export type ApiGroup = Static<typeof ApiGroup>;

export const apiGroupDefinition: KindDefinition<typeof ApiGroup> = {
  kind: 'ApiGroup',
  plural: 'apigroups',
  singular: 'apigroup',
  shortNames: ['apig', 'apigs'],
  scope: 'Namespaced',
  description: ApiGroup.description!,
  schema: ApiGroup,
  printerColumns: [
    { name: 'Display Name', type: 'string', jsonPath: '.spec.displayName', description: 'Name shown to consumers.' },
    { name: 'Version', type: 'string', jsonPath: '.spec.version', description: 'Version of the group.' },
    { name: 'Members', type: 'integer', jsonPath: '.status.members', description: 'ApiInstances resolved.' },
    READY_COLUMN,
    REASON_COLUMN,
    AGE_COLUMN,
  ],
};
