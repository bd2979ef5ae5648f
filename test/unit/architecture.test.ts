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

test('comments in gateway/, model/ and webhook/ say why, without past profiles or scale figures (those live in docs/performance.md, docs/gateway.md)', () => {
  // "at 100,000 keys", "~1,600 entries", "with 1,000 instances", "was the top hot spot": figures and history age; the docs keep them dated.
  const figure = /\b\d{1,3}(,\d{3})+\s+(keys|instances|entries|routes|objects|requests)\b|~\d[\d,]*\s+(keys|entries|instances)\b|\bhot spot\b|\d+\s*% of (CPU|the CPU|self time)/i;
  const found: string[] = [];
  for (const dir of ['gateway', 'model', 'webhook']) {
    for (const file of sources(join(ROOT, dir))) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        const comment = /^\s*(\/\/|\*|\/\*\*)/.test(line) ? line : line.includes('//') ? line.slice(line.indexOf('//')) : '';
        if (figure.test(comment)) found.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
      });
    }
  }
  assert.deepEqual(found, []);
});
