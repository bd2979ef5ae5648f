// Endpoint scopes: which requests (method and path) a grant of an ApiKey or an
// Application allows. A pattern is "/"-separated segments from the root, each
// literal, "*" (exactly one segment) or, last only, "**" (any number of
// remaining segments, none included); absent methods allow every method.
//
// Pure and shared: the gateway compiles a scope once per credential when it
// loads a config and calls the matcher per request; the operator or webhook
// may call matchesEndpoint to answer "does this scope allow that call".
//
// The request path is split as the gateway's router splits it (empty segments
// skipped), then each segment is percent-decoded, so "/%66lights/1" is the
// "/flights/1" the upstream reads. Fail closed on what an upstream could read
// as more than one segment or as a step up: a segment that does not decode, or
// decodes to "." or "..", or holds "/" or "\" (raw or encoded), or is empty,
// "." or ".." before a ";" (path parameters, which Tomcat and Jetty drop),
// makes the request match no endpoint at all.

import type { Endpoint } from '../api/v1alpha1/index.ts';

export interface EndpointLike {
  readonly methods?: readonly string[] | undefined;
  readonly path: string;
}

/** Does the scope allow `method` on `path` (the raw request path, without the query)? */
export type EndpointMatcher = (method: string, path: string) => boolean;

interface CompiledEndpoint {
  methods: ReadonlySet<string> | undefined;
  /** Segments before a final "**": literal, or "*" for one segment. */
  segments: readonly string[];
  /** A final "**": any number of further segments. */
  rest: boolean;
}

/** A pattern as segments; undefined when it is not a pattern (never matches: fail closed). */
function compilePattern(path: string): { segments: string[]; rest: boolean } | undefined {
  if (!path.startsWith('/')) return undefined;
  const parts = path.split('/').slice(1);
  if (parts.length === 1 && parts[0] === '') return { segments: [], rest: false }; // "/": the root only
  let rest = false;
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p === '' || p === '.' || p === '..') return undefined;
    if (p === '**') {
      if (i !== parts.length - 1) return undefined;
      rest = true;
      continue;
    }
    if (p.includes('*') && p !== '*') return undefined;
    out.push(p);
  }
  return { segments: out, rest };
}

/**
 * The request path's segments as the upstream reads them, or undefined when
 * a segment is ambiguous (undecodable, a dot segment, a hidden separator).
 */
export function requestSegments(path: string): string[] | undefined {
  const out: string[] = [];
  for (const raw of path.split('/')) {
    if (raw === '') continue;
    let seg = raw;
    if (raw.includes('%')) {
      try {
        seg = decodeURIComponent(raw);
      } catch {
        return undefined;
      }
    }
    if (seg === '.' || seg === '..' || seg.includes('/') || seg.includes('\\')) return undefined;
    // Path parameters: Tomcat and Jetty drop ";..." from a segment, so "..;x" climbs and ";x" vanishes upstream.
    const semi = seg.indexOf(';');
    if (semi >= 0) {
      const bare = seg.slice(0, semi);
      if (bare === '' || bare === '.' || bare === '..') return undefined;
    }
    out.push(seg);
  }
  return out;
}

function matchOne(e: CompiledEndpoint, method: string, segs: readonly string[]): boolean {
  if (e.methods && !e.methods.has(method)) return false;
  const n = e.segments.length;
  if (e.rest ? segs.length < n : segs.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const p = e.segments[i]!;
    if (p !== '*' && p !== segs[i]) return false;
  }
  return true;
}

/** Compiles a scope once; the matcher is what runs per request. */
export function compileEndpointScope(endpoints: readonly EndpointLike[]): EndpointMatcher {
  const compiled: CompiledEndpoint[] = [];
  for (const e of endpoints) {
    const p = compilePattern(e.path);
    if (!p) continue; // a malformed pattern allows nothing
    compiled.push({ methods: e.methods ? new Set(e.methods.map((m) => m.toUpperCase())) : undefined, segments: p.segments, rest: p.rest });
  }
  return (method, path) => {
    if (compiled.length === 0) return false;
    const segs = requestSegments(path);
    if (!segs) return false;
    const m = method.toUpperCase();
    for (const e of compiled) if (matchOne(e, m, segs)) return true;
    return false;
  };
}

/** Pure: does any endpoint of the scope allow `method` on `path`? */
export function matchesEndpoint(endpoints: readonly EndpointLike[], method: string, path: string): boolean {
  return compileEndpointScope(endpoints)(method, path);
}

// Is a scope wider than another? A Contract's scope follows its consumer's: a
// narrower scope keeps the owner's decision, a wider one on a manual tier is a
// new request (decision back to Pending). Conservative: whatever is not
// provably within the old scope counts as wider.

/** Path segments of a pattern: "/" → [], "/a/*\/**" → ["a", "*", "**"]. */
const segments = (path: string): string[] => (path === '/' ? [] : path.slice(1).split('/'));

/** Whether every path `inner` matches is one `outer` matches ("*" one segment, a final "**" any number). */
export function pathCovers(outer: string, inner: string): boolean {
  const o = segments(outer);
  const i = segments(inner);
  const rest = o[o.length - 1] === '**';
  const fixed = rest ? o.slice(0, -1) : o;
  // Without a final "**" the lengths must agree; with one, inner needs at least the fixed part (and more, unless it
  // is provably within: "**" may match no segment, but counting that as wider is the safe side).
  if (rest ? i.length <= fixed.length : i.length !== o.length) return false;
  for (let n = 0; n < fixed.length; n++) {
    const a = fixed[n]!;
    const b = i[n]!;
    if (b === '**') return false; // any number of segments, not one
    if (a !== '*' && a !== b) return false;
  }
  return true;
}

/** Whether `outer` allows every request `inner` allows. */
export function endpointCovers(outer: Endpoint, inner: Endpoint): boolean {
  if (outer.methods && (!inner.methods || inner.methods.some((m) => !outer.methods!.includes(m)))) return false;
  return pathCovers(outer.path, inner.path);
}

/**
 * Whether `next` may allow a request `old` did not: true unless each endpoint of `next` lies within one of `old`.
 * Absent is the whole API: nothing widens it, and going to it from a list widens.
 */
export function scopeWidens(old: readonly Endpoint[] | undefined, next: readonly Endpoint[] | undefined): boolean {
  if (!old) return false;
  if (!next) return true;
  return !next.every((e) => old.some((o) => endpointCovers(o, e)));
}
