// api/platform.ts: CROSSGATE_CLUSTER_CIDRS read hostilely. Every refusal has its
// message; property tests: a canonical block is a fixed point and matches exactly
// the addresses a reference implementation (integers) puts inside it; a block with
// host bits set is refused naming its network address; any other text, of any
// shape, is either refused with the setting's name or names the block ipaddr.js
// reads from it (never a wider one).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { ENV_CLUSTER_CIDRS, MAX_CLUSTER_CIDRS, parseClusterCidr, parseClusterCidrs, platformSettingsFromEnv } from '../../../api/platform.ts';
import { clusterCidrOf } from '../../../model/upstream.ts';

const refused = (entry: string) => {
  try {
    parseClusterCidr(entry);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
};

/** An address as a bigint (reference arithmetic, independent of ipaddr.js's match). */
const toBig = (bytes: number[]) => bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
const maskBig = (bits: number, width: number) => (bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits));
const fromBig = (n: bigint, bytes: number) => Array.from({ length: bytes }, (_, i) => Number((n >> BigInt(8 * (bytes - 1 - i))) & 0xffn));

const v4Bytes = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
const v6Bytes = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 });

/** A random block, written canonically, with its reference network and width. */
const canonicalBlock = fc.oneof(
  fc.tuple(v4Bytes, fc.integer({ min: 1, max: 32 })).map(([b, bits]) => ({ width: 32, bits, net: toBig(b) & maskBig(bits, 32) })),
  fc
    .tuple(v6Bytes, fc.integer({ min: 1, max: 128 }))
    .map(([b, bits]) => ({ width: 128, bits, net: toBig(b) & maskBig(bits, 128) }))
    .filter((c) => !(c.bits >= 96 && c.net >> 32n === 0xffffn)), // an IPv4 block in IPv6 dress is read as the IPv4 block (tested below)
).map((c) => {
  const addr = ipaddr.fromByteArray(fromBig(c.net, c.width / 8));
  return { ...c, text: `${addr.toString()}/${c.bits}` };
});

