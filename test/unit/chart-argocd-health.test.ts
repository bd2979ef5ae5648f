// examples/argocd/health.lua, run by a real Lua interpreter on crossgate objects
// as the operator writes their status. Argo CD runs health checks on gopher-lua
// (Lua 5.1), so lua5.1 is preferred; any `lua` works. Without one the tests skip:
// `apt-get install lua5.1` brings it on Debian.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../hack/sync-chart.ts';

const SCRIPT = join(ROOT, 'examples/argocd/health.lua');

function findLua(): string | undefined {
  for (const bin of [process.env['CROSSGATE_LUA'], 'lua5.1', 'lua', 'lua5.4', 'luajit']) {
    if (bin && spawnSync(bin, ['-v'], { stdio: 'ignore' }).status === 0) return bin;
  }
  return undefined;
}
const lua = findLua();
const skip = lua ? false : 'no Lua interpreter (lua5.1, lua, lua5.4, luajit or $CROSSGATE_LUA) on PATH: apt-get install lua5.1';

/** A JSON-like value as a Lua table constructor. */
function toLua(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return JSON.stringify(v); // JSON escapes are valid Lua escapes for these texts
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `{${v.map(toLua).join(', ')}}`;
  return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `[${JSON.stringify(k)}] = ${toLua(x)}`).join(', ')}}`;
}

function health(obj: Record<string, unknown>): { status: string; message: string } {
  // As Argo CD does: the object is the global `obj`, the chunk returns hs.
  const driver = `obj = ${toLua(obj)}\nlocal hs = dofile(${JSON.stringify(SCRIPT)})\nio.write(hs.status, "\\n", hs.message or "")`;
  const out = execFileSync(lua!, ['-e', driver], { encoding: 'utf8' });
  const [status = '', ...rest] = out.split('\n');
  return { status, message: rest.join('\n') };
}

const cond = (type: string, status: string, reason: string, message = `${reason} message`) => ({ type, status, reason, message, observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' });
const obj = (kind: string, status?: Record<string, unknown>, generation = 1) => ({
  apiVersion: 'crossgate.dev/v1alpha1',
  kind,
  metadata: { name: 'x', namespace: 'ns', generation },
  ...(status ? { status } : {}),
});

test('not reconciled yet: Progressing', { skip }, () => {
  assert.equal(health(obj('Organization')).status, 'Progressing');
  assert.equal(health(obj('ApiInstance', { observedGeneration: 1, conditions: [cond('Ready', 'True', 'Routed')] }, 2)).status, 'Progressing');
  assert.equal(health(obj('Asset', { observedGeneration: 1 })).status, 'Progressing');
});

test('OrgTrust follows Mutual: one-sided trust is Progressing (waiting for the peer)', { skip }, () => {
  assert.deepEqual(health(obj('OrgTrust', { observedGeneration: 1, conditions: [cond('Mutual', 'True', 'Mutual', 'both trust each other')] })), { status: 'Healthy', message: 'both trust each other' });
  const oneSided = health(obj('OrgTrust', { observedGeneration: 1, conditions: [cond('Mutual', 'False', 'NotTrustedBack', 'mule-united must declare trust in max-airlines')] }));
  assert.deepEqual(oneSided, { status: 'Progressing', message: 'mule-united must declare trust in max-airlines' });
});

test('ApiKey and Contract follow status.state', { skip }, () => {
  const key = (state: string) => health(obj('ApiKey', { observedGeneration: 1, state, conditions: [cond('Ready', state === 'Approved' ? 'True' : 'False', state)] })).status;
  assert.equal(key('Approved'), 'Healthy');
  assert.equal(key('Pending'), 'Progressing');
  assert.equal(key('Suspended'), 'Suspended');
  assert.equal(key('Revoked'), 'Suspended');
  assert.equal(key('Rejected'), 'Degraded');
  assert.equal(key('Expired'), 'Degraded');
  const contract = (state: string) => health(obj('Contract', { observedGeneration: 1, state })).status;
  assert.equal(contract('Approved'), 'Healthy');
  assert.equal(contract('Pending'), 'Progressing');
  assert.equal(contract('Rejected'), 'Suspended');
  assert.equal(contract('Revoked'), 'Suspended');
  assert.equal(contract('Suspended'), 'Suspended');
  assert.equal(health(obj('Contract', { observedGeneration: 1 })).status, 'Progressing');
});

test('Application: Healthy with an approved entry; else Progressing while one is pending, Degraded when rejected, expired or in conflict, Suspended when trust or revocation stops it', { skip }, () => {
  const app = (ready: [string, string], states: string[]) =>
    health(obj('Application', { observedGeneration: 1, conditions: [cond('Ready', ready[0], ready[1])], access: states.map((state) => ({ apiInstance: 'o/i', tier: 't', state, reason: state, message: state })) })).status;
  assert.equal(app(['True', 'PartlyApproved'], ['Approved', 'Pending']), 'Healthy');
  assert.equal(app(['False', 'NoneApproved'], ['Pending', 'Suspended']), 'Progressing');
  assert.equal(app(['False', 'RejectedByOwner'], ['Rejected']), 'Degraded');
  assert.equal(app(['False', 'Expired'], ['Expired']), 'Degraded');
  assert.equal(app(['False', 'SecretConflict'], ['Pending']), 'Degraded');
  assert.equal(app(['False', 'NotTrusted'], ['Suspended']), 'Suspended');
  assert.equal(app(['False', 'RevokedByConsumer'], ['Revoked']), 'Suspended');
  assert.equal(health(obj('Application', { observedGeneration: 1 })).status, 'Progressing');
});

test('ApiGroup: Healthy when every member resolves; Progressing while a member is not created yet; Degraded for a foreign member', { skip }, () => {
  assert.deepEqual(health(obj('ApiGroup', { observedGeneration: 1, conditions: [cond('Ready', 'True', 'Resolved', '2 members')] })), { status: 'Healthy', message: '2 members' });
  assert.equal(health(obj('ApiGroup', { observedGeneration: 1, conditions: [cond('Ready', 'False', 'MemberNotFound')] })).status, 'Progressing');
  assert.deepEqual(health(obj('ApiGroup', { observedGeneration: 1, conditions: [cond('Ready', 'False', 'ForeignMember', 'left out: x')] })), { status: 'Degraded', message: 'left out: x' });
  assert.equal(health(obj('ApiGroup', { observedGeneration: 1, conditions: [cond('Ready', 'False', 'NotInHomeNamespace')] })).status, 'Degraded');
});

test('AssetShare: suspended peers are Suspended, not Degraded', { skip }, () => {
  assert.equal(health(obj('AssetShare', { observedGeneration: 1, conditions: [cond('Ready', 'True', 'Shared')] })).status, 'Healthy');
  assert.equal(health(obj('AssetShare', { observedGeneration: 1, conditions: [cond('Ready', 'False', 'Suspended')] })).status, 'Suspended');
  assert.equal(health(obj('AssetShare', { observedGeneration: 1, conditions: [cond('Ready', 'False', 'PartiallySuspended')] })).status, 'Suspended');
  assert.equal(health(obj('AssetShare', { observedGeneration: 1, conditions: [cond('Ready', 'False', 'TargetNotFound')] })).status, 'Degraded');
});

test('Alert: Healthy while it evaluates, firing or not; Degraded when it cannot read the gateway', { skip }, () => {
  assert.equal(health(obj('Alert', { observedGeneration: 1, state: 'Inactive', conditions: [cond('Ready', 'True', 'Evaluated')] })).status, 'Healthy');
  const firing = health(obj('Alert', { observedGeneration: 1, state: 'Firing', conditions: [cond('Ready', 'True', 'Firing', 'error rate > 5%: value 12')] }));
  assert.deepEqual(firing, { status: 'Healthy', message: 'firing: error rate > 5%: value 12' });
  assert.equal(health(obj('Alert', { observedGeneration: 1, state: 'Unknown', conditions: [cond('Ready', 'False', 'GatewayUnreachable')] })).status, 'Degraded');
});

test('the other kinds follow Ready', { skip }, () => {
  for (const kind of ['Organization', 'Asset', 'ApiInstance', 'Policy', 'SlaTier']) {
    assert.equal(health(obj(kind, { observedGeneration: 1, conditions: [cond('Ready', 'True', 'Reconciled')] })).status, 'Healthy', kind);
    const bad = health(obj(kind, { observedGeneration: 1, conditions: [cond('Ready', 'False', 'RouteConflict', '/flights/v1 is taken by prod/other')] }));
    assert.deepEqual(bad, { status: 'Degraded', message: '/flights/v1 is taken by prod/other' }, kind);
  }
  assert.equal(health(obj('Organization', { observedGeneration: 1, conditions: [cond('Ready', 'False', 'Progressing')] })).status, 'Progressing');
  assert.equal(health(obj('Organization', { observedGeneration: 1, conditions: [] })).status, 'Progressing');
});
