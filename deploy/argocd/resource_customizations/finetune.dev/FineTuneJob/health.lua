-- Argo CD health check for finetune.dev/FineTuneJob (Argo CD runs it with the base and table
-- libraries only: no string functions).
--   Healthy      Succeeded: the adapter and manifest are in the output prefix.
--   Degraded     Failed; or a state that waiting cannot end and a person must act on: a step this
--                build cannot perform (NotImplemented), GPU quota exceeded (request more), IAM
--                grants that could not be released (CleanupBlocked), or kstatus Stalled.
--   Progressing  everything else, with the phase, the reason of the step it waits on and its
--                message (validating, waiting for capacity or IAM, training, evaluating).
local hs = {}

local function condition(ctype)
  if obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

-- status.message of a capacity wait is "<reason>: <details>" (e.g. "QuotaExceeded: ...").
-- Strings compare byte-wise, so a prefix test needs no string library.
local function hasPrefix(s, prefix, next)
  return s ~= nil and s >= prefix and s < next
end

local function describe(reason, message)
  if message == nil or message == "" then
    return reason
  end
  return reason .. ": " .. message
end

if obj.status == nil or obj.status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to pick up the job"
  return hs
end
local generation = obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= nil
    and obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

local phase = obj.status.phase
local ready = condition("Ready")
local blocked = condition("CleanupBlocked")

if phase == "Failed" then
  hs.status = "Degraded"
  hs.message = describe((ready and ready.reason) or "Failed", obj.status.message)
  return hs
end
if isTrue(blocked) then
  hs.status = "Degraded"
  hs.message = describe("CleanupBlocked (" .. blocked.reason .. ")", blocked.message)
  return hs
end
if phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = obj.status.message or "Succeeded"
  return hs
end

-- Not finished: the first step whose condition is not True is what the job waits on.
local waiting = nil
for _, ctype in ipairs({"DatasetValid", "AcceleratorSelected", "IdentityBound", "CapacityReady",
                        "TrainingComplete", "EvaluationComplete", "QualityGatePassed"}) do
  local c = condition(ctype)
  if c ~= nil and c.status ~= "True" then
    waiting = c
    break
  end
end
local reason = (waiting and waiting.reason) or (ready and ready.reason) or phase
-- The waiting step's own message is the most specific; status.message repeats the last phase's.
local message = (waiting and waiting.message) or obj.status.message

if (ready ~= nil and ready.reason == "NotImplemented") or reason == "NotImplemented" then
  hs.status = "Degraded"
  hs.message = describe(phase .. " (NotImplemented)", message)
  return hs
end
if reason == "QuotaExceeded" or hasPrefix(obj.status.message, "QuotaExceeded:", "QuotaExceeded;") then
  hs.status = "Degraded"
  hs.message = describe(phase .. " (QuotaExceeded)", message)
  return hs
end
local label = phase
if reason ~= phase then
  label = phase .. " (" .. reason .. ")"
end
local stalled = condition("Stalled")
if isTrue(stalled) and stalled.reason == "ReconcileError" then
  -- An error the operator retries with backoff (the API server or a Google API was unreachable).
  hs.status = "Progressing"
  hs.message = describe(phase .. " (ReconcileError)", stalled.message)
  return hs
end
if isTrue(stalled) then
  hs.status = "Degraded"
  hs.message = describe(phase .. " (" .. stalled.reason .. ")", stalled.message)
  return hs
end
hs.status = "Progressing"
hs.message = describe(label, message)
return hs
