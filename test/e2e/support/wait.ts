import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { inspect } from "node:util";

export interface WaitOptions {
  /** Default 30 s. */
  timeoutMs?: number;
  /** Default 250 ms. */
  intervalMs?: number;
  /** What is awaited, for the error message. */
  what?: string;
}

/**
 * Calls fn until it returns a truthy value, which is returned. A throw counts as
 * "not yet". On timeout, throws with the last value and the last error seen.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 250;
  const start = Date.now();
  let last: unknown = undefined;
  let lastError: unknown = undefined;
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() - start + intervalMs > timeoutMs) break;
    await sleep(intervalMs);
  }
  const show = (v: unknown) => inspect(v, { depth: 4, breakLength: Infinity, maxStringLength: 2000 });
  throw new Error(
    `timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${opts.what ?? "condition"}; ` +
      `last value: ${show(last)}` +
      (lastError !== undefined ? `; last error: ${lastError instanceof Error ? lastError.message : show(lastError)}` : ""),
  );
}

/** A DNS-1123 label unique to this run: `${prefix}-<time><random>`, at most 63 characters. */
export function uniqueName(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "x";
  const suffix = Date.now().toString(36).slice(-5) + randomBytes(3).toString("hex");
  return `${clean.slice(0, 63 - suffix.length - 1)}-${suffix}`;
}
