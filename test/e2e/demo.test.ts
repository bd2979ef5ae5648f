// The README's first command, in its non-interactive mode: it must start
// everything itself, tell the story, and stop cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, localOnly } from './support/index.ts';

test('make demo (--once): share refused then admitted, 200 with a key, 401 without, 429 over the tier, an Application with access to an ApiGroup calling both its APIs through headers and Basic, 401 with a wrong secret, clean stop', { skip: localOnly }, () => {
  const env = { ...process.env };
  delete env.KUBECONFIG; // the demo starts a control plane of its own
  const r = spawnSync(process.execPath, [join(ROOT, 'hack', 'demo.ts'), '--once'], { cwd: ROOT, env, encoding: 'utf8', timeout: 280_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  // The reason first: where only the start of a failure message is kept (CI summaries), it is the part that matters.
  const reason = /^(demo failed .*|unexpected results.*)$/m.exec(r.stderr)?.[1] ?? `exit ${r.status ?? r.signal}`;
  assert.equal(r.status, 0, `${reason}\n${out.slice(-4000)}`);
  assert.match(out, /admission webhook "[^"]+" denied the request: .*OrgTrust "max-airlines" in namespace "mule-united"/);
  assert.match(out, /GET with the gold key\s+→ 200/);
  // flights takes either credential, so a request with neither is told about both.
  assert.match(out, /GET without a key\s+→ 401 {2}problem: https:\/\/crossgate\.dev\/problems\/missing-credentials$/m);
  assert.match(out, /GET with the trial key \(#4 of 3\/min\)\s+→ 429 {2}\(Retry-After: \d+s\)/);
  // The ApiGroup of examples/max-airlines/45-apigroup-partner-apis.yaml: flights and fares, both resolved; its automatic group tier.
  assert.match(out, /^ {2}partner-apis\s+Max Airlines Partner APIs\s+v1\s+2\s+True\s+Resolved\s/m);
  assert.match(out, /^ {2}max-airlines\s+apigroup\.crossgate\.dev\/partner-apis\s+Max Airlines Partner APIs\s+v1\s+2\s+True\s+Resolved\s/m);
  assert.match(out, /^ {2}max-airlines\s+slatier\.crossgate\.dev\/partner-gold\s+partner-apis\s+automatic\s+\d+\s+True\s+Available\s/m);
  // The Application of examples/mule-united/30-application.yaml: its client ID, its Secret, its one group Contract in the owner's home namespace.
  assert.match(out, /application\.crossgate\.dev\/booking-site\s+cgc_[A-Za-z0-9_-]{22}\s+1\s+booking-site-client\s+True/);
  assert.match(out, /^ {2}max-airlines\s+contract\.crossgate\.dev\/mule-united-prod\.app\.booking-site\.\S+\s+mule-united\s+Application\s+booking-site\s+partner-apis\s+partner-gold\s+Approved\s/m);
  assert.match(out, /contract\.crossgate\.dev\/mule-united-prod\.key\.gate-display\s+mule-united\s+ApiKey\s+gate-display\s+flights\s+gold\s+Approved/);
  assert.match(out, /^ {2}booking-site-client\s+Opaque\s+2\s/m);
  // One client ID and secret, both APIs of the group: each answered by its own upstream.
  assert.match(out, /GET flights as booking-site, two headers\s+→ 200 {2}\{"flights":/);
  assert.match(out, /GET fares as booking-site, two headers\s+→ 200 {2}\{"fares":/);
  assert.match(out, /GET fares as booking-site, HTTP Basic\s+→ 200 {2}\{"fares":/);
  assert.match(out, /GET as booking-site, wrong secret\s+→ 401 {2}problem: https:\/\/crossgate\.dev\/problems\/invalid-client-credentials$/m);
  assert.match(out, /stopping gateway, webhook, operator and the control plane/);
  // "Where to look next" pastes as printed: its first line puts the cached kubectl on PATH (it is not on a newcomer's).
  const next = out.slice(out.indexOf('where to look next'));
  const exported = /^ {2}export PATH=('[^']*'|\S+):"\$PATH" KUBECONFIG=\S+$/m.exec(next);
  assert.ok(exported, `an export line for kubectl and KUBECONFIG under "where to look next":\n${next.slice(0, 2000)}`);
  assert.ok(existsSync(join(exported[1]!.replace(/^'|'$/g, ''), 'kubectl')), `kubectl in ${exported[1]}`);
  assert.ok(next.indexOf('export PATH=') < next.search(/^ {2}kubectl /m), 'the export line comes before the first kubectl command');
  assert.match(next, /^ {2}kubectl get applications -n mule-united-prod$/m);
  assert.match(next, /^ {2}kubectl get apigroups -n max-airlines$/m);
  assert.match(next, /^ {2}curl -s -u "\$CLIENT_ID:\$CLIENT_SECRET" http:\/\/127\.0\.0\.1:\d+\/flights\/fares\/v1\/fares$/m);
  assert.match(next, /^ {2}CLIENT_SECRET=\$\(kubectl -n mule-united-prod get secret booking-site-client -o jsonpath='\{\.data\.clientSecret\}' \| base64 -d\)$/m);
  assert.doesNotMatch(out, /cgk_[A-Za-z0-9_-]{43}_[0-9a-f]{8}/, 'the demo never prints a raw key');
  assert.doesNotMatch(out, /cgs_[A-Za-z0-9_-]{43}_[0-9a-f]{8}/, 'the demo never prints a client secret');
});
