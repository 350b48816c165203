-- wrk_post.lua -- wrk script of bench/wsman_bench.sh: POSTs one request body
-- over and over on keep-alive connections.
--
-- Environment (set by wsman_bench.sh):
--   BENCH_BODY   file holding the request body
--   BENCH_PATH   URL path ("/wsman" or "/cimom")
--   BENCH_AUTH   value of the Authorization header ("Basic ...")
--   BENCH_CTYPE  Content-Type
--   BENCH_HDRS   more headers, "Name: value" separated by "|" (CIM-XML)
-- A body containing @@ID@@ gets a fresh MessageID per request (each
-- thread counts on its own), so that WS-Man's replay cache never answers a
-- method call from memory: every Invoke really runs.  A static body keeps
-- wrk on its fast path (no Lua per request).

local function slurp(path)
	local f = assert(io.open(path, "rb"))
	local s = f:read("*a")
	f:close()
	return s
end

local body = slurp(os.getenv("BENCH_BODY"))
local path = os.getenv("BENCH_PATH") or "/wsman"

wrk.method = "POST"
wrk.path = path
wrk.headers["Content-Type"] = os.getenv("BENCH_CTYPE") or "application/soap+xml;charset=UTF-8"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
for h in string.gmatch(os.getenv("BENCH_HDRS") or "", "[^|]+") do
	local name, value = string.match(h, "^%s*([^:]+):%s*(.*)$")
	if name then
		wrk.headers[name] = value
	end
end

if string.find(body, "@@ID@@", 1, true) then
	local counter = 0
	-- BENCH_NONCE differs per wrk run: a later run must not reuse the ids
	-- of an earlier one, whose replies the replay cache still holds.
	local prefix = "uuid:00000000-" .. (os.getenv("BENCH_NONCE") or "0000") .. "-4000-8000-"
	local threads = 0

	function setup(thread)
		threads = threads + 1
		thread:set("tid", threads)
	end

	function request()
		counter = counter + 1
		local id = string.format("%s%04x%08x", prefix, (tonumber(tid) or 0) % 65536, counter)
		local b = string.gsub(body, "@@ID@@", id)
		return wrk.format(nil, path, nil, b)
	end
else
	wrk.body = body
end