describe('CROSSGATE_CLUSTER_CIDRS', () => {
  test('each refusal says what is wrong and what to write', () => {
    assert.equal(refused('10.96.0.1/12'), 'CROSSGATE_CLUSTER_CIDRS: "10.96.0.1/12" has host bits set: the block\'s network address is 10.96.0.0/12; write that (or the prefix length you meant)');
    assert.equal(refused('fd00:10:96::1/112'), 'CROSSGATE_CLUSTER_CIDRS: "fd00:10:96::1/112" has host bits set: the block\'s network address is fd00:10:96::/112; write that (or the prefix length you meant)');
    assert.equal(refused('10.0.0.0/0'), 'CROSSGATE_CLUSTER_CIDRS: "10.0.0.0/0" covers every IPv4 address: list the cluster\'s pod and service networks only');
    assert.equal(refused('::/0'), 'CROSSGATE_CLUSTER_CIDRS: "::/0" covers every IPv6 address: list the cluster\'s pod and service networks only');
    assert.equal(refused('::ffff:0.0.0.0/96'), 'CROSSGATE_CLUSTER_CIDRS: "::ffff:0.0.0.0/96" covers every IPv4 address: list the cluster\'s pod and service networks only');
    assert.equal(refused('10.0.0.0/33'), 'CROSSGATE_CLUSTER_CIDRS: "10.0.0.0/33" is not an IPv4 CIDR block: four numbers 0-255 and a prefix length up to 32, e.g. 10.96.0.0/12');
    assert.equal(refused('10.0.0.256/32'), 'CROSSGATE_CLUSTER_CIDRS: "10.0.0.256/32" is not an IPv4 CIDR block: four numbers 0-255 and a prefix length up to 32, e.g. 10.96.0.0/12');
    const notCidr = (e: string) => `CROSSGATE_CLUSTER_CIDRS: ${JSON.stringify(e)} is not a CIDR block: write a network address and a prefix length, e.g. 10.96.0.0/12 or fd00:10:96::/112`;
    for (const e of ['10.96.0.0', '010.0.0.0/8', '10.0.0.0/08', '0x0a.0.0.0/8', '10.1/16', '167772160/8', ' 10.0.0.0/8', 'fe80::1%eth0/64', '1::2::3/64', '::ffff:010.0.0.0/104', 'fd00::/129', 'pods', '']) {
      assert.equal(refused(e), notCidr(e), e);
    }
    assert.equal(refused(`${'1'.repeat(100)}/8`), `CROSSGATE_CLUSTER_CIDRS: "${'1'.repeat(64)}…" is not a CIDR block: write a network address and a prefix length, e.g. 10.96.0.0/12 or fd00:10:96::/112`, 'a long entry is cut in the message');
    assert.throws(
      () => parseClusterCidrs(Array.from({ length: MAX_CLUSTER_CIDRS + 1 }, (_, i) => `10.${i}.0.0/16`)),
      { message: `CROSSGATE_CLUSTER_CIDRS: ${MAX_CLUSTER_CIDRS + 1} blocks, more than ${MAX_CLUSTER_CIDRS}: list the cluster's pod and service networks only` },
    );
  });

  test('read from the environment: trimmed, deduplicated, canonical; one bad entry refuses the whole setting', () => {
    const s = platformSettingsFromEnv({ [ENV_CLUSTER_CIDRS]: ' 10.244.0.0/16, 10.96.0.0/12,FD00:10:96::/112,::ffff:10.244.0.0/112,10.96.0.0/12 ' });
    assert.deepEqual(s.clusterCidrs.map((c) => c.text), ['10.244.0.0/16', '10.96.0.0/12', 'fd00:10:96::/112']);
    assert.deepEqual(platformSettingsFromEnv({}).clusterCidrs, []);
    assert.throws(() => platformSettingsFromEnv({ [ENV_CLUSTER_CIDRS]: '10.244.0.0/16,10.96.0.1/12' }), /"10\.96\.0\.1\/12" has host bits set/);
  });

  test('property: a canonical block is a fixed point and contains exactly the addresses the reference puts inside', () => {
    fc.assert(
      fc.property(canonicalBlock, fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.oneof(v4Bytes, v6Bytes), ({ width, bits, net, text }, noise, probe) => {
        const c = parseClusterCidr(text);
        assert.equal(c.text, text);
        assert.equal(parseClusterCidr(c.text).text, c.text);
        const all = (1n << BigInt(width)) - 1n;
        const inside = ipaddr.fromByteArray(fromBig(net | (noise & ~maskBig(bits, width) & all), width / 8)).toString();
        assert.equal(clusterCidrOf(inside, [c])?.text, text, `${inside} in ${text}`);
        const a = ipaddr.fromByteArray(probe);
        // An IPv6 probe carrying an IPv4 address (mapped, compatible, NAT64) is also judged as that address: outside the reference.
        if (width === 32 && a.kind() === 'ipv6') return;
        const expected = probe.length * 8 === width && (toBig(probe) & maskBig(bits, width)) === net;
        assert.equal(clusterCidrOf(a.toString(), [c]) !== undefined, expected, `${a.toString()} in ${text}`);
      }),
      { numRuns: 2000 },
    );
  });

  test('property: an IPv4 address inside a block matches in every IPv6 form that carries it', () => {
    fc.assert(
      fc.property(canonicalBlock.filter((c) => c.width === 32), fc.integer({ min: 0, max: 0xffffffff }), ({ bits, net, text }, noise) => {
        const v4 = fromBig(net | (BigInt(noise) & ~maskBig(bits, 32) & 0xffffffffn), 4).join('.');
        const c = parseClusterCidr(text);
        for (const form of [v4, `::ffff:${v4}`, `[::ffff:${v4}]`, `64:ff9b::${v4}`]) assert.equal(clusterCidrOf(form, [c])?.text, text, form);
      }),
      { numRuns: 500 },
    );
  });

  test('property: a block with host bits set is refused, naming its network address', () => {
    fc.assert(
      fc.property(canonicalBlock, fc.bigInt({ min: 1n, max: (1n << 127n) }), ({ width, bits, net, text }, noise) => {
        const host = noise & ~maskBig(bits, width) & ((1n << BigInt(width)) - 1n);
        fc.pre(host !== 0n);
        const written = `${ipaddr.fromByteArray(fromBig(net | host, width / 8)).toString()}/${bits}`;
        const m = refused(written);
        assert.ok(m?.startsWith(`${ENV_CLUSTER_CIDRS}: ${JSON.stringify(written)} `), written);
        assert.ok(m!.includes(`network address is ${text}`), m);
      }),
      { numRuns: 1000 },
    );
  });

  test('property: any text is refused with the setting\'s name, or names exactly the block ipaddr.js reads from it', () => {
    const pieces = fc.constantFrom('0', '00', '1', '10', '010', '255', '256', '0x1f', 'ff', 'ffff', ':', '::', '.', '/', '%', ' ', '-', 'a', 'z', '1e3', '+1', '12', '96', '104', '128', '129', '33');
    const junk = fc.oneof(fc.string({ maxLength: 48 }), fc.array(pieces, { maxLength: 14 }).map((a) => a.join('')));
    fc.assert(
      fc.property(junk, (text) => {
        let c;
        try {
          c = parseClusterCidr(text);
        } catch (e) {
          assert.ok((e as Error).message.startsWith(`${ENV_CLUSTER_CIDRS}: `), (e as Error).message);
          return;
        }
        // Accepted: ipaddr.js reads the same block (an IPv4-mapped one as its IPv4 block), with no host bits.
        const [addr, bits] = ipaddr.parseCIDR(text);
        const mapped = addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96;
        const network = mapped ? (addr as ipaddr.IPv6).toIPv4Address() : addr;
        assert.equal(c.text, `${network.toString()}/${mapped ? bits - 96 : bits}`, text);
        assert.ok(c.bits >= 1);
      }),
      { numRuns: 5000 },
    );
  });
});
