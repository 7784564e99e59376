-- wrk script: Slack-signed `/aws TEXT` slash commands, a fresh signature for
-- every request (v0 HMAC-SHA256 through LuaJIT's FFI into the libcrypto that
-- wrk itself links), a distinct user id for every request (slashd's dedupe
-- would answer "already running" otherwise), and the acks classified by body.
--
--   BENCH_SECRET=... BENCH_TEXT=help BENCH_SINK=http://127.0.0.1:PORT/hook \
--   BENCH_OUT=file wrk -s bench/slash.lua -c 64 -d 10s http://127.0.0.1:3000/slack/commands
--
-- BENCH_OUT receives: counts (queued/busy/duplicate/other ack kinds, status
-- codes) and the latency distribution (percentile → µs) for the CDF plot.
local ffi = require("ffi")
ffi.cdef [[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len,
                    const unsigned char *d, size_t n, unsigned char *md, unsigned int *md_len);
]]
local crypto = ffi.load("crypto.so.3")

local secret = os.getenv("BENCH_SECRET") or error("BENCH_SECRET is not set")
local text = os.getenv("BENCH_TEXT") or "help"
local sink = os.getenv("BENCH_SINK") or "http://127.0.0.1:9/hook"
local out_file = os.getenv("BENCH_OUT")

local threads = {}
local thread_no = 0

function setup(thread)
  thread_no = thread_no + 1
  thread:set("tid", thread_no)
  table.insert(threads, thread)
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local mac = ffi.new("unsigned char[32]")
local maclen = ffi.new("unsigned int[1]")
local md = crypto.EVP_sha256()
local hexdigits = {}
for i = 0, 255 do hexdigits[i] = string.format("%02x", i) end

local function sign(ts, body)
  local base = "v0:" .. ts .. ":" .. body
  crypto.HMAC(md, secret, #secret, base, #base, mac, maclen)
  local h = {}
  for i = 0, 31 do h[i + 1] = hexdigits[mac[i]] end
  return "v0=" .. table.concat(h)
end

local n = 0
-- Unique per wrk run (bench/run sets it), so no two runs share a user id.
local nonce = os.getenv("BENCH_NONCE") or tostring(os.time() % 100000)
local prefix, suffix

function init(args)
  nonce = nonce .. "X" .. tostring(tid or 0)
  prefix = "token=x&team_id=T0BENCH&team_domain=bench&channel_id=C0BENCH&channel_name=bench&user_id=U"
  suffix = "&user_name=bench&command=%2Faws&text=" .. urlencode(text) ..
           "&response_url=" .. urlencode(sink) .. "&trigger_id=1.2.3"
  queued, busy, dup, other, non200 = 0, 0, 0, 0, 0
end

function request()
  n = n + 1
  local body = prefix .. nonce .. "X" .. n .. suffix
  local ts = tostring(os.time())
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Slack-Request-Timestamp"] = ts,
    ["X-Slack-Signature"] = sign(ts, body),
  }, body)
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  elseif body:find("is running", 1, true) or body:find("is queued (", 1, true) then
    queued = queued + 1
  elseif body:find("busy", 1, true) then
    busy = busy + 1
  elseif body:find("already running", 1, true) then
    dup = dup + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local q, b, d, o, e = 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    q = q + t:get("queued"); b = b + t:get("busy"); d = d + t:get("dup")
    o = o + t:get("other"); e = e + t:get("non200")
  end
  local secs = summary.duration / 1e6
  local lines = {
    string.format("requests %d", summary.requests),
    string.format("seconds %.3f", secs),
    string.format("rps %.1f", summary.requests / secs),
    string.format("errors_connect %d", summary.errors.connect),
    string.format("errors_read %d", summary.errors.read),
    string.format("errors_write %d", summary.errors.write),
    string.format("errors_timeout %d", summary.errors.timeout),
    string.format("errors_status %d", summary.errors.status),
    string.format("acks_queued %d", q),
    string.format("acks_busy %d", b),
    string.format("acks_duplicate %d", d),
    string.format("acks_other %d", o),
    string.format("non200 %d", e),
    string.format("lat_mean_us %.1f", latency.mean),
    string.format("lat_max_us %d", latency.max),
  }
  for _, p in ipairs({50, 90, 99, 99.9}) do
    lines[#lines + 1] = string.format("lat_p%s_us %d", tostring(p), latency:percentile(p))
  end
  -- The CDF: 200 points, denser in the tail.
  local cdf = {}
  for i = 0, 99 do cdf[#cdf + 1] = i end
  for i = 0, 89 do cdf[#cdf + 1] = 99 + i / 100 end
  for i = 0, 9 do cdf[#cdf + 1] = 99.9 + i / 100 end
  cdf[#cdf + 1] = 100
  for _, p in ipairs(cdf) do
    lines[#lines + 1] = string.format("cdf %.2f %d", p, latency:percentile(p))
  end
  local text_out = table.concat(lines, "\n") .. "\n"
  if out_file then
    local f = assert(io.open(out_file, "w"))
    f:write(text_out)
    f:close()
  else
    io.write(text_out)
  end
end
