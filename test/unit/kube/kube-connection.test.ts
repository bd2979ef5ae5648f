// kube-connection.ts: kubeconfig files and the in-cluster service account read
// without client-node (TLS with client certificates against a real HTTPS
// server, tokens, token files, basic auth, relative paths, the
// context asked for), client-node only for what only it understands (an exec
// plugin here), clear errors for files that cannot work — and the operator,
// webhook and gateway never loading client-node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { packagesLoadedBy } from '../operator/helpers.ts';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { generatePki, type Pki } from '../../controlplane/pki.ts';
import { KubeHttp } from '../../../kube/kube.ts';
import { loadConnection } from '../../../kube/kube-connection.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('kube-connection', () => {
  let pki: Pki;
  let server: Server;
  let url: string;
  let dir: string;
  /** What the server saw of each request: who (client certificate CN) and the Authorization header. */
  const seen: Array<{ cn?: string; authorization?: string }> = [];

  before(async () => {
    pki = await generatePki({ serviceIP: '10.0.0.1' });
    server = createServer({ cert: pki.apiserver.cert, key: pki.apiserver.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      seen.push({ ...(peer?.subject?.CN ? { cn: String(peer.subject.CN) } : {}), ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Status","status":"Success"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), 'crossgate-kubeconnection-'));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const kubeconfig = (name: string, user: Record<string, unknown>, cluster: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => {
    const file = join(dir, name);
    writeFileSync(file, stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: url, 'certificate-authority-data': b64(pki.ca.cert), ...cluster } }, { name: 'other', cluster: { server: 'https://192.0.2.1:6443' } }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }, { name: 'elsewhere', context: { cluster: 'other', user: 'u' } }],
      'current-context': 'elsewhere',
      ...extra,
    }));
    return file;
  };
  async function get(file: string, context = 'ctx'): Promise<{ cn?: string; authorization?: string }> {
    const conn = loadConnection({ file, context });
    const http = new KubeHttp(conn);
    try {
      seen.length = 0;
      await http.request('GET', '/version');
      return seen[0]!;
    } finally {
      await http.close();
    }
  }

  test('client certificate and CA from data, relative files, the context asked for', async () => {
    assert.deepEqual(await get(kubeconfig('certs-data', { 'client-certificate-data': b64(pki.admin.cert), 'client-key-data': b64(pki.admin.key) })), { cn: 'crossgate-admin' });
    mkdirSync(join(dir, 'pki'), { recursive: true });
    writeFileSync(join(dir, 'pki', 'ca.crt'), pki.ca.cert);
    writeFileSync(join(dir, 'pki', 'admin.crt'), pki.admin.cert);
    writeFileSync(join(dir, 'pki', 'admin.key'), pki.admin.key);
    const files = kubeconfig('certs-files', { 'client-certificate': 'pki/admin.crt', 'client-key': 'pki/admin.key' }, { 'certificate-authority-data': undefined, 'certificate-authority': 'pki/ca.crt' });
    assert.deepEqual(await get(files), { cn: 'crossgate-admin' });
    assert.equal(loadConnection({ file: files }).server, 'https://192.0.2.1:6443', 'current-context when none is asked for');
  });

  test('a token, a token file, basic auth', async () => {
    assert.deepEqual(await get(kubeconfig('token', { token: 'tok-1' })), { authorization: 'Bearer tok-1' });
    writeFileSync(join(dir, 'token-file'), 'tok-from-file\n');
    assert.deepEqual(await get(kubeconfig('token-file-config', { tokenFile: 'token-file' })), { authorization: 'Bearer tok-from-file' });
    assert.deepEqual(await get(kubeconfig('basic', { username: 'ada', password: 'pw' })), { authorization: `Basic ${b64('ada:pw')}` });
  });

  test('the in-cluster service account: host and port from the environment, token and CA from the mounted files', async () => {
    const sa = join(dir, 'serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'ca.crt'), pki.ca.cert);
    const port = String((server.address() as AddressInfo).port);
    const conn = loadConnection({ env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port }, serviceAccountDir: sa });
    assert.equal(conn.server, `https://127.0.0.1:${port}`);
    assert.equal(conn.source, 'in-cluster');
    const http = new KubeHttp(conn);
    seen.length = 0;
    await http.request('GET', '/version');
    await http.close();
    assert.deepEqual(seen[0], { authorization: 'Bearer sa-token' });
    assert.equal(loadConnection({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: sa }).server, 'https://[fd00::1]:443');
  });

  test('an exec plugin is left to client-node, loaded for that connection only', async () => {
    const plugin = join(dir, 'plugin.sh');
    writeFileSync(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-exec"}}'\n`);
    chmodSync(plugin, 0o755);
    const file = kubeconfig('exec', { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } });
    assert.match(loadConnection({ file, context: 'ctx' }).source, /^client-node \(exec\)$/);
    assert.deepEqual(await get(file), { authorization: 'Bearer tok-exec' });
  });

  test('files that cannot work are refused with what is wrong', () => {
    assert.throws(() => loadConnection({ file: join(dir, 'missing') }), /cannot read kubeconfig .*missing: ENOENT/);
    assert.throws(() => loadConnection({ file: kubeconfig('no-ctx', { token: 't' }), context: 'nope' }), /no context "nope"/);
    assert.throws(() => loadConnection({ file: kubeconfig('plain-http', { token: 't' }, { server: 'http://127.0.0.1:1' }), context: 'ctx' }), /plain http to http:\/\/127\.0\.0\.1:1 needs insecure-skip-tls-verify: true/);
    assert.throws(() => loadConnection({ env: {}, serviceAccountDir: join(dir, 'none'), homeKubeconfig: join(dir, 'none') }), /no Kubernetes cluster configured \(set KUBECONFIG or run in a pod\)/);
  });

  test('the operator, webhook and gateway do not load @kubernetes/client-node', () => {
    // Every module the entry points' import graphs load (without running main()).
    const entries = ['operator/controllers/index.ts', 'kube/api-writers.ts', 'kube/leader-election.ts', 'webhook/server.ts', 'webhook/certs.ts', 'gateway/gateway.ts'];
    const script = entries.map((e) => `await import(${JSON.stringify(join(ROOT, e))});`).join('\n');
    const loaded = packagesLoadedBy(script, ROOT);
    assert.ok(loaded.includes('undici'), loaded.join(', '));
    assert.ok(!loaded.includes('@kubernetes/client-node'), loaded.join(', '));
  });
});
