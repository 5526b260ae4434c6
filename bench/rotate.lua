-- First-time password verification: every request signs in as the next user of a window,
-- u<first>, u<first+1>, ... with the shared password, so no request can be answered from the
-- verified-credentials cache (keyed by realm, user and password, 60 s). run.sh gives every run
-- its own window and rejects a run that used more requests than the window holds.
-- Arguments after `--`: first=<n> count=<n> password=<p>
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "b64.lua")
dofile(dir .. "report.lua")

local first, count, password, sent = 0, 0, nil, 0

function init(args)
   for _, arg in ipairs(args) do
      local key, value = arg:match("^(%w+)=(.*)$")
      if key == "first" then first = tonumber(value)
      elseif key == "count" then count = tonumber(value)
      elseif key == "password" then password = value
      else error("rotate.lua: unknown argument " .. arg) end
   end
   assert(count > 0 and password, "rotate.lua: needs first=, count= and password=")
end

function request()
   local user = string.format("u%05d", first + sent % count)
   sent = sent + 1
   return wrk.format(nil, nil, { ["Authorization"] = "Basic " .. base64(user .. ":" .. password) })
end
