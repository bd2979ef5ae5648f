// HTTP header rules for anything a tenant writes that becomes a header name or
// value at the gateway (header-injection, CORS lists, key and token headers).
// Pure: the webhook (through validatePolicyConfig), the operator's route
// verdict and the gateway's compile all call these, and the gateway's proxy
// takes its hop-by-hop list from here, so the rules cannot drift apart.

/** RFC 9110 §5.6.2 token: the only characters a field name may have. */
export const HEADER_TOKEN_PATTERN = "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$";
/** Visible ASCII, space and tab: narrower than RFC 9110's obs-text so no value can depend on an encoding. */
export const HEADER_VALUE_PATTERN = '^[\\t\\x20-\\x7e]*$';
export const MAX_HEADER_NAME_LENGTH = 256;
/** Gateway API's limit on a header value. */
export const MAX_HEADER_VALUE_LENGTH = 4096;
/** Entries in one set map or remove list. */
export const MAX_HEADER_ENTRIES = 32;

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1): never forwarded, never writable by a policy. */
export const HOP_BY_HOP_HEADERS: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
];

/** Headers that frame the message or address it: the gateway computes them. */
export const FRAMING_HEADERS: readonly string[] = ['host', 'content-length', 'expect'];

/** Prefixes of the headers the gateway itself sets (identity, forwarding chain). */
export const RESERVED_HEADER_PREFIXES: readonly string[] = ['x-crossgate-', 'x-forwarded-'];

/** Every exact name a policy may neither set nor remove (lower case); see reservedHeaderReason for prefixes too. */
export const RESERVED_HEADERS: readonly string[] = ['forwarded', ...FRAMING_HEADERS, ...HOP_BY_HOP_HEADERS];

const hopByHop = new Set(HOP_BY_HOP_HEADERS);
const framing = new Set(FRAMING_HEADERS);

/** Why a header name is reserved (any letter case), or undefined when a policy may set or remove it. */
export function reservedHeaderReason(name: string): string | undefined {
  const n = name.toLowerCase();
  if (n.startsWith('x-crossgate-')) return 'the gateway sets it';
  if (n === 'forwarded' || n.startsWith('x-forwarded-')) return 'the gateway sets the forwarding headers';
  if (framing.has(n)) return 'it frames or addresses the message, the gateway computes it';
  if (hopByHop.has(n)) return 'it is hop-by-hop: it describes one connection, not the message';
  return undefined;
}

export function isReservedHeader(name: string): boolean {
  return reservedHeaderReason(name) !== undefined;
}

const TOKEN = new RegExp(HEADER_TOKEN_PATTERN);

/** A header name for a message: quoted, cut at 64 characters. */
export function quoteHeader(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** What is wrong with a header name (length, characters), or undefined. Names the offending character, not just the rule. */
export function headerNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'a header name cannot be empty';
  if (name.length > MAX_HEADER_NAME_LENGTH) return `header name ${quoteHeader(name)} is ${name.length} characters long: at most ${MAX_HEADER_NAME_LENGTH}`;
  if (TOKEN.test(name)) return undefined;
  const i = [...name].findIndex((c) => !TOKEN.test(c));
  const bad = [...name][i]!;
  return `header name ${quoteHeader(name)} has ${codePoint(bad)} at position ${i}: use letters, digits and !#$%&'*+.^_\`|~- only (RFC 9110 token)`;
}

const VALUE_CHAR = /[\t\x20-\x7e]/;

/** What is wrong with a header value (length, characters), or undefined. Never quotes the value: it may be a secret. */
export function headerValueProblem(header: string, value: string): string | undefined {
  if (value.length > MAX_HEADER_VALUE_LENGTH) return `header ${quoteHeader(header)} has a value of ${value.length} characters: at most ${MAX_HEADER_VALUE_LENGTH}`;
  let i = 0;
  for (const c of value) {
    if (!VALUE_CHAR.test(c)) return `header ${quoteHeader(header)} has ${codePoint(c)} at position ${i} of its value: use visible ASCII, space and tab only`;
    i++;
  }
  return undefined;
}
