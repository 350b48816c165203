-- wrk_post.lua -- wrk script of bench/wsman_bench.sh: POSTs one request body
-- over and over on keep-alive connections.
--
-- Environment (set by wsman_bench.sh, bench/fleet_bench.py):
--   BENCH_BODY   file holding the request body
--   BENCH_PATH   URL path ("/wsman" or "/cimom")
--   BENCH_AUTH   value of the Authorization header ("Basic ...")
--   BENCH_CTYPE  Content-Type
--   BENCH_HDRS   more headers, "Name: value" separated by "|" (CIM-XML)
--   BENCH_THREADS  wrk's -t (1 when unset)
--   BENCH_KEYS   optional: a file of "VMHostName SessionId" lines; each
--                request puts the next line's into @@HOST@@ and @@SID@@ of
--                the body (thread T of N takes lines T, T+N, ...), so that
--                a method runs on a fresh session each time (a fixture
--                session disconnects once).  A thread that used up its
--                lines starts them over; done() then says how often.
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

local keys = {}
if os.getenv("BENCH_KEYS") then
	for line in io.lines(os.getenv("BENCH_KEYS")) do
		local host, sid = string.match(line, "^(%S+)%s+(%d+)")
		if host then
			keys[#keys + 1] = { host, sid }
		end
	end
end

if string.find(body, "@@ID@@", 1, true) or #keys > 0 then
	local counter = 0
	reused = 0             -- a global: done() reads it with thread:get
	local all = {}
	-- BENCH_NONCE differs per wrk run: a later run must not reuse the ids
	-- of an earlier one, whose replies the replay cache still holds.
	local prefix = "uuid:00000000-" .. (os.getenv("BENCH_NONCE") or "0000") .. "-4000-8000-"
	-- The count comes from the caller: wrk starts each thread right after its
	-- setup(), so telling the first threads the count once the last is set up
	-- (as this did) wrote into a running thread's Lua state -- a race that let
	-- the first threads' first requests take other threads' sessions (the
	-- calls then found them disconnected already), and that once crashed wrk.
	local nthreads = tonumber(os.getenv("BENCH_THREADS")) or 1
	local threads = 0

	function setup(thread)
		threads = threads + 1
		thread:set("tid", threads)    -- before the thread starts: safe
		all[#all + 1] = thread
	end

	function request()
		counter = counter + 1
		local id = string.format("%s%04x%08x", prefix, (tonumber(tid) or 0) % 65536, counter)
		local b = string.gsub(body, "@@ID@@", id)
		if #keys > 0 then
			local i = (tonumber(tid) or 1) + (counter - 1) * nthreads
			if i > #keys then
				reused = reused + 1
				i = (i - 1) % #keys + 1
			end
			b = string.gsub(string.gsub(b, "@@HOST@@", keys[i][1]), "@@SID@@", keys[i][2])
		end
		return wrk.format(nil, path, nil, b)
	end

	function done()
		local n = 0
		for _, t in ipairs(all) do
			n = n + (tonumber(t:get("reused")) or 0)
		end
		if n > 0 then
			io.write(string.format("keys reused: %d\n", n))
		end
	end
else
	wrk.body = body
end
