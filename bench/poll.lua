-- wrk script: every request polls as another user, rotating over the Bearer tokens in BENCH_TOKENS.
-- Each line of the file is "<token> <etag>"; with BENCH_CONDITIONAL=1 the etag is sent as If-None-Match.
local tokens = {}
local etags = {}
local conditional = os.getenv("BENCH_CONDITIONAL") == "1"
local path = os.getenv("BENCH_PATH") or "/api/v2/jobs/active"

for line in io.lines(os.getenv("BENCH_TOKENS")) do
  local token, etag = line:match("^(%S+)%s*(%S*)$")
  tokens[#tokens + 1] = token
  etags[#etags + 1] = etag
end

local counter = 0
local thread_offset = 0

function setup(thread)
  thread:set("thread_offset", math.random(1, #tokens))
end

function request()
  counter = counter + 1
  local i = (counter + thread_offset) % #tokens + 1
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[i],
    ["X-Forwarded-Proto"] = "https",
  }
  if conditional then
    headers["If-None-Match"] = etags[i]
  end
  return wrk.format("GET", path, headers)
end

-- Count the answers by status, so a 304 run can say how many polls really were "not modified".
local threads = {}
ok200, ok304, other = 0, 0, 0  -- globals: done() reads them with thread:get

local original_setup = setup
function setup(thread)
  original_setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status == 200 then
    ok200 = ok200 + 1
  elseif status == 304 then
    ok304 = ok304 + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("ok200")
    b = b + thread:get("ok304")
    c = c + thread:get("other")
  end
  io.write(string.format("statuses: 200=%d 304=%d other=%d\n", a, b, c))
end
