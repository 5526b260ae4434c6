-- Standard base64 with padding (RFC 4648 section 4), for Basic credentials. Plain arithmetic, so
-- it needs neither LuaJIT's bit library nor Lua 5.3 operators.
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function base64(text)
   local out = {}
   for i = 1, #text, 3 do
      local a, b, c = text:byte(i, i + 2)
      local n = a * 65536 + (b or 0) * 256 + (c or 0)
      local chars = math.min(3, #text - i + 1) + 1 -- output characters before the padding
      for j = 1, 4 do
         local index = math.floor(n / 64 ^ (4 - j)) % 64
         out[#out + 1] = j <= chars and alphabet:sub(index + 1, index + 1) or "="
      end
   end
   return table.concat(out)
end
