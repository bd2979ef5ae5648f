// `make demo`: a local control plane, the operator, webhook and gateway, the
// story of examples/ applied in GitOps order, and requests through the gateway.
// Stops everything on Ctrl-C. `--once` (what the e2e suite runs) exits after
// the requests instead of waiting.
//
// Secrets stay secret here too: keys and client secrets are used for requests
// but never printed; the demo shows the commands that read them.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../test/controlplane/controlplane.ts';
import { kubectl, applyYaml, applyUntilAdmitted as applyAdmitted } from '../test/e2e/support/kubectl.ts';
import { waitFor } from '../test/e2e/support/wait.ts';
import { ROOT, GATEWAY_SA, OPERATOR_NAMESPACE, OPERATOR_SA, WEBHOOK_SA, freePort, installCrossgate, rawKeyOf, serviceAccountKubeconfig } from '../test/e2e/support/install.ts';

const once = process.argv.includes('--once');
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = '') => console.log(s);
let currentStep = 'starting';
const step = (s: string) => {
  currentStep = s;
  say(`\n${bold(`▸ ${s}`)}`);
};
/** A path as one shell word, so the printed commands paste as they are even from a directory with spaces. */
const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const ex = (...p: string[]) => join(ROOT, 'examples', ...p);
/** The two APIs of Max Airlines' Partner APIs group, as paths on the gateway. */
const FLIGHTS = '/flights/v1/flights';
const FARES = '/flights/fares/v1/fares';

const children: ChildProcess[] = [];
let cp: ControlPlane | undefined;
let upstream: Server | undefined;
const logDir = mkdtempSync(join(tmpdir(), 'crossgate-demo-'));

function run(name: string, script: string, env: NodeJS.ProcessEnv): ChildProcess {
  const log = createWriteStream(join(logDir, `${name}.log`));
  const child = spawn(process.execPath, [join(ROOT, script)], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`${name} exited (${code ?? signal}); see ${join(logDir, `${name}.log`)}`);
  });
  children.push(child);
  return child;
}

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('\nstopping gateway, webhook, operator and the control plane…');
    await kubectl(['delete', 'validatingwebhookconfiguration', 'crossgate-validating-webhook', '--ignore-not-found'], { allowFail: true, timeoutMs: 5000 }).catch(() => undefined);
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
            c.once('exit', () => (clearTimeout(t), resolve()));
            c.kill('SIGTERM');
          }),
      ),
    );
    upstream?.close();
    await cp?.stop();
    if (code === 0 && once) rmSync(logDir, { recursive: true, force: true });
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const rawKey = (secret: string) => rawKeyOf(secret, 'mule-united-prod');
/** One data key of an Application's Secret (clientId, clientSecret), for requests only: never printed. */
const clientField = async (secret: string, key: 'clientId' | 'clientSecret') =>
  Buffer.from((await kubectl(['get', 'secret', secret, '-n', 'mule-united-prod', '-o', `jsonpath={.data.${key}}`])).stdout, 'base64').toString('utf8');

// A GitOps tool applies until admission agrees: the webhook judges from its
// informer cache, which may trail the objects applied just before by a moment.
// Generous timeouts: on a loaded 2-core CI machine a first reconcile can take a while.
const WAIT_MS = 90_000;
const applyUntilAdmitted = (file: string, what: string) => applyAdmitted(file, { what, timeoutMs: WAIT_MS });

