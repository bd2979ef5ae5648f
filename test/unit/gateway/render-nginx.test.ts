// `crossgate render nginx` is built only from validated values: hostile base
// paths, hostnames, route ids, upstreams and header names (quotes, braces,
// semicolons, newlines, `$`, comments) are refused with a reason and never
// reach the config text; values that are never rendered (header-injection
// values, a withheld route's message) never appear either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Route } from '../../../api/gateway/config.ts';
import { accessLogOf, LOG_FORMAT, renderNginx, renderTokenInclude, upstreamOf } from '../../../gateway/render-nginx.ts';
import { ConfigDir, policy, route } from './fixtures.ts';

const RENDER = join(dirname(dirname(dirname(dirname(fileURLToPath(import.meta.url))))), 'gateway/render-nginx.ts');

const OPTS = { authz: { host: '127.0.0.1', port: 9191 }, listen: { host: '127.0.0.1', port: 8080 }, tokenInclude: '/etc/nginx/crossgate-authz-token.conf' };
const MARK = 'PWNED';

/** Injection shapes: end a string, end a directive, open or close a block, start a variable or a comment, break the line. */
const SHAPES = [`"; return 200 "${MARK}`, `'; ${MARK}`, `{ ${MARK}`, `} ${MARK}`, `;${MARK}`, `\n${MARK} {`, `\r\n${MARK}`, `$${MARK}`, `#${MARK}`, ` ${MARK}`, `\\${MARK}`, `%0a${MARK}`, `\u0000${MARK}`];

function render(routes: Route[]) {
  return renderNginx(routes, OPTS);
}

function assertRefused(r: Route, why: RegExp): void {
  const out = render([r, route('safe/ok', { basePath: '/ok', upstream: { url: 'http://ok.example:8080/v1' } })]);
  assert.ok(!out.text.includes(MARK), `hostile value reached the text:\n${out.text}`);
  assert.deepEqual(out.rendered, ['safe/ok']);
  const s = out.skipped.find((x) => x.route === r.id);
  assert.ok(s, `route ${JSON.stringify(r.id)} not listed as skipped`);
  assert.match(s.reason, why);
  // The reason names the rule, never the hostile value, and is not in the text either.
  assert.ok(!s.reason.includes(MARK));
  assert.ok(!out.text.includes(s.reason));
}

