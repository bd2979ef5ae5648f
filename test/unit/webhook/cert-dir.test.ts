import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import 'reflect-metadata';
import { generateCa, issueServingCertificate } from '../../../webhook/certs.ts';
import { watchCertDir } from '../../../webhook/cert-dir.ts';
import { silentLogger } from '../../../kube/logger.ts';

test('cert-manager mode: the pair is read from tls.crt/tls.key and re-read when the files change', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'crossgate-certdir-'));
  try {
    const now = new Date();
    const ca = await generateCa(now);
    const one = await issueServingCertificate(ca, { dnsNames: ['crossgate-webhook.crossgate-system.svc'], ipAddresses: [] }, now);
    const two = await issueServingCertificate(ca, { dnsNames: ['crossgate-webhook.crossgate-system.svc'], ipAddresses: [] }, now);
    writeFileSync(join(dir, 'tls.crt'), one.cert);
    writeFileSync(join(dir, 'tls.key'), one.key);
    const seen: string[] = [];
    const w = await watchCertDir(dir, (p) => seen.push(p.cert), silentLogger(), 200);
    try {
      assert.deepEqual(seen, [one.cert]);
      // Like a Secret volume update: new files swapped in.
      writeFileSync(join(dir, 'tls.crt.new'), two.cert);
      writeFileSync(join(dir, 'tls.key'), two.key);
      renameSync(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
      for (let i = 0; i < 50 && seen.length < 2; i++) await sleep(50);
      assert.equal(seen.at(-1), two.cert);
    } finally {
      w.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cert-manager mode: missing files are a clear start-up error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'crossgate-certdir-'));
  try {
    await assert.rejects(watchCertDir(dir, () => {}, silentLogger()), /cannot read tls\.crt and tls\.key in /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
