// Is an endpoint scope wider than another? A Contract's scope changes with its
// consumer's (ApiKey.spec.endpoints, an Application entry's endpoints): a
// narrower scope keeps the owner's decision, a wider one on a manual tier is a
// new request (decision back to Pending). Conservative: whatever is not
// provably within the old scope counts as wider, so a scope never grows past
// what the owner approved without the owner seeing it again.
import type { Endpoint } from '../api/v1alpha1/index.ts';

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
