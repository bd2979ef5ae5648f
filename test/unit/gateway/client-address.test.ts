// The client address (gateway/client-address.ts): a forwarding header is read
// only through trusted proxies, right to left; addresses are canonical; junk
// never becomes an identity. Property tests (fast-check) over chains of
// trusted, untrusted and junk entries, the spellings of one address, and
// arbitrary text.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { canonicalAddress, clientAddress, parseAddress, TrustedProxies, NO_TRUSTED_PROXIES } from '../../../gateway/client-address.ts';

// Trusted: 10.0.0.0/8 and fd00::/8. Everything generated below is either clearly inside or clearly outside.
const TRUSTED = new TrustedProxies(['10.0.0.0/8', 'fd00::/8']);
const byte = fc.integer({ min: 0, max: 255 });
const hex16 = fc.integer({ min: 0, max: 0xffff });
const trustedV4 = fc.tuple(byte, byte, byte).map(([a, b, c]) => `10.${a}.${b}.${c}`);
const untrustedV4 = fc.tuple(fc.integer({ min: 11, max: 223 }), byte, byte, byte).filter(([a]) => a !== 127).map((p) => p.join('.'));
const trustedV6 = fc.array(hex16, { minLength: 7, maxLength: 7 }).map((g) => `fd${'00'}:${g.map((x) => x.toString(16)).join(':')}`);
const untrustedV6 = fc.array(hex16, { minLength: 7, maxLength: 7 }).map((g) => `2001:${g.map((x) => x.toString(16)).join(':')}`);
const junk = fc.oneof(
  fc.constantFrom('unknown', '', ' ', '_hidden', 'localhost', '010.1.2.3', '0x7f.0.0.1', '2130706433', '127.1', 'fe80::1%eth0', '1.2.3.4.5', '[1.2.3.4]', '1.2.3.4:x', '::ffff:1.2.3', '256.1.1.1'),
  fc.string({ maxLength: 20 }).filter((s) => parseAddress(s) === undefined),
);
type Entry = { text: string; kind: 'trusted' | 'untrusted' | 'junk' };
const entry: fc.Arbitrary<Entry> = fc.oneof(
  fc.oneof(trustedV4, trustedV6).map((text) => ({ text, kind: 'trusted' as const })),
  fc.oneof(untrustedV4, untrustedV6).map((text) => ({ text, kind: 'untrusted' as const })),
  junk.filter((t) => !t.includes(',')).map((text) => ({ text, kind: 'junk' as const })),
);

