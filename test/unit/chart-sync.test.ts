// The chart's copies of generated files (CRDs, ClusterRoles, the webhook
// configuration) and the Argo CD snippet must equal what hack/sync-chart.ts
// produces from their sources; otherwise the chart installs something stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ROOT, CHART, syncedFiles, strayFiles } from '../../hack/sync-chart.ts';
import { KINDS } from '../../api/v1alpha1/index.ts';
import { renderValidatingWebhookConfiguration } from '../../webhook/registration.ts';

const HINT = 'run `node hack/sync-chart.ts` (after `make generate`)';

test('every copy in the chart equals its source', async () => {
  const files = await syncedFiles();
  const stale: string[] = [];
  for (const [rel, text] of files) {
    const current = await readFile(join(ROOT, rel), 'utf8').catch(() => undefined);
    if (current !== text) stale.push(rel);
  }
  assert.deepEqual(stale, [], `stale: ${stale.join(', ')}; ${HINT}`);
  assert.deepEqual(await strayFiles(files), [], `files no source produces any more; ${HINT}`);
});

test('the chart carries a CRD for every kind and every generated ClusterRole', async () => {
  const files = await syncedFiles();
  const crds = [...files.keys()].filter((p) => p.startsWith(`${CHART}/crds/`));
  assert.equal(crds.length, KINDS.length);
  const roles = [...files]
    .filter(([p]) => p.startsWith(`${CHART}/files/rbac/`))
    .flatMap(([, text]) => parseAllDocuments(text).map((d) => (d.toJS() as { metadata: { name: string } }).metadata.name))
    .sort();
  // The chart's templates look these names up (templates/rbac.yaml); a rename must fail here, not at install time.
  assert.deepEqual(roles, ['crossgate-authz', 'crossgate-edit', 'crossgate-gateway', 'crossgate-operator', 'crossgate-operator-namespace', 'crossgate-view', 'crossgate-webhook']);
});

test("the webhook file's webhook is registration.ts's, for any namespace and Service", async () => {
  const text = await readFile(join(ROOT, CHART, 'files/webhook/validatingwebhookconfiguration.yaml'), 'utf8');
  const file = parse(text) as { webhooks: Array<Record<string, unknown>> };
  const fromCode = renderValidatingWebhookConfiguration({ operatorNamespace: 'RELEASE-NAMESPACE', clientConfig: { service: { namespace: 'RELEASE-NAMESPACE', name: 'WEBHOOK-SERVICE' } } });
  assert.deepEqual(file.webhooks, JSON.parse(JSON.stringify(fromCode.webhooks)));
  const w = file.webhooks[0]!;
  assert.equal(w['failurePolicy'], 'Fail');
  assert.equal(w['sideEffects'], 'None');
  assert.equal(w['timeoutSeconds'], 5);
});
