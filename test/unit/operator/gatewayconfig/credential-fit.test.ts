// A credential shard over the part budget: the organization taking the most of
// the shard gives up its largest credentials first, so a tenant filling a
// shard (its own hashes are in its status' keyId, rotation re-draws them, and
// an admin can write any well-formed hash into its own Secret) never freezes
// a neighbour's keys: a shard that cannot be written keeps its old content at
// the gateway, revoked keys included, for every organization in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Credential } from '../../../../api/gateway/config.ts';
import { GATEWAY_CONFIG_API_VERSION, MAX_PART_BYTES } from '../../../../api/gateway/config.ts';
import { shardOf } from '../../../../api/gateway/checksum.ts';
import { CREDENTIALS_PART_OVERHEAD, CredentialShards } from '../../../../operator/controllers/gatewayconfig/credential-shards.ts';
import { render } from '../../../../operator/controllers/gatewayconfig/render.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'];
/** The largest credential an Application can have: 16 group grants of 32 members, 16 endpoints each (~210 KB). */
function bigCredential(ns: string, name: string): Credential {
  const grants = Array.from({ length: 16 }, (_, g) => ({
    routes: Array.from({ length: 32 }, (_, m) => `${ns}/${`m${m}-`.padEnd(250, 'r')}`),
    contract: `${ns}/${`${ns}.app.${name}`.padEnd(240, 'c')}.${g.toString(16).padStart(8, '0')}`,
    tier: `group-${g}/gold`,
    endpoints: Array.from({ length: 16 }, (_, e) => ({ methods: METHODS, path: `/${e}`.padEnd(256, 'p') })),
  }));
  return { kind: 'client-secret', client: `${ns}/${name}`, clientId: `cgc_${'A'.repeat(22)}`, grants };
}
const small = (ns: string, name: string): Credential => ({ kind: 'api-key', client: `${ns}/${name}`, grants: [{ routes: [`${ns}/rail`], contract: `${ns}/${ns}.key.${name}`, tier: 'gold' }] });
/** A well-formed hash in shard `byte` of 64 shards, distinct per `n`. */
const hashIn = (byte: number, n: number) => `${byte.toString(16).padStart(2, '0')}${n.toString(16).padStart(62, '0')}`;
const ORGS: Record<string, string> = { 'evil-prod': 'evil', 'evil-stage': 'evil', 'prey-prod': 'prey' };
const groupOf = (owner: string) => ORGS[owner.replace(/^Application /, '').split('/')[0]!] ?? '?';
const partBytes = (entries: Record<string, Credential>, shard: number) =>
  Buffer.byteLength(JSON.stringify({ apiVersion: GATEWAY_CONFIG_API_VERSION, kind: 'Credentials', gateway: 'g'.repeat(63), generation: Number.MAX_SAFE_INTEGER, checksum: `sha256:${'0'.repeat(64)}`, shard, shards: 256, entries }));

test("the part's own fields take at most CREDENTIALS_PART_OVERHEAD bytes", () => {
  assert.ok(partBytes({}, 255) <= CREDENTIALS_PART_OVERHEAD, `${partBytes({}, 255)} bytes`);
});

test("a tenant filling the victim's credential shard costs its own credentials only: the victim's key stays, the shard fits", () => {
  const shards = new CredentialShards();
  const S = 10;
  shards.set('prey-prod/pk', [[hashIn(S, 1), small('prey-prod', 'pk')]]);
  // Six apps of ~210 KB, current and previous hash each in the victim's shard, spread over two namespaces of evil.
  for (let i = 0; i < 6; i++) {
    const ns = i % 2 ? 'evil-stage' : 'evil-prod';
    shards.set(`Application ${ns}/fill-${i}`, [[hashIn(S, 100 + 2 * i), bigCredential(ns, `fill-${i}`)], [hashIn(S, 101 + 2 * i), bigCredential(ns, `fill-${i}`)]]);
  }
  const out = render('default', [], shards, undefined, groupOf);
  const part = out.parts.find((p) => p.kind === 'Credentials' && (p.body as { shard: number }).shard === S)!;
  const entries = (part.body as { entries: Record<string, Credential> }).entries;
  assert.ok(Buffer.byteLength(JSON.stringify(part.body)) <= MAX_PART_BYTES, `the shard is ${Buffer.byteLength(JSON.stringify(part.body))} bytes`);
  assert.ok(entries[hashIn(S, 1)], "the victim's key is in its shard");
  assert.ok(out.leftOut.length > 0 && out.leftOut.every((l) => l.owner.startsWith('Application evil-')), 'only evil credentials are left out');
  assert.ok(Object.keys(entries).length > 1, 'evil keeps what fits');
  for (const l of out.leftOut) assert.equal(entries[l.hash], undefined);
  const first = out.leftOut[0]!;
  assert.deepEqual({ shard: first.shard, group: first.group }, { shard: S, group: 'evil' });
  assert.match(
    first.message,
    /^the gateway config leaves out this credential \(id [0-9a-f]{12}\): credential shard 10 is over the \d+-byte budget of one config part, and Organization "evil", which takes the most of it \(\d+ bytes\), gives up its largest credentials first\. Make its access entries smaller \(fewer endpoints, smaller ApiGroups\) or fewer$/,
  );
  // The part's checksum is its content's, as the gateway checks.
  const again = render('default', [], shards, undefined, groupOf);
  assert.equal(again.parts.find((p) => p.name === part.name)!.checksum, part.checksum);
});

test('property: an organization within its share of a shard loses nothing, and every shard fits', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ org: fc.constantFrom('a', 'b', 'c', 'd'), size: fc.integer({ min: 1, max: 40 }) }), { minLength: 1, maxLength: 40 }),
      (items) => {
        const budget = 6000;
        const shards = new CredentialShards(64, budget);
        const bytesOf = new Map<string, number>();
        items.forEach((it, i) => {
          const cred: Credential = { kind: 'api-key', client: `${it.org}-ns/k${i}`, grants: [{ routes: [`${it.org}-ns/r`], contract: `${it.org}-ns/c${i}`, tier: 't'.repeat(it.size * 10) }] };
          const hash = hashIn(0, i);
          shards.set(`${it.org}-ns/k${i}`, [[hash, cred]]);
          bytesOf.set(it.org, (bytesOf.get(it.org) ?? 0) + JSON.stringify(hash).length + 1 + JSON.stringify(cred).length + 1);
        });
        const orgOf = (owner: string) => owner.split('-')[0]!;
        const { entries, left } = shards.shard(0, orgOf);
        assert.ok(CREDENTIALS_PART_OVERHEAD + JSON.stringify(entries).length <= budget);
        const fair = (budget - CREDENTIALS_PART_OVERHEAD) / bytesOf.size;
        for (const [org, bytes] of bytesOf) if (bytes <= fair) assert.ok(!left.some((l) => l.group === org), `${org} (${bytes} bytes) lost a credential`);
        assert.equal(shardOf(hashIn(0, 1), 64), 0);
      },
    ),
  );
});
