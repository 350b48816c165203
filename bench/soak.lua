-- soak.lua -- wrk script of bench/soak.sh: a mix of WS-Management
-- requests on keep-alive connections, each with a fresh MessageID (as real
-- clients send them), and a count of what came back.
--
-- The mix (fractions, environment SOAK_MIX = "get,enum,full,invoke"):
--   get     Get by key of a random session (1..SOAK_SESSIONS)
--   enum    Enumerate with a WQL filter selecting 5 consecutive
--           SessionIds from a random start (optimized, one reply)
--   full    Enumerate of every session (optimized, MaxElements = all)
--   invoke  SendMessage to a random session (fixture back-end, audited)
-- Default "0.80,0.145,0.005,0.05".
--
-- wrk does not say which request a reply answers, so response() sorts the
-- replies by their wsa:Action and checks each: a Get must carry a
-- SessionId, a filtered enumeration its 5 items and the end of the
-- sequence, a SendMessage ReturnValue 0.  Anything else -- a non-200
-- status, a fault, a wrong count -- is an error.  done() adds the
-- threads' counts and prints them as "soak: NAME VALUE" lines.
--
-- Environment (set by soak.sh): SOAK_AUTH (Authorization value),
-- SOAK_SESSIONS, SOAK_HOST (VMHostName), SOAK_TO (wsa:To), SOAK_NONCE
-- (differs per run), SOAK_MIX, SOAK_SEED.

local URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/rdms/Win32_VirtualDesktopSession"
local A_GET = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
local A_ENUM = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
local A_INVOKE = URI .. "/SendMessage"
local WQL = "http://schemas.microsoft.com/wbem/wsman/1/WQL"

local n = tonumber(os.getenv("SOAK_SESSIONS") or "1000")
local host = os.getenv("SOAK_HOST") or "localhost"
local to = os.getenv("SOAK_TO") or "http://127.0.0.1/wsman"
local nonce = os.getenv("SOAK_NONCE") or "0000"

