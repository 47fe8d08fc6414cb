-- wrk script: every request polls as another user, rotating over the Bearer tokens in BENCH_TOKENS.
-- Each line of the file is "<token> <etag>"; with BENCH_CONDITIONAL=1 the etag is sent as If-None-Match.
local tokens = {}
local etags = {}
local conditional = os.getenv("BENCH_CONDITIONAL") == "1"
local path = os.getenv("BENCH_PATH") or "/api/v2/jobs/active"

for line in io.lines(os.getenv("BENCH_TOKENS")) do
  local token, etag = line:match("^(%S+)%s+(%S+)$")
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