describe('client address', () => {
  test('property: the result is the peer, or an entry every hop after which (and the peer) is a trusted proxy', () => {
    fc.assert(
      fc.property(fc.oneof(trustedV4, untrustedV4, trustedV6, untrustedV6), fc.array(entry, { maxLength: 8 }), (peer, chain) => {
        const header = chain.map((e) => e.text).join(', ');
        const got = clientAddress(peer, header, TRUSTED);
        assert.ok(got, 'a parseable peer always gives an address');
        const peerCanon = canonicalAddress(parseAddress(peer)!);
        const peerTrusted = TRUSTED.peerTrusted(peer);
        if (!peerTrusted) return assert.equal(canonicalAddress(got), peerCanon, 'an untrusted peer: its header is never read');
        // The expected walk, written out plainly.
        let expected = peerCanon;
        for (let i = chain.length - 1; i >= 0; i--) {
          const e = chain[i]!;
          if (e.kind === 'junk') { expected = peerCanon; break; }
          expected = canonicalAddress(parseAddress(e.text)!);
          if (e.kind === 'untrusted') break;
        }
        assert.equal(canonicalAddress(got), expected);
        if (canonicalAddress(got) !== peerCanon) {
          const i = chain.findLastIndex((e) => e.kind !== 'junk' && canonicalAddress(parseAddress(e.text)!) === canonicalAddress(got));
          assert.ok(i >= 0);
          for (const after of chain.slice(i + 1)) assert.equal(after.kind, 'trusted', 'every hop right of the client is a trusted proxy');
        }
      }),
      { numRuns: 500 },
    );
  });

  test('property: no trusted proxies (the default): always the peer, whatever the header says', () => {
    fc.assert(
      fc.property(fc.oneof(untrustedV4, trustedV4, untrustedV6), fc.string({ maxLength: 200 }), (peer, header) => {
        assert.equal(canonicalAddress(clientAddress(peer, header, NO_TRUSTED_PROXIES)!), canonicalAddress(parseAddress(peer)!));
      }),
    );
  });

  test('property: every spelling of an address has one canonical form', () => {
    fc.assert(
      fc.property(byte, byte, byte, byte, fc.integer({ min: 1, max: 65535 }), (a, b, c, d, port) => {
        const v4 = `${a}.${b}.${c}.${d}`;
        for (const form of [v4, `${v4}:${port}`, `::ffff:${v4}`, `::FFFF:${v4}`, `[::ffff:${v4}]:${port}`, `0:0:0:0:0:ffff:${v4}`, ` ${v4} `]) {
          assert.equal(canonicalAddress(parseAddress(form)!), v4, form);
        }
      }),
    );
    fc.assert(
      fc.property(fc.array(hex16, { minLength: 8, maxLength: 8 }), fc.integer({ min: 1, max: 65535 }), (groups, port) => {
        const full = groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
        const addr = parseAddress(full);
        assert.ok(addr);
        const canon = canonicalAddress(addr);
        if (addr.kind() === 'ipv4') return; // ::ffff:a.b.c.d written in hex is an IPv4 address
        for (const form of [full.toUpperCase(), groups.map((g) => g.toString(16)).join(':'), `[${full}]`, `[${full}]:${port}`, canon]) {
          assert.equal(canonicalAddress(parseAddress(form)!), canon, form);
        }
        assert.equal(canonicalAddress(parseAddress(canon)!), canon, 'canonical is a fixed point');
      }),
    );
  });

  test('property: an IPv4 text (plain or ::ffff:-mapped) parses exactly when ipaddr.js reads it as a four-part decimal, to the same address', () => {
    const part = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.integer({ min: 0, max: 99 }).map((n) => `0${n}`), fc.constantFrom('0x1f', '', '1e2', '+1', '1 1'));
    fc.assert(
      fc.property(fc.array(part, { minLength: 3, maxLength: 5 }), fc.constantFrom('', '::ffff:', '::FFFF:', '[::ffff:'), (parts, prefix) => {
        const v4 = parts.join('.');
        const text = prefix === '[::ffff:' ? `${prefix}${v4}]` : `${prefix}${v4}`;
        const valid = ipaddr.IPv4.isValidFourPartDecimal(v4);
        const got = parseAddress(text);
        assert.equal(got !== undefined, valid, text);
        if (got) assert.equal(got.toString(), ipaddr.IPv4.parse(v4).toString(), text);
      }),
      { numRuns: 3000 },
    );
  });

  test('property: arbitrary text never throws; what parses re-parses to itself; known junk never parses', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80, unit: 'binary' }), (text) => {
        const a = parseAddress(text);
        if (a) assert.equal(canonicalAddress(parseAddress(canonicalAddress(a))!), canonicalAddress(a));
        const got = clientAddress('10.0.0.1', text, TRUSTED);
        assert.ok(got);
      }),
      { numRuns: 1000 },
    );
    for (const j of ['unknown', '010.1.2.3', '0x7f.0.0.1', '2130706433', '127.1', 'fe80::1%eth0', '[1.2.3.4]', '1.2.3.4:x', 'localhost', '']) {
      assert.equal(parseAddress(j), undefined, j);
    }
  });

  test('examples: spoofing from anywhere, a proxy chain, repeated headers', () => {
    const spoof = clientAddress('198.51.100.7', '10.1.2.3', TRUSTED);
    assert.equal(canonicalAddress(spoof!), '198.51.100.7', 'attack 7: an untrusted peer cannot name another address');
    assert.equal(canonicalAddress(clientAddress('10.0.0.5', '10.1.2.3, 203.0.113.4, 10.9.9.9', TRUSTED)!), '203.0.113.4');
    assert.equal(canonicalAddress(clientAddress('10.0.0.5', ['203.0.113.4', '10.9.9.9'], TRUSTED)!), '203.0.113.4', 'repeated header lines are one list');
    assert.equal(canonicalAddress(clientAddress('10.0.0.5', '10.1.1.1, 10.2.2.2', TRUSTED)!), '10.1.1.1', 'all trusted: the left-most');
    assert.equal(canonicalAddress(clientAddress('::ffff:10.0.0.5', '203.0.113.4', TRUSTED)!), '203.0.113.4', 'a mapped peer is matched as IPv4');
    assert.equal(clientAddress('', '203.0.113.4', TRUSTED), undefined, 'no peer address: nothing (callers refuse)');
  });
});