test('a safe route renders: server block, exact and prefix locations, auth_request to authz, proxy_pass to its upstream', () => {
  const out = render([
    route('air/flights', { hostnames: ['api.air.example', '*.air.example'], basePath: '/flights', upstream: { url: 'https://flights.air.svc:8443/api' }, policies: [policy('api-key', {}, 'air/key')] }),
    route('air/any', { basePath: '/any', upstream: { url: 'http://10.1.2.3/' } }),
  ]);
  assert.deepEqual(out.rendered, ['air/any', 'air/flights']);
  assert.match(out.text, /server_name "api\.air\.example";/);
  assert.match(out.text, /server_name "\*\.air\.example";/);
  // Each upstream is an upstream block with keep-alive (a bare proxy_pass address opens a connection per request), the Host its own.
  assert.match(out.text, /upstream crossgate_upstream_1 \{\n    server flights\.air\.svc:8443;\n    keepalive 32;\n\}/);
  assert.match(out.text, /location = "\/flights" \{[\s\S]*?proxy_set_header Host "flights\.air\.svc:8443";[\s\S]*?proxy_pass https:\/\/crossgate_upstream_1\/api;/);
  assert.match(out.text, /location \^~ "\/flights\/" \{[\s\S]*?proxy_pass https:\/\/crossgate_upstream_1\/api\/;/);
  assert.match(out.text, /auth_request "\/_crossgate_authz\/1";/);
  assert.match(out.text, /proxy_set_header X-Crossgate-Route "air\/flights";/);
  // The request's host goes to the check, which authz matches against the route's hostnames (security model 8c).
  assert.match(out.text, /location = "\/_crossgate_authz\/1" \{[\s\S]*?proxy_set_header X-Original-Host \$host;[\s\S]*?\n    \}/);
  assert.match(out.text, /if \(\$cg_status = 421\) \{ return 421 \$cg_problem; \}/);
  assert.match(out.text, /proxy_set_header "x-api-key" "";/);
  assert.match(out.text, /upstream crossgate_upstream_0 \{\n    server 10\.1\.2\.3:80;\n    keepalive 32;\n\}/);
  assert.match(out.text, /proxy_set_header Host "10\.1\.2\.3";[\s\S]*?proxy_pass http:\/\/crossgate_upstream_0\/;/);
  assert.doesNotMatch(out.text, /\$proxy_host/);
  // The token is not in the text, only the include of its file.
  assert.match(out.text, /^include \/etc\/nginx\/crossgate-authz-token\.conf;$/m);
  // 429 (and every other refusal) is mapped: auth_request passes only 2xx, 401 and 403.
  assert.match(out.text, /error_page 401 403 = @crossgate_denied;/);
  assert.match(out.text, /if \(\$cg_status = 429\) \{ return 429 \$cg_problem; \}/);
  assert.match(out.text, /add_header Retry-After \$cg_retry_after always;/);
});

test('hostile base paths are refused and never reach the text', () => {
  for (const s of SHAPES) assertRefused(route('evil/path', { basePath: `/a${s}` }), /base path/);
  for (const p of ['/a/../b', '/..', '/./x', 'relative', '/_crossgate_authz', '/_crossgate_authz/0']) assertRefused(route('evil/path', { basePath: p.replace(/$/, '') }), /base path/);
});

test('hostile hostnames are refused and never reach the text', () => {
  for (const s of SHAPES) assertRefused(route('evil/host', { hostnames: ['ok.example', `a.example${s}`], basePath: '/h' }), /hostname/);
  for (const h of ['UPPER.example', 'a..example', '-a.example', 'a.example.', '*', '*.*.example', `${'a'.repeat(64)}.example`]) {
    assertRefused(route('evil/host', { hostnames: [h.replace(/$/, '')], basePath: '/h' }), /hostname/);
  }
});

test('hostile route ids are refused and never reach the text', () => {
  for (const s of SHAPES) assertRefused(route(`evil/id${s}`, { basePath: '/id' }), /route id/);
});

test('hostile upstreams are refused: host, path, query, credentials', () => {
  for (const u of [
    `http://up.example/a${encodeURIComponent(';')}${MARK}`,
    `http://up.example/a;${MARK}`,
    `http://up.example/$${MARK}`,
    `http://up.example/a"${MARK}`,
    `http://up.example/a'${MARK}`,
    `http://up.example/a{${MARK}`,
    `http://up.example/a?${MARK}=1`,
    `http://up.example/a#${MARK}`,
    `http://${MARK}:x@up.example/`,
    `http://up_${MARK}.example/`,
    `ftp://up.example/${MARK}`,
    `not a url ${MARK}`,
  ]) {
    assertRefused(route('evil/up', { basePath: '/u', upstream: { url: u } }), /upstream/);
  }
  assert.deepEqual(upstreamOf('http://[::1]:8080/x/'), { origin: 'http://[::1]:8080', path: '/x', scheme: 'http', hostPort: '[::1]:8080', hostHeader: '[::1]:8080' });
  assert.equal(upstreamOf('https://up.example:443/').hostHeader, 'up.example');
});

test('hostile header names in policies are refused; header-injection values and withheld messages are never rendered', () => {
  for (const s of SHAPES) {
    assertRefused(route('evil/hdr', { basePath: '/k', policies: [policy('api-key', { header: `x-key${s}` })] }), /header name/);
    assertRefused(route('evil/hdr', { basePath: '/k', policies: [policy('header-injection', { request: { set: { [`x-a${s}`]: 'v' } } })] }), /header name/);
    assertRefused(route('evil/hdr', { basePath: '/k', policies: [policy('header-injection', { request: { remove: [`x-a${s}`] } })] }), /header name/);
    assertRefused(route('evil/hdr', { basePath: '/k', policies: [policy('client-id-enforcement', { clientSecretHeader: `x-s${s}` })] }), /header name/);
  }
  const out = render([
    route('air/inj', { basePath: '/inj', policies: [policy('header-injection', { request: { set: { 'x-env': `"; ${MARK} $host {` } }, response: { set: { 'x-r': MARK } } })] }),
    route('air/closed', { basePath: '/closed', withheld: { reason: 'InvalidRoute', message: `"; return 200 ${MARK}; #` } }),
  ]);
  assert.deepEqual(out.rendered, ['air/closed', 'air/inj']);
  assert.ok(!out.text.includes(MARK));
  // The value of x-env comes from authz per request; the config names the header only.
  assert.match(out.text, /auth_request_set \$cg_set_\d+_0 \$upstream_http_x_env;\n\s+proxy_set_header "x-env" \$cg_set_\d+_0;/);
  assert.match(out.text, /location = "\/closed" \{[\s\S]*?return 503 '\{"type":"https:\/\/crossgate\.dev\/problems\/route-withheld"/);
  assert.ok(out.skipped.some((s) => s.route === 'air/inj' && /header-injection on responses is not applied/.test(s.reason)));
});

test('an api-key in a query parameter is refused: nginx would forward it', () => {
  assertRefused(route('air/q', { basePath: '/q', policies: [policy('api-key', { queryParameter: 'apikey' })] }), /query parameter/);
});

test('two routes on one host and base path: the second is skipped, not rendered twice', () => {
  const out = render([route('a/one', { basePath: '/same' }), route('b/two', { basePath: '/same' })]);
  assert.deepEqual(out.rendered, ['a/one']);
  assert.match(out.skipped[0]!.reason, /already served/);
});

test('listen, authz and the token are validated too', () => {
  assert.throws(() => renderNginx([], { ...OPTS, listen: { host: `127.0.0.1;${MARK}`, port: 80 } }));
  assert.throws(() => renderNginx([], { ...OPTS, authz: { host: '127.0.0.1', port: 70000 } }));
  assert.throws(() => renderNginx([], { ...OPTS, tokenInclude: `/etc/x;${MARK}` }));
  for (const s of SHAPES) assert.throws(() => renderTokenInclude(`abcdefghijklmnop${s}`));
  assert.match(renderTokenInclude('abcdefghijklmnop0123'), /default "Bearer abcdefghijklmnop0123";/);
});

test('authz on a unix socket (beside nginx in one pod): the upstream is server unix:/path, from a checked absolute path', () => {
  const text = renderNginx([route('air/a', { basePath: '/a' })], { ...OPTS, authz: { path: '/run/crossgate/authz.sock' } }).text;
  assert.match(text, /^upstream crossgate_authz \{\n {4}server unix:\/run\/crossgate\/authz\.sock;\n {4}keepalive 32;\n\}$/m);
  assert.match(text, /proxy_pass http:\/\/crossgate_authz\/v1\/nginx;/);
});

test('a unix socket path nginx would parse (whitespace, ";", braces, quotes, "$", "#"), a relative, dotted or too long one is refused with the rule', () => {
  const paths = [...SHAPES.map((s) => `/run/crossgate/${s}`), 'run/authz.sock', 'authz.sock', '', '/', '/run/../etc/authz.sock', '/run/./authz.sock', '/run//authz.sock', '/run/a b.sock', '/run/a\tb.sock', '/run/a;b', '/run/{a}', '/run/"a"', "/run/'a'", '/run/$a', `/${'a'.repeat(107)}`];
  for (const path of paths) {
    assert.throws(
      () => renderNginx([], { ...OPTS, authz: { path } }),
      { message: `unix socket ${JSON.stringify(path)}: expected unix:/absolute/path of letters, digits, ".", "_", "-" and "/", no "." or ".." segment, at most 107 bytes` },
      JSON.stringify(path),
    );
  }
});

test('the command: --authz unix:/path renders the socket and ships the access log to 127.0.0.1:5514; a hostile path stops it with the rule', async () => {
  const cfg = await ConfigDir.create('unix');
  const out = await mkdtemp(join(tmpdir(), 'crossgate-render-'));
  try {
    cfg.routes = [route('air/a', { basePath: '/a' })];
    await cfg.write();
    await writeFile(join(out, 'token'), 'render-token-0123456789abcdef\n');
    const run = (authz: string) =>
      spawnSync(process.execPath, [RENDER, '--config-dir', cfg.dir, '--gateway', cfg.gateway, '--authz', authz, '--token-file', join(out, 'token'), '--out', join(out, 'conf')], { encoding: 'utf8' });
    const ok = run('unix:/run/crossgate/authz.sock');
    assert.equal(ok.status, 0, ok.stderr);
    const text = await readFile(join(out, 'conf', 'crossgate.conf'), 'utf8');
    assert.match(text, /^ {4}server unix:\/run\/crossgate\/authz\.sock;$/m);
    assert.match(text, /access_log syslog:server=127\.0\.0\.1:5514,/);
    const bad = run(`unix:/run/x;${MARK}`);
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr, `render-nginx: unix socket "unix:/run/x;${MARK}": expected unix:/absolute/path of letters, digits, ".", "_", "-" and "/", no "." or ".." segment, at most 107 bytes\n`);
  } finally {
    await cfg.remove();
    await rm(out, { recursive: true, force: true });
  }
});

test('access log: rendered only when asked, to the typed address, in the fixed format that carries no URI, query, header or key', () => {
  const routes = [route('air/flights', { basePath: '/flights', policies: [policy('api-key', {})] })];
  assert.doesNotMatch(render(routes).text, /access_log|log_format/);
  const text = renderNginx(routes, { ...OPTS, accessLog: { host: '::1', port: 5514 } }).text;
  assert.ok(text.includes(LOG_FORMAT));
  assert.match(text, /^ {4}access_log syslog:server=\[::1\]:5514,tag=crossgate,nohostname crossgate_authz if=\$cg_route;$/m);
  // The route id is set in its locations and in its check (a subrequest re-runs the server-level reset).
  assert.equal(text.match(/set \$cg_route "air\/flights";/g)?.length, 3);
  for (const v of ['$request_uri', '$uri', '$args', '$query_string', '$http_', '$request ', '$cookie_', '$remote_user']) assert.ok(!LOG_FORMAT.includes(v), v);
  assert.throws(() => renderNginx(routes, { ...OPTS, accessLog: { host: `127.0.0.1;${MARK}`, port: 5514 } }));
  assert.throws(() => renderNginx(routes, { ...OPTS, accessLog: { host: '127.0.0.1', port: 0 } }));
});

test('upstream blocks: one per host:port shared by routes, none left by a route that is not rendered', () => {
  const out = render([
    route('air/a', { basePath: '/a', upstream: { url: 'http://10.0.0.1:8080/a' } }),
    route('air/b', { basePath: '/b', upstream: { url: 'http://10.0.0.1:8080/b' } }),
    route('air/c', { basePath: '/a', upstream: { url: 'http://10.0.0.9:8080/' } }),
  ]);
  assert.deepEqual(out.rendered, ['air/a', 'air/b']);
  assert.equal(out.text.match(/^upstream crossgate_upstream_\d+ \{/gm)?.length, 1);
  assert.doesNotMatch(out.text, /10\.0\.0\.9/);
});

test('access log to a file (authz beside nginx): buffered, flushed each second, the path checked; hostile paths refused with the message', () => {
  const routes = [route('air/flights', { basePath: '/flights', policies: [policy('api-key', {})] })];
  const text = renderNginx(routes, { ...OPTS, accessLog: accessLogOf('file:/run/crossgate/access.log', '127.0.0.1') }).text;
  assert.ok(text.includes(LOG_FORMAT));
  assert.match(text, /^ {4}access_log \/run\/crossgate\/access\.log crossgate_authz buffer=32k flush=1s if=\$cg_route;$/m);
  assert.doesNotMatch(text, /syslog:/);
  // UDP stays the default; IP:PORT and off unchanged.
  assert.deepEqual(accessLogOf(undefined, '127.0.0.1'), { host: '127.0.0.1', port: 5514 });
  assert.deepEqual(accessLogOf('10.0.0.5:6514', '127.0.0.1'), { host: '10.0.0.5', port: 6514 });
  assert.equal(accessLogOf('off', '127.0.0.1'), undefined);
  const long = `/${'a'.repeat(255)}`;
  for (const bad of ['file:relative/access.log', `file:/run/x;${MARK}`, 'file:/run/../etc/passwd', 'file:/run/./x', 'file:/run/x y', 'file:/run/$host', 'file:/run/x\n}', 'file:', `file:${long}`]) {
    assert.throws(
      () => accessLogOf(bad, '127.0.0.1'),
      { message: `access-log file ${JSON.stringify(bad)}: expected file:/absolute/path of letters, digits, ".", "_", "-" and "/", no "." or ".." segment, at most 255 bytes` },
      bad,
    );
    // And straight into renderNginx: checked again there.
    assert.throws(() => renderNginx(routes, { ...OPTS, accessLog: { path: bad.slice(5) } }), /access-log file/, bad);
  }
});

test("a route without hostnames is served on the default server only, never under a host another organization's route names; unserved paths are a 404 problem", () => {
  const out = render([
    route('shared-org/status', { basePath: '/status', upstream: { url: 'http://status.shared.svc:8080' } }),
    route('other-org/own', { hostnames: ['api.other.example', '*.other.example'], basePath: '/own', upstream: { url: 'http://own.other.svc:8080' } }),
  ]);
  assert.deepEqual(out.rendered, ['other-org/own', 'shared-org/status']);
  const servers = out.text.split('\nserver {\n').slice(1);
  const named = (n: string) => servers.find((b) => b.includes(`server_name ${n};`));
  const dflt = servers.find((b) => b.includes('default_server;'))!;
  assert.match(dflt, /location \^~ "\/status\/"/);
  for (const host of ['"api.other.example"', '"*.other.example"']) {
    const b = named(host);
    assert.ok(b, host);
    // The shared route is not rendered under the other organization's host: nginx never sends its requests to that upstream.
    assert.doesNotMatch(b, /location (=|\^~) "\/status/, host);
    assert.match(b, /location \^~ "\/own\/"/, host);
    assert.match(b, /location \/ \{\n        default_type application\/problem\+json;\n        add_header Cache-Control no-store always;\n        return 404 '\{"type":"https:\/\/crossgate\.dev\/problems\/not-found","title":"Not Found","status":404,"detail":"No API is served at this host and path\."\}';\n    \}/, host);
  }
  // A server with its own "/" route needs no catch-all.
  const root = render([route('root-org/all', { hostnames: ['api.root.example'], basePath: '/', upstream: { url: 'http://all.root.svc:8080' } })]);
  const rootServer = root.text.split('\nserver {\n').find((b) => b.includes('server_name "api.root.example";'))!;
  assert.equal(rootServer.match(/location \/ \{/g)?.length, 1);
  assert.doesNotMatch(rootServer, /problems\/not-found/);
});
