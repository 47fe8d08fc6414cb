-- wrk script: one user reads their job history, cycling over the page URLs in BENCH_URLS (one path a line: a first
-- page, or a page reached by following `next` cursors) with the Bearer token BENCH_TOKEN. Each thread starts at its
-- own place in the list. Like bench/poll.lua, done() prints the answers counted by status.
local urls = {}
for line in io.lines(os.getenv("BENCH_URLS")) do
  if line ~= "" then
    urls[#urls + 1] = line
  end
end
local headers = {
  ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"),
  ["X-Forwarded-Proto"] = "https",
}

local counter = 0
local threads = {}
thread_offset = 0
ok200, ok304, other = 0, 0, 0  -- globals: done() reads them with thread:get

function setup(thread)
  thread:set("thread_offset", math.random(0, #urls - 1))
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  return wrk.format("GET", urls[(counter + thread_offset) % #urls + 1], headers)
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
