// The floors of the tree (docs/architecture.md): each folder imports only the
// folders below it. api/ → model/ → kube/ → operator/, webhook/, gateway/; the
// three processes never import one another, so the data plane and admission
// never stand on the operator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What each top folder may import from the project (besides itself). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  api: [],
  model: ['api'],
  kube: ['api', 'model'],
  operator: ['api', 'model', 'kube'],
  webhook: ['api', 'model', 'kube'],
  gateway: ['api', 'model', 'kube'],
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Relative module specifiers of static and dynamic imports and re-exports. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm)) specs.push(m[2]!);
  return specs;
}

test('each folder imports only the floors below it (no webhook/ or gateway/ import of operator/)', () => {
  const violations: string[] = [];
  for (const [floor, allowed] of Object.entries(MAY_IMPORT)) {
    for (const file of sources(join(ROOT, floor))) {
      for (const spec of importsOf(file)) {
        const target = relative(ROOT, normalize(join(dirname(file), spec)));
        const top = target.split(/[\\/]/)[0]!;
        if (top === floor || !(top in MAY_IMPORT)) continue;
        if (!allowed.includes(top)) violations.push(`${relative(ROOT, file)} imports ${target}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('the import scanner sees the imports it must judge', () => {
  const file = join(ROOT, 'webhook', 'rules', 'policy.ts');
  assert.ok(importsOf(file).some((s) => s.includes('model/policy-selection.ts')), 'a static import of model/ is found');
});
