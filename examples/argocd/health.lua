-- Argo CD health check for every crossgate.dev kind (obj is the live object).
-- Installed per kind by examples/argocd/argocd-cm.patch (generated from this file
-- by hack/sync-chart.ts); tested by test/unit/chart-argocd-health.test.ts.
--
--   not reconciled yet (no status, or status for an older generation) → Progressing
--   OrgTrust      Mutual=True → Healthy; False → Progressing (waiting for the peer
--                 to trust back: later sync waves wait, which is what a share needs)
--   ApiKey        status.state Approved → Healthy; Pending → Progressing (owner's
--                 decision); Suspended, Revoked → Suspended; Rejected, Expired → Degraded
--   Application   Ready=True (at least one access entry Approved) → Healthy; else by
--                 the entries: any Pending → Progressing; any Rejected or Expired, or
--                 a Secret conflict or no entry → Degraded; Suspended, Revoked → Suspended
--                 (a Duplicate entry is ignored: it neither helps nor blocks)
--   Contract      status.state Approved → Healthy; Pending → Progressing;
--                 Rejected, Revoked, Suspended → Suspended (a decision, not a fault)
--   AssetShare    Ready=True → Healthy; Suspended/PartiallySuspended → Suspended
--                 (trust withdrawn: nothing is wrong with the share itself)
--   ApiGroup      Ready=True (every member resolved) → Healthy; MemberNotFound →
--                 Progressing (a member not created yet); ForeignMember,
--                 NotInHomeNamespace → Degraded
--   Alert         Ready=True → Healthy whether Inactive or Firing (firing is what it
--                 reports, to Alertmanager; the object itself works); Ready=False
--                 (no gateway to read) → Degraded
--   everything else (Organization, Asset, ApiInstance, Policy, SlaTier)
--                 Ready=True → Healthy; reason Progressing → Progressing; False → Degraded
hs = {}

local function condition(t)
  if obj.status == nil or obj.status.conditions == nil then return nil end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == t then return c end
  end
  return nil
end

local function result(status, message)
  hs.status = status
  hs.message = message
  return hs
end

local function text(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then return c.message end
  if c ~= nil and c.reason ~= nil then return c.reason end
  return fallback
end

if obj.status == nil then
  return result("Progressing", "waiting for the crossgate operator")
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  return result("Progressing", "waiting for the crossgate operator to observe generation " .. generation)
end

local kind = obj.kind

if kind == "OrgTrust" then
  local mutual = condition("Mutual")
  if mutual == nil then return result("Progressing", "waiting for the crossgate operator") end
  if mutual.status == "True" then return result("Healthy", text(mutual, "trust is mutual")) end
  return result("Progressing", text(mutual, "waiting for the peer to trust back"))
end

if kind == "ApiKey" or kind == "Contract" then
  local state = obj.status.state
  local ready = condition("Ready")
  local msg = text(ready, state)
  if state == nil then return result("Progressing", "waiting for the crossgate operator") end
  if state == "Approved" then return result("Healthy", msg) end
  if state == "Pending" then return result("Progressing", msg) end
  if kind == "ApiKey" and (state == "Rejected" or state == "Expired") then return result("Degraded", msg) end
  return result("Suspended", msg)
end

if kind == "Application" then
  local ready = condition("Ready")
  if ready == nil then return result("Progressing", "waiting for the crossgate operator") end
  local msg = text(ready, "")
  if ready.status == "True" then return result("Healthy", msg) end
  if ready.reason == "SecretConflict" or ready.reason == "NoAccess" then return result("Degraded", msg) end
  local states = {}
  for _, e in ipairs(obj.status.access or {}) do states[e.state] = true end
  if states["Pending"] then return result("Progressing", msg) end
  if states["Rejected"] or states["Expired"] then return result("Degraded", msg) end
  return result("Suspended", msg)
end

if kind == "ApiGroup" then
  local r = condition("Ready")
  if r == nil then return result("Progressing", "waiting for the crossgate operator") end
  if r.status == "True" then return result("Healthy", text(r, "resolved")) end
  if r.reason == "MemberNotFound" then return result("Progressing", text(r, "waiting for a member")) end
  return result("Degraded", text(r, "not ready"))
end

local ready = condition("Ready")
if ready == nil then return result("Progressing", "waiting for the crossgate operator") end
if ready.status == "True" and kind == "Alert" and obj.status.state == "Firing" then
  return result("Healthy", "firing: " .. text(ready, "firing"))
end
if ready.status == "True" then return result("Healthy", text(ready, "ready")) end
if ready.status == "Unknown" or ready.reason == "Progressing" then return result("Progressing", text(ready, "progressing")) end
if kind == "AssetShare" and (ready.reason == "Suspended" or ready.reason == "PartiallySuspended") then
  return result("Suspended", text(ready, "suspended"))
end
return result("Degraded", text(ready, "not ready"))
