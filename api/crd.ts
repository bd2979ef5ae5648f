// Pure: a KindDefinition becomes a CustomResourceDefinition. hack/generate.ts
// writes the result to crds/; nothing else hand-writes CRD YAML.
import { GROUP, VERSION, type KindDefinition } from './v1alpha1/common.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** TypeBox output is JSON Schema; a CRD wants the structural subset of it. */
export function toStructural(schema: unknown): Json {
  // JSON round trip drops TypeBox's symbol keys ([Kind], [OptionalKind]).
  const plain = JSON.parse(JSON.stringify(schema)) as Json;
  return rewrite(plain);
}

function rewrite(node: Json): Json {
  if (Array.isArray(node)) return node.map(rewrite);
  if (node === null || typeof node !== 'object') return node;
  const out: { [k: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'patternProperties' && value && typeof value === 'object' && !Array.isArray(value)) {
      // Type.Record(String, X) -> patternProperties {"^(.*)$": X}; CRDs only know additionalProperties.
      const entries = Object.values(value);
      if (entries.length !== 1) throw new Error('patternProperties with several patterns cannot be made structural');
      out['additionalProperties'] = rewrite(entries[0] as Json);
      continue;
    }
    out[key] = rewrite(value);
  }
  return out;
}

export function crdFor(def: KindDefinition): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${def.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'crossgate' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: ['crossgate'],
      },
      scope: def.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          schema: { openAPIV3Schema: rootSchema(def) },
        },
      ],
    },
  };
}

function rootSchema(def: KindDefinition): Json {
  const schema = toStructural(def.schema) as { [k: string]: Json };
  // The apiserver fills apiVersion, kind and metadata itself; only spec is the user's duty.
  schema['required'] = ['spec'];
  // The apiserver owns metadata's schema and refuses anything but its type here.
  (schema['properties'] as { [k: string]: Json })['metadata'] = { type: 'object' };
  return schema;
}

export function crdFileName(def: KindDefinition): string {
  return `${GROUP}_${def.plural}.yaml`;
}