local mix = {}
for v in string.gmatch(os.getenv("SOAK_MIX") or "0.80,0.145,0.005,0.05", "[^,]+") do
	mix[#mix + 1] = tonumber(v)
end
local cut_get = mix[1]
local cut_enum = cut_get + mix[2]
local cut_full = cut_enum + mix[3]

local function header(action, id, envelope)
	return '<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
		.. ' xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
		.. ' xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"'
		.. ' xmlns:wsen="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><s:Header>'
		.. '<wsa:Action s:mustUnderstand="true">' .. action .. '</wsa:Action>'
		.. '<wsa:To s:mustUnderstand="true">' .. to .. '</wsa:To>'
		.. '<wsman:ResourceURI s:mustUnderstand="true">' .. URI .. '</wsman:ResourceURI>'
		.. '<wsa:MessageID s:mustUnderstand="true">' .. id .. '</wsa:MessageID>'
		.. '<wsa:ReplyTo><wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>'
		.. '<wsman:MaxEnvelopeSize s:mustUnderstand="true">' .. envelope .. '</wsman:MaxEnvelopeSize>'
end

local function selectors(sid)
	return '<wsman:SelectorSet><wsman:Selector Name="VMHostName">' .. host
		.. '</wsman:Selector><wsman:Selector Name="SessionId">' .. sid
		.. '</wsman:Selector></wsman:SelectorSet>'
end

-- SOAK_DELAY_MS > 0: each connection waits a random 0.5 to 1.5 times
-- that long after a reply before its next request, so C connections offer
-- about C * 1000 / SOAK_DELAY_MS requests a second whatever the latency
-- (wrk's latency excludes the wait).  0: every connection sends again at
-- once (closed loop: as many requests as rdmsd can answer).
local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "0") or 0
if delay_ms > 0 then
	function delay()
		return math.floor(delay_ms * (0.5 + math.random()))
	end
end

-- ---- per thread ---------------------------------------------------------

local threads = {}

function setup(thread)
	threads[#threads + 1] = thread
	thread:set("tid", #threads)
end

local counter = 0
local prefix
local names = { "sent_get", "sent_enum", "sent_full", "sent_invoke",
	"ok_get", "ok_enum", "ok_full", "ok_invoke",
	"non200", "fault", "bad_reply" }
-- global, so that done() can read it from each thread with thread:get("c")
c = {}

function init(args)
	for _, k in ipairs(names) do
		c[k] = 0
	end
	prefix = string.format("uuid:%08x-%s-4000-8000-", tonumber(tid) or 0, nonce)
	math.randomseed((tonumber(os.getenv("SOAK_SEED") or "1") or 1) * 1000 + (tonumber(tid) or 0))
end

local function next_id()
	counter = counter + 1
	return string.format("%s%012x", prefix, counter)
end

function request()
	local r = math.random()
	local body

	if r < cut_get then
		c.sent_get = c.sent_get + 1
		body = header(A_GET, next_id(), 153600) .. selectors(math.random(1, n))
			.. '</s:Header><s:Body/></s:Envelope>'
	elseif r < cut_enum then
		local lo = math.random(1, n - 4)
		c.sent_enum = c.sent_enum + 1
		body = header(A_ENUM, next_id(), 153600)
			.. '</s:Header><s:Body><wsen:Enumerate><wsman:OptimizeEnumeration/>'
			.. '<wsman:MaxElements>50</wsman:MaxElements><wsman:Filter Dialect="' .. WQL .. '">'
			.. 'SELECT * FROM Win32_VirtualDesktopSession WHERE SessionId &gt;= ' .. lo
			.. ' AND SessionId &lt; ' .. (lo + 5) .. '</wsman:Filter></wsen:Enumerate></s:Body></s:Envelope>'
	elseif r < cut_full then
		c.sent_full = c.sent_full + 1
		body = header(A_ENUM, next_id(), 1000000000)
			.. '</s:Header><s:Body><wsen:Enumerate><wsman:OptimizeEnumeration/>'
			.. '<wsman:MaxElements>' .. n .. '</wsman:MaxElements></wsen:Enumerate></s:Body></s:Envelope>'
	else
		c.sent_invoke = c.sent_invoke + 1
		body = header(A_INVOKE, next_id(), 153600) .. selectors(math.random(1, n))
			.. '</s:Header><s:Body><p:SendMessage_INPUT xmlns:p="' .. URI .. '">'
			.. '<p:Title>soak</p:Title><p:Message>rdms soak test</p:Message>'
			.. '</p:SendMessage_INPUT></s:Body></s:Envelope>'
	end
	return wrk.format("POST", "/wsman", nil, body)
end

local function count(s, pat)
	local k = 0
	local at = 1
	while true do
		local i = string.find(s, pat, at, true)
		if i == nil then
			return k
		end
		k = k + 1
		at = i + #pat
	end
end

function response(status, headers, body)
	if status ~= 200 then
		c.non200 = c.non200 + 1
		return
	end
	-- The Action is in the first few hundred bytes; a full enumeration is
	-- a megabyte, so only its head is searched for it.
	local head = string.sub(body, 1, 2048)
	if string.find(head, "/fault", 1, true) or string.find(head, "Fault>", 1, true) then
		c.fault = c.fault + 1
	elseif string.find(head, "transfer/GetResponse", 1, true) then
		if string.find(body, "<p:SessionId>", 1, true) then
			c.ok_get = c.ok_get + 1
		else
			c.bad_reply = c.bad_reply + 1
		end
	elseif string.find(head, "enumeration/EnumerateResponse", 1, true) then
		local items = count(body, "<p:SessionId>")
		if items == n then
			c.ok_full = c.ok_full + 1
		elseif items == 5 and string.find(body, "EndOfSequence", 1, true) then
			c.ok_enum = c.ok_enum + 1
		else
			c.bad_reply = c.bad_reply + 1
		end
	elseif string.find(head, "SendMessageResponse", 1, true) then
		if string.find(body, "ReturnValue>0<", 1, true) then
			c.ok_invoke = c.ok_invoke + 1
		else
			c.bad_reply = c.bad_reply + 1
		end
	else
		c.bad_reply = c.bad_reply + 1
	end
end

function done(summary, latency, requests)
	local total = {}
	for _, k in ipairs(names) do
		total[k] = 0
	end
	for _, t in ipairs(threads) do
		for _, k in ipairs(names) do
			total[k] = total[k] + (tonumber(t:get("c")[k]) or 0)
		end
	end
	for _, k in ipairs(names) do
		io.write(string.format("soak: %s %d\n", k, total[k]))
	end
	local e = summary.errors
	io.write(string.format("soak: socket_errors %d %d %d %d\n", e.connect, e.read, e.write, e.timeout))
	io.write(string.format("soak: requests %d\n", summary.requests))
	io.write(string.format("soak: duration_us %d\n", summary.duration))
	for _, p in ipairs({ 50, 90, 99, 99.9 }) do
		io.write(string.format("soak: p%s_us %d\n", tostring(p), latency:percentile(p)))
	end
	io.write(string.format("soak: max_us %d\n", latency.max))
	io.write(string.format("soak: mean_us %.1f\n", latency.mean))
end