/** The last lines of each component's log, so a failed run explains itself where only its output is kept (CI). */
function logTails(lines = 15): string {
  const out: string[] = [];
  for (const name of ['webhook', 'operator', 'gateway']) {
    const file = join(logDir, `${name}.log`);
    if (!existsSync(file)) continue;
    const tail = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines);
    out.push(`--- last ${tail.length} lines of ${name}.log ---`, ...tail.map((l) => l.slice(0, 400)));
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  step('building or reusing the control-plane binaries (kube-apiserver, etcd, kube-controller-manager, kubectl)');
  const binDir = execFileSync(join(ROOT, 'test', 'controlplane', 'build.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  step('starting a local control plane on 127.0.0.1');
  cp = await startControlPlane({ binDir, log: (m) => say(`  ${m}`) });
  process.env.KUBECONFIG = cp.kubeconfig;
  process.env.CROSSGATE_KUBECTL = join(binDir, 'kubectl');

  step('installing CRDs, ClusterRoles and ServiceAccounts');
  await installCrossgate();

  step('starting an upstream (the Flights and Fares implementations), the webhook, the operator and the gateway');
  // One local server plays both: the gateway strips the base path, so Fares' requests arrive under /fares.
  upstream = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    const body = req.url?.startsWith('/fares')
      ? { fares: [{ flight: 'MA101', cabin: 'economy', price: 129, currency: 'EUR' }], path: req.url }
      : { flights: [{ id: 'MA101', from: 'MUC', to: 'AMS', status: 'on time' }], path: req.url };
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', r));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  // crossgate refuses loopback upstreams unless the platform allows the exact host:port: this one only.
  const platform = { CROSSGATE_LOOPBACK_UPSTREAMS: new URL(upstreamUrl).host };
  const [whPort, opHealth, gwPort, gwAdmin] = [await freePort(), await freePort(), await freePort(), await freePort()];
  run('webhook', 'webhook/main.ts', {
    KUBECONFIG: await serviceAccountKubeconfig(WEBHOOK_SA),
    CROSSGATE_NAMESPACE: OPERATOR_NAMESPACE,
    CROSSGATE_WEBHOOK_ADDR: `127.0.0.1:${whPort}`,
    CROSSGATE_WEBHOOK_URL: `https://127.0.0.1:${whPort}/validate`,
    CROSSGATE_WEBHOOK_REGISTER: 'true',
    ...platform,
  });
  run('operator', 'operator/main.ts', {
    KUBECONFIG: await serviceAccountKubeconfig(OPERATOR_SA),
    CROSSGATE_NAMESPACE: OPERATOR_NAMESPACE,
    CROSSGATE_HEALTH_ADDR: `127.0.0.1:${opHealth}`,
    CROSSGATE_GATEWAY_URL: `http://127.0.0.1:${gwPort}`,
    ...platform,
  });
  run('gateway', 'gateway/main.ts', {
    KUBECONFIG: await serviceAccountKubeconfig(GATEWAY_SA),
    GATEWAY_NAME: 'default',
    GATEWAY_NAMESPACE: OPERATOR_NAMESPACE,
    GATEWAY_LISTEN: `127.0.0.1:${gwPort}`,
    GATEWAY_ADMIN_LISTEN: `127.0.0.1:${gwAdmin}`,
    ...platform,
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${opHealth}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: WAIT_MS, what: 'operator ready' });

  step('applying examples/ — organizations, and Max Airlines trusting Mule United');
  // Until the webhook serves with the CA the apiserver was given, admission fails closed: retry.
  await applyUntilAdmitted(ex('max-airlines', '00-organization.yaml'), 'Organization max-airlines admitted');
  await applyUntilAdmitted(ex('mule-united', '00-organization.yaml'), 'Organization mule-united admitted');
  // The webhook is ready once the apiserver calls it and it knows both organizations; until then
  // admission would not judge the share below on trust.
  await waitFor(async () => /denied the request: .*until trust is mutual/.test((await applyYaml(ex('max-airlines', '30-assetshare-flights-eapi.yaml'), { allowFail: true })).stderr), {
    timeoutMs: WAIT_MS,
    intervalMs: 500,
    what: 'the webhook to judge requests on trust',
  });
  await applyUntilAdmitted(ex('max-airlines', '10-orgtrust-mule-united.yaml'), 'OrgTrust mule-united admitted');
  await applyUntilAdmitted(ex('max-airlines', '20-asset-flights-eapi.yaml'), 'Asset flights-eapi admitted');
  await applyUntilAdmitted(ex('max-airlines', '21-asset-fares-eapi.yaml'), 'Asset fares-eapi admitted');
  step('sharing the Flights EAPI before Mule United trusts back: admission refuses it');
  // Shown once the webhook has seen Max Airlines' own trust, so the refusal names only what is missing.
  const refused = await waitFor(async () => {
    const r = await applyYaml(ex('max-airlines', '30-assetshare-flights-eapi.yaml'), { allowFail: true });
    return r.code !== 0 && !r.stderr.includes('namespace "max-airlines"') ? r : undefined;
  }, { timeoutMs: WAIT_MS, intervalMs: 500, what: "the share's refusal to name only Mule United's missing trust" });
  say(`  $ kubectl apply -f examples/max-airlines/30-assetshare-flights-eapi.yaml\n  ${refused.stderr.trim().split('\n').join('\n  ')}`);

  step('Mule United trusts back; the GitOps retry of the share succeeds');
  await applyUntilAdmitted(ex('mule-united', '10-orgtrust-max-airlines.yaml'), 'OrgTrust max-airlines admitted');
  await applyUntilAdmitted(ex('max-airlines', '30-assetshare-flights-eapi.yaml'), 'share admitted');
  for (const f of ['40-apiinstance-flights.yaml', '41-policies.yaml', '42-slatiers.yaml', '43-apiinstance-fares.yaml', '44-policies-fares.yaml']) {
    await applyUntilAdmitted(ex('max-airlines', f), `${f} admitted`);
  }
  for (const api of ['flights', 'fares']) {
    await kubectl(['patch', 'apiinstance', api, '-n', 'max-airlines-prod', '--type=merge', '-p', JSON.stringify({ spec: { upstream: { url: upstreamUrl } } })]);
  }
  step('grouping flights and fares as the Partner APIs, with a group tier, shared with Mule United');
  for (const f of ['45-apigroup-partner-apis.yaml', '46-slatier-partner-gold.yaml']) await applyUntilAdmitted(ex('max-airlines', f), `${f} admitted`);
  await applyUntilAdmitted(ex('max-airlines', '50-assetshare-flights-api.yaml'), 'API share admitted');
  await applyUntilAdmitted(ex('max-airlines', '51-assetshare-partner-apis.yaml'), 'group share admitted');
  await waitFor(async () => (await kubectl(['get', 'apigroup', 'partner-apis', '-n', 'max-airlines', '-o', 'jsonpath={.status.members}'])).stdout === '2', {
    timeoutMs: WAIT_MS,
    what: 'ApiGroup partner-apis to resolve its 2 members',
  });
  say((await kubectl(['get', 'apigroups', '-n', 'max-airlines'])).stdout.replace(/^/gm, '  '));
  step('Mule United asks: three ApiKeys for flights, and the booking site (an Application) for the Partner APIs group');
  await applyUntilAdmitted(ex('mule-united', '20-apikeys.yaml'), 'keys admitted');
  for (const key of ['trial-app', 'gate-display']) {
    await waitFor(async () => (await kubectl(['get', 'apikey', key, '-n', 'mule-united-prod', '-o', 'jsonpath={.status.state}'])).stdout === 'Approved', {
      timeoutMs: WAIT_MS,
      what: `ApiKey ${key} Approved`,
    });
  }
  await applyUntilAdmitted(ex('mule-united', '30-application.yaml'), 'Application admitted');
  const clientId = await waitFor(async () => {
    const app = JSON.parse((await kubectl(['get', 'application', 'booking-site', '-n', 'mule-united-prod', '-o', 'json'])).stdout);
    return app.status?.approved >= 1 && app.status?.clientId ? (app.status.clientId as string) : undefined;
  }, { timeoutMs: WAIT_MS, what: "Application booking-site's client ID, its partner-gold group entry Approved" });

  step('kubectl get crossgate -A');
  say((await kubectl(['get', 'crossgate', '-A'])).stdout.replace(/^/gm, '  '));
  step("the issued key's Secret (the key itself stays in it)");
  say((await kubectl(['get', 'secret', '-n', 'mule-united-prod', '-l', 'crossgate.dev/apikey'])).stdout.replace(/^/gm, '  '));
  step("the Application's Secret (client ID and client secret; the secret stays in it)");
  say((await kubectl(['get', 'secret', '-n', 'mule-united-prod', '-l', 'crossgate.dev/application'])).stdout.replace(/^/gm, '  '));
  say('  read them with the commands under "where to look next"');

  const gw = `http://127.0.0.1:${gwPort}`;
  const gold = await rawKey('gate-display-apikey');
  const trial = await rawKey('trial-app-apikey');
  const appSecret = await clientField('booking-site-client', 'clientSecret');
  if ((await clientField('booking-site-client', 'clientId')) !== clientId) throw new Error("the Secret's client ID is not the Application's status.clientId");
  const basic = `Basic ${Buffer.from(`${clientId}:${appSecret}`).toString('base64')}`;
  await waitFor(async () => (await fetch(`${gw}/flights/v1/flights`, { headers: { 'x-api-key': gold } }).catch(() => undefined))?.status === 200, {
    timeoutMs: WAIT_MS,
    what: 'the gateway to serve the gold key',
  });
  for (const path of [FLIGHTS, FARES]) {
    await waitFor(async () => (await fetch(`${gw}${path}`, { headers: { 'x-client-id': clientId, 'x-client-secret': appSecret } }).catch(() => undefined))?.status === 200, {
      timeoutMs: WAIT_MS,
      what: `the gateway to serve the booking site's client ID and secret on ${path}`,
    });
  }
  step('requests through the gateway');
  const show = async (label: string, headers: Record<string, string>, path = FLIGHTS) => {
    const res = await fetch(`${gw}${path}`, { headers });
    const text = await res.text();
    // A refusal is RFC 9457 problem details: its type says why.
    const problem = res.headers.get('content-type')?.startsWith('application/problem+json') ? (JSON.parse(text) as { type?: string }).type : undefined;
    const body = problem ? `problem: ${problem}` : text.slice(0, 160);
    const extra = res.headers.get('retry-after') ? `  (Retry-After: ${res.headers.get('retry-after')}s)` : '';
    say(`  ${label.padEnd(40)} → ${res.status}${extra}  ${body}`);
    return res.status;
  };
  const ok = await show('GET with the gold key', { 'x-api-key': gold });
  const noKey = await show('GET without a key', {});
  let over = 0;
  for (let i = 1; i <= 4; i++) over = await show(`GET with the trial key (#${i} of 3/min)`, { 'x-api-key': trial });
  // booking-site's one client ID and secret, on each API of the Partner APIs group.
  const appHeaders = await show('GET flights as booking-site, two headers', { 'x-client-id': clientId, 'x-client-secret': appSecret });
  const appFares = await show('GET fares as booking-site, two headers', { 'x-client-id': clientId, 'x-client-secret': appSecret }, FARES);
  const appBasic = await show('GET fares as booking-site, HTTP Basic', { authorization: basic }, FARES);
  const appWrong = await show('GET as booking-site, wrong secret', { 'x-client-id': clientId, 'x-client-secret': 'not-the-secret' });

  step('where to look next (paste the export line first: kubectl lives in the control-plane cache, not on PATH)');
  say(`  export PATH=${shellQuote(binDir)}:"$PATH" KUBECONFIG=${shellQuote(cp.kubeconfig)}`);
  say("  kubectl -n mule-united-prod get secret gate-display-apikey -o jsonpath='{.data.apiKey}' | base64 -d");
  say(`  kubectl get org,otr,assetshares -A; kubectl get apikeys -n mule-united-prod; kubectl get contracts -n max-airlines-prod`);
  say('  kubectl get applications -n mule-united-prod');
  say('  kubectl get apigroups -n max-airlines');
  say('  kubectl get slatiers,contracts -n max-airlines');
  say("  CLIENT_ID=$(kubectl -n mule-united-prod get secret booking-site-client -o jsonpath='{.data.clientId}' | base64 -d)");
  say("  CLIENT_SECRET=$(kubectl -n mule-united-prod get secret booking-site-client -o jsonpath='{.data.clientSecret}' | base64 -d)");
  say(`  curl -s -u "$CLIENT_ID:$CLIENT_SECRET" ${gw}${FLIGHTS}`);
  say(`  curl -s -u "$CLIENT_ID:$CLIENT_SECRET" ${gw}${FARES}`);
  say(`  kubectl -n max-airlines-prod patch contract mule-united-prod.key.ops-dashboard --type=merge -p '{"spec":{"decision":"Approved"}}'`);
  say(`  gateway: ${gw}/flights/v1/flights   metrics: http://127.0.0.1:${gwAdmin}/metrics   operator metrics: http://127.0.0.1:${opHealth}/metrics`);
  say(`  logs: ${logDir}`);
  const success = ok === 200 && noKey === 401 && over === 429 && appHeaders === 200 && appFares === 200 && appBasic === 200 && appWrong === 401;
  if (!success) {
    console.error(
      `\nunexpected results: gold ${ok}, no key ${noKey}, over the tier ${over}, booking-site flights ${appHeaders}, fares ${appFares}, fares Basic ${appBasic}, wrong secret ${appWrong}\n${logTails()}`,
    );
    await stop(1);
  }
  if (once) await stop(0);
  say('\nrunning; Ctrl-C stops everything.');
}

main().catch(async (err) => {
  console.error(`demo failed at "${currentStep}": ${err instanceof Error ? err.message : String(err)}\nlogs: ${logDir}\n${logTails()}`);
  await stop(1);
});
