// Query strings as the gateway reads them, in one place for the api-key policy
// (which finds its key parameter) and the proxy (which strips that parameter
// before forwarding): both must agree on which pair is the key, or a key the
// policy accepted could reach the upstream. Pairs are split on "&"; names and
// values are form-decoded ("+" is a space).

/** A form-encoded query component decoded; undefined when its percent-encoding is broken. */
export function formDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** One "name=value" pair: its decoded name (undefined when undecodable) and its raw value ("" for a bare name). */
export function queryPair(pair: string): { name: string | undefined; rawValue: string } {
  const eq = pair.indexOf('=');
  return { name: formDecode(eq < 0 ? pair : pair.slice(0, eq)), rawValue: eq < 0 ? '' : pair.slice(eq + 1) };
}
