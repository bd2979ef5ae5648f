// Secret material logged through the operator's logger must not reach the output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, forLog, REDACTED } from '../../../kube/logger.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, logger: createLogger({ destination: stream, level: 'debug' }) };
}

const RAW_KEY = 'cgk_live_7f3a9c2e5b1d4f6a8c0e2b4d6f8a1c3e';
const B64_KEY = Buffer.from(RAW_KEY).toString('base64');

const secret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'team-a-key',
    namespace: 'mule-united-dev',
    labels: { 'crossgate.dev/apikey': 'team-a' },
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ stringData: { apiKey: RAW_KEY } }) },
    managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:data': { 'f:apiKey': {} } } }],
  },
  type: 'Opaque',
  data: { apiKey: B64_KEY },
  stringData: { apiKey: RAW_KEY },
};

test('a Secret logged through the logger does not contain its data', () => {
  const { lines, logger } = capture();
  logger.info({ obj: secret }, 'reconciled secret');
  logger.info({ secret }, 'under the secret field');
  logger.info({ object: secret }, 'under the object field');
  logger.info({ nested: { secret: { data: secret.data } } }, 'nested data');
  logger.info({ whatever: secret }, 'under an arbitrary field');
  logger.info(secret, 'as the merging object');
  const child = logger.child({ controller: 'apikey' });
  child.warn({ item: { data: secret.data, stringData: secret.stringData } }, 'child logger');
  const out = lines.join('\n');
  assert.equal(lines.length, 7);
  assert.ok(!out.includes(RAW_KEY), 'raw key leaked');
  assert.ok(!out.includes(B64_KEY), 'base64 key leaked');
  for (const l of lines) JSON.parse(l); // JSON lines
  const first = JSON.parse(lines[0]!);
  assert.equal(first.obj.metadata.name, 'team-a-key', 'metadata stays useful');
  assert.equal(first.obj.data, undefined);
  assert.equal(first.level, 'info');
  assert.ok(out.includes(REDACTED));
});

test('tokens, passwords, API keys and Authorization headers are censored', () => {
  const { lines, logger } = capture();
  logger.info({ token: 'tok-123456', password: 'pw-123456', apiKey: 'ak-123456', key: 'k-123456' }, 'top level');
  logger.info({ req: { headers: { authorization: 'Bearer bt-123456' } } }, 'request');
  logger.info({ cfg: { user: { token: 'tok-abcdef' } } }, 'two levels');
  logger.info({ headers: { authorization: 'Basic ba-123456' } }, 'headers');
  const out = lines.join('\n');
  for (const s of ['tok-123456', 'pw-123456', 'ak-123456', 'k-123456', 'bt-123456', 'tok-abcdef', 'ba-123456']) {
    assert.ok(!out.includes(s), `${s} leaked`);
  }
});

test('forLog strips Secrets to metadata and drops managedFields and last-applied everywhere', () => {
  const s = forLog(secret) as Record<string, any>;
  assert.deepEqual(Object.keys(s).sort(), ['apiVersion', 'kind', 'metadata', 'type']);
  assert.equal(s.metadata.managedFields, undefined);
  assert.equal(s.metadata.annotations, undefined);
  assert.ok(!JSON.stringify(s).includes(RAW_KEY));
  assert.equal(secret.data.apiKey, B64_KEY, 'input not mutated');

  const org = { apiVersion: 'crossgate.dev/v1alpha1', kind: 'Organization', metadata: { name: 'o', managedFields: [{}], annotations: { a: 'b' } }, spec: { domain: 'd' } };
  const o = forLog(org) as Record<string, any>;
  assert.deepEqual(o.spec, { domain: 'd' });
  assert.deepEqual(o.metadata.annotations, { a: 'b' });
  assert.equal(o.metadata.managedFields, undefined);
  assert.equal(forLog('text'), 'text');
  assert.equal(forLog(null), null);
});

test('an application Secret (client ID and secret) logged through the logger does not contain the secret', () => {
  const { lines, logger } = capture();
  const raw = 'cgs_' + 'S'.repeat(43) + '_0badc0de';
  const app = {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
    metadata: { name: 'booking-client', namespace: 'mule-united-prod', labels: { 'crossgate.dev/application': 'booking' } },
    data: { clientId: Buffer.from('cgc_id').toString('base64'), clientSecret: Buffer.from(raw).toString('base64') },
    stringData: { clientSecret: raw },
  };
  logger.info({ obj: app }, 'reconciled secret');
  logger.info(app, 'as the merging object');
  logger.info({ clientSecret: raw }, 'the field itself');
  logger.info({ nested: { clientSecret: raw } }, 'one level down');
  const out = lines.join('\n');
  assert.ok(!out.includes(raw), 'raw client secret leaked');
  assert.ok(!out.includes(Buffer.from(raw).toString('base64')), 'base64 client secret leaked');
});
