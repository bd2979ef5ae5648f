// The real crossgate-authz process: `node gateway/main.ts --mode=authz` spawned
// with a gateway config directory, its gRPC Check listener on 127.0.0.1 (free
// ports) with TLS, client certificates of a CA (mTLS) and an allowed client
// SAN, called with @grpc/grpc-js: an allowed key passes, no key is denied,
// a certificate of the CA naming no allowed SAN and one of another CA are
// refused. Everything in-process tests cannot show: flag and env parsing,
// start-up, the listeners the process really opens. The process is stopped
// after the tests whatever happens (this file's after(), and startProcess's
// SIGKILL when the test process exits).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startProcess, type ManagedProcess } from '../../e2e/support/process.ts';
import { freePort, ROOT } from '../../e2e/support/install.ts';
import { ConfigDir, cred, newKey, policy, route } from './fixtures.ts';
import { check, checkReq, makeCerts, SERVER_CERT, tlsClient, type Client } from './grpc-support.ts';

const SPIFFE = 'spiffe://cluster.local/ns/envoy-gateway-system/sa/envoy';
const TOKEN = 'proxy-token-0123456789abcdef';

describe('crossgate-authz as a process: gRPC Check over mTLS', () => {
  let dir: string;
  let cfg: ConfigDir;
  let authz: ManagedProcess | undefined;
  let target = '';
  let skip: string | undefined;
  const key = newKey();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crossgate-authz-proc-'));
    await writeFile(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
    try {
      makeCerts(dir, [
        SERVER_CERT,
        { name: 'envoy', cn: 'envoy', ext: `extendedKeyUsage=clientAuth\nsubjectAltName=URI:${SPIFFE}` },
        { name: 'other', cn: 'other', ext: 'extendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://cluster.local/ns/default/sa/other' },
        { name: 'stranger', cn: 'envoy' },
      ]);
    } catch (err) {
      skip = `openssl unavailable: ${err instanceof Error ? err.message : String(err)}`;
      return;
    }
    cfg = await ConfigDir.create('authzproc');
    cfg.routes = [route('air/flights', { basePath: '/flights', tiers: [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }], policies: [policy('api-key', {}, 'air/key')] })];
    cfg.credentials = { [key.hash]: cred('air/flights', { contract: 'air/c-main', client: 'buyer/portal' }) };
    await cfg.write();
    const [http, admin, grpcPort] = [await freePort(), await freePort(), await freePort()];
    target = `127.0.0.1:${grpcPort}`;
    // Flags for some settings, env for others: both are read by the real entrypoint.
    authz = startProcess(
      process.execPath,
      [
        join(ROOT, 'gateway/main.ts'),
        '--mode=authz',
        '--token-file', join(dir, 'token'),
        '--gateway', cfg.gateway,
        '--config-dir', cfg.dir,
        '--listen', `127.0.0.1:${http}`,
        '--admin-listen', `127.0.0.1:${admin}`,
        '--grpc-listen', target,
        '--grpc-tls-cert', join(dir, 'server.crt'),
        '--grpc-tls-key', join(dir, 'server.key'),
        '--grpc-client-ca', join(dir, 'ca.crt'),
        '--access-log-listen', 'off',
      ],
      // node:test's after() called from a before() hook would run when the hook ends: this file's after() stops it.
      { name: 'crossgate-authz', env: { AUTHZ_GRPC_CLIENT_SANS: SPIFFE, LOG_LEVEL: 'info' }, noAutoStop: true },
    );
    await authz.waitForLine('authz grpc listening');
    // Ready once the config is loaded.
    for (let i = 0; ; i++) {
      const r = await fetch(`http://127.0.0.1:${admin}/readyz`).catch(() => undefined);
      if (r?.status === 200) break;
      if (i > 200) throw new Error(`authz not ready; last lines:\n${authz.tail(20)}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  });

  after(async () => {
    await authz?.stop();
    await cfg?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  const withClient = async (name: string | undefined, fn: (c: Client) => Promise<void>): Promise<void> => {
    const c = tlsClient(target, dir, name);
    try {
      await fn(c);
    } finally {
      c.close();
    }
  };

  test('Envoy\'s certificate (allowed SAN): a key is allowed with the client identity set and the key removed; no key is denied 401 / UNAUTHENTICATED', async (t) => {
    if (skip) return t.skip(skip);
    await withClient('envoy', async (c) => {
      const ok = await check(c, checkReq('air/flights', '/flights/MX1', { 'x-api-key': key.key }), null);
      assert.equal(ok.status.code, 0);
      assert.deepEqual(
        ok.ok_response.headers.map((h: { header: { key: string; value: string } }) => [h.header.key, h.header.value]),
        [['x-crossgate-client', 'buyer/portal']],
      );
      assert.ok(ok.ok_response.headers_to_remove.includes('x-api-key'));
      const denied = await check(c, checkReq('air/flights', '/flights/MX1'), null);
      assert.equal(denied.status.code, grpc.status.UNAUTHENTICATED);
      assert.equal(denied.denied_response.status.code, 401);
      assert.match(denied.denied_response.body, /"status":401/);
    });
  });

  test('a certificate of the same CA naming another SAN is PERMISSION_DENIED; one of another CA, or none, fails the handshake', async (t) => {
    if (skip) return t.skip(skip);
    await withClient('other', async (c) => {
      await assert.rejects(check(c, checkReq('air/flights', '/flights/MX1', { 'x-api-key': key.key }), TOKEN), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.PERMISSION_DENIED);
        assert.equal(err.details, 'the client certificate names none of the allowed callers (--grpc-client-san)');
        return true;
      });
    });
    for (const name of ['stranger', undefined]) {
      await withClient(name, async (c) => {
        await assert.rejects(check(c, checkReq('air/flights', '/flights/MX1', { 'x-api-key': key.key }), TOKEN), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE);
      });
    }
    assert.ok(authz!.running, `authz still runs; last lines:\n${authz!.tail(10)}`);
  });

  test('SIGTERM stops it', async (t) => {
    if (skip) return t.skip(skip);
    await authz!.stop('SIGTERM', 10_000);
    const { code, signal } = await authz!.exited;
    assert.equal(authz!.running, false);
    assert.ok(code === 0 || signal === 'SIGTERM', `exit code ${code}, signal ${signal}`);
  });
});
