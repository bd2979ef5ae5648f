// The whole story of examples/ applied the way GitOps would (retrying what
// admission refuses until its prerequisites exist), with the ApiInstance's
// upstream pointed at a loopback server. Used by the gateway and alert e2e tests.
import { join } from 'node:path';
import { applyUntilAdmitted, applyYaml, kubectl } from './kubectl.ts';
import { waitFor } from './wait.ts';
import { ROOT } from './install.ts';

export const ex = (...p: string[]) => join(ROOT, 'examples', ...p);

const state = async (key: string) =>
  (await kubectl(['get', 'apikey', key, '-n', 'mule-united-prod', '-o', 'jsonpath={.status.state}'], { allowFail: true })).stdout;

export async function applyStory(upstreamUrl: string): Promise<void> {
  await applyYaml(ex('max-airlines', '00-organization.yaml'));
  await applyYaml(ex('mule-united', '00-organization.yaml'));
  await applyYaml(ex('max-airlines', '10-orgtrust-mule-united.yaml'));
  await applyYaml(ex('mule-united', '10-orgtrust-max-airlines.yaml'));
  for (const f of ['20-asset-flights-eapi.yaml', '40-apiinstance-flights.yaml', '41-policies.yaml', '42-slatiers.yaml']) await applyYaml(ex('max-airlines', f));
  await kubectl(['patch', 'apiinstance', 'flights', '-n', 'max-airlines-prod', '--type=merge', '-p', JSON.stringify({ spec: { upstream: { url: upstreamUrl } } })]);
  await applyUntilAdmitted(ex('max-airlines', '50-assetshare-flights-api.yaml'), { what: 'share admitted' });
  await applyUntilAdmitted(ex('mule-united', '20-apikeys.yaml'), { what: 'keys admitted' });
  await waitFor(async () => (await state('gate-display')) === 'Approved' && (await state('trial-app')) === 'Approved', { what: 'gold and trial keys approved' });
}

export async function deleteStory(): Promise<void> {
  await kubectl(['delete', '-f', ex('mule-united', '20-apikeys.yaml'), '--ignore-not-found', '--timeout=60s'], { allowFail: true });
  await kubectl(['delete', '-f', ex('max-airlines'), '-f', ex('mule-united'), '--ignore-not-found', '--timeout=60s'], { allowFail: true });
  // Key Secrets go with their ApiKeys through garbage collection, which is asynchronous: the next file's
  // keys of the same names must not meet the old Secrets (they would be conflicts, owned by other keys).
  const left = async () =>
    (await kubectl(['get', 'secrets', '-n', 'mule-united-prod', '-l', 'crossgate.dev/apikey', '-o', 'name'], { allowFail: true })).stdout.trim();
  await waitFor(async () => (await left()) === '', { what: 'the key Secrets of the story collected', timeoutMs: 60_000 }).catch(() => undefined);
}
