import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { generatedFiles } from '../../../hack/generate.ts';
import { KINDS } from '../../../api/v1alpha1/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('committed CRDs match api/ (run `make generate` when this fails)', async () => {
  for (const [rel, text] of generatedFiles()) {
    const current = await readFile(join(root, rel), 'utf8').catch(() => '<missing>');
    assert.equal(current, text, `${rel} is stale: run \`make generate\``);
  }
});

/** Every property in a CRD schema must carry a description, so `kubectl explain` reads like documentation. */
function undocumented(node: unknown, path: string, out: string[]): string[] {
  if (!node || typeof node !== 'object') return out;
  const n = node as Record<string, unknown>;
  if ((typeof n['description'] !== 'string' || n['description'] === '') && !path.endsWith('.metadata')) out.push(path || '/');
  for (const [k, v] of Object.entries((n['properties'] as Record<string, unknown>) ?? {})) undocumented(v, `${path}.${k}`, out);
  if (n['items']) undocumented(n['items'], `${path}[]`, out);
  if (n['additionalProperties'] && typeof n['additionalProperties'] === 'object') {
    // map values are described by the map itself
  }
  return out;
}

test('every field of every kind has a description', () => {
  for (const def of KINDS) {
    const crd = parse([...generatedFiles()].find(([p]) => p.includes(`_${def.plural}.`))![1]);
    const schema = crd.spec.versions[0].schema.openAPIV3Schema;
    assert.deepEqual(undocumented(schema, def.kind, []), [], `${def.kind} has fields without description`);
  }
});

test('every kind is in the crossgate category with a status subresource and printer columns', () => {
  for (const [rel, text] of generatedFiles()) {
    if (!rel.startsWith('crds/')) continue;
    const crd = parse(text);
    assert.deepEqual(crd.spec.names.categories, ['crossgate']);
    assert.deepEqual(crd.spec.versions[0].subresources, { status: {} });
    assert.ok(crd.spec.versions[0].additionalPrinterColumns.length >= 3, crd.metadata.name);
    assert.ok(crd.spec.names.shortNames.length >= 1, crd.metadata.name);
  }
});
