import { Type, type Static } from '@sinclair/typebox';
import { AGE_COLUMN, Conditions, KindSchema, ObjectName, ObservedGeneration, StringEnum, type KindDefinition } from './common.ts';

export const AssetType = StringEnum(['oas', 'raml', 'wsdl', 'http', 'graphql', 'asyncapi'] as const, {
  description: 'Kind of asset: oas (OpenAPI 3), raml, wsdl, http (no specification), graphql or asyncapi.',
});

export const AssetSource = Type.Object(
  {
    inline: Type.Optional(Type.String({ description: 'The specification text (YAML or JSON), inline.', maxLength: 524288 })),
    configMapRef: Type.Optional(
      Type.Object(
        {
          name: ObjectName('Name of a ConfigMap in the Asset\'s namespace.'),
          key: Type.String({ description: 'Key in the ConfigMap that holds the specification.', minLength: 1, maxLength: 253 }),
        },
        { description: 'Read the specification from a ConfigMap key.' },
      ),
    ),
  },
  {
    description: 'Where the specification comes from: inline or a ConfigMap, exactly one.',
    'x-kubernetes-validations': [{ rule: 'has(self.inline) != has(self.configMapRef)', message: 'set exactly one of inline or configMapRef' }],
  },
);

export const AssetSpec = Type.Object(
  {
    type: AssetType,
    title: Type.String({ description: 'Title shown in the Exchange, e.g. "Flights EAPI".', minLength: 1, maxLength: 256 }),
    version: Type.String({
      description: 'Asset version (semantic version, e.g. 1.0.0).',
      pattern: '^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$',
      maxLength: 64,
    }),
    description: Type.Optional(Type.String({ description: 'What the asset is for.', maxLength: 4096 })),
    source: Type.Optional(AssetSource),
  },
  {
    description: 'Desired state of the Asset.',
    'x-kubernetes-validations': [
      { rule: "self.type == 'http' || has(self.source)", message: 'a specification source is required for every type but http', fieldPath: '.source' },
    ],
  },
);

export const AssetSummary = Type.Object(
  {
    title: Type.Optional(Type.String({ description: 'Title found in the specification.' })),
    version: Type.Optional(Type.String({ description: 'Version found in the specification.' })),
    specVersion: Type.Optional(Type.String({ description: 'Specification format version, e.g. 3.0.3.' })),
    pathCount: Type.Optional(Type.Integer({ description: 'Number of paths (OAS).', minimum: 0 })),
    operationCount: Type.Optional(Type.Integer({ description: 'Number of operations (OAS).', minimum: 0 })),
  },
  { description: 'What the specification says, in short.' },
);

export const AssetStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    summary: Type.Optional(AssetSummary),
  },
  { description: 'Observed state of the Asset.' },
);

export const Asset = KindSchema(
  'Asset is an Exchange asset of the organization: an API specification (or a plain HTTP API) that can be shared view-only with trusted peers and run as ApiInstances.',
  AssetSpec,
  AssetStatus,
);
export type Asset = Static<typeof Asset>;

export const assetDefinition: KindDefinition<typeof Asset> = {
  kind: 'Asset',
  plural: 'assets',
  singular: 'asset',
  shortNames: ['ast'],
  scope: 'Namespaced',
  description: Asset.description!,
  schema: Asset,
  printerColumns: [
    { name: 'Title', type: 'string', jsonPath: '.spec.title', description: 'Asset title.' },
    { name: 'Type', type: 'string', jsonPath: '.spec.type', description: 'Asset type.' },
    { name: 'Version', type: 'string', jsonPath: '.spec.version', description: 'Asset version.' },
    { name: 'Valid', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Whether the specification is valid.' },
    { name: 'Paths', type: 'integer', jsonPath: '.status.summary.pathCount', description: 'Number of paths in the specification.', priority: 1 },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', description: 'Why.', priority: 1 },
    AGE_COLUMN,
  ],
};
