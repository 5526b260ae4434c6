-- One fixed request, built once (wrk stays on its fast static path): the URL from the command
-- line, plus, from the arguments after `--`:
--   auth=<user:password>   an Authorization: Basic header
--   body=<form body>       makes it a form POST
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "b64.lua")
dofile(dir .. "report.lua")

function init(args)
   for _, arg in ipairs(args) do
      local key, value = arg:match("^(%w+)=(.*)$")
      if key == "auth" then
         wrk.headers["Authorization"] = "Basic " .. base64(value)
      elseif key == "body" then
         wrk.method = "POST"
         wrk.body = value
         wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
      else
         error("static.lua: unknown argument " .. arg)
      end
   end
end
