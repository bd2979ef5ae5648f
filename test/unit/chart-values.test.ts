// values.yaml and values.schema.json describe the same values: the defaults
// validate, every value has a `# --` comment, every schema property exists in
// values.yaml, and the chart's appVersion is package.json's version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { isMap, isScalar, parse, parseDocument, type Pair, type YAMLMap } from 'yaml';
import { ROOT, CHART } from '../../hack/sync-chart.ts';

const read = (rel: string) => readFile(join(ROOT, rel), 'utf8');
type Schema = { type?: string | string[]; properties?: Record<string, Schema>; additionalProperties?: boolean | Schema; description?: string };

async function load() {
  const valuesText = await read(`${CHART}/values.yaml`);
  const schema = JSON.parse(await read(`${CHART}/values.schema.json`)) as Schema;
  return { valuesText, values: parse(valuesText) as Record<string, unknown>, schema };
}

test('the default values validate against values.schema.json', async () => {
  const { values, schema } = await load();
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  assert.ok(validate(values), JSON.stringify(validate.errors, null, 2));
});

test('the schema refuses typos and wrong types', async () => {
  const { values, schema } = await load();
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  const bad = structuredClone(values) as any;
  bad.operator.replica = 2;
  assert.equal(validate(bad), false);
  const wrong = structuredClone(values) as any;
  wrong.webhook.timeoutSeconds = 60;
  assert.equal(validate(wrong), false);
});

test('every value in values.yaml is documented with a "# --" comment', async () => {
  const { valuesText } = await load();
  const doc = parseDocument(valuesText);
  const undocumented: string[] = [];
  const walk = (map: YAMLMap, path: string[]) => {
    for (const [i, pair] of (map.items as Pair[]).entries()) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      // The comment above a map's first key belongs to the map in yaml's tree.
      const comment = (isScalar(pair.key) ? pair.key.commentBefore : undefined) ?? (i === 0 ? map.commentBefore : undefined) ?? '';
      const documented = /(^|\n)\s*-- \S/.test(comment);
      // A map without its own comment is a group: each of its values must be documented.
      if (!documented && isMap(pair.value) && pair.value.items.length > 0) walk(pair.value, [...path, key]);
      else if (!documented) undocumented.push([...path, key].join('.'));
    }
  };
  // The first key's comment sits on the document when it follows the file header.
  const first = (doc.contents as YAMLMap).items[0] as Pair;
  if (isScalar(first.key) && !first.key.commentBefore && doc.commentBefore) first.key.commentBefore = doc.commentBefore;
  walk(doc.contents as YAMLMap, []);
  assert.deepEqual(undocumented, []);
});

test('every property of the schema is a value in values.yaml, with a description', async () => {
  const { values, schema } = await load();
  const missing: string[] = [];
  const walk = (s: Schema, v: unknown, path: string[]) => {
    for (const [k, sub] of Object.entries(s.properties ?? {})) {
      const p = [...path, k];
      if (!sub.description) missing.push(`${p.join('.')} (no description)`);
      if (v === null || typeof v !== 'object' || !(k in (v as object))) missing.push(`${p.join('.')} (not in values.yaml)`);
      else {
        const value = (v as Record<string, unknown>)[k];
        // An empty object by default (e.g. issuerRef: {}) is for the user to fill: its schema describes what may go in.
        const empty = value !== null && typeof value === 'object' && Object.keys(value).length === 0;
        if (sub.properties && !empty) walk(sub, value, p);
      }
    }
  };
  walk(schema, values, []);
  assert.deepEqual(missing, []);
});

test("the chart's appVersion is package.json's version", async () => {
  const chart = parse(await read(`${CHART}/Chart.yaml`)) as { appVersion: string; version: string };
  const pkg = JSON.parse(await read('package.json')) as { version: string };
  assert.equal(chart.appVersion, pkg.version);
});
