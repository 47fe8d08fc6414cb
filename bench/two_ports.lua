-- wrk script: bench/poll.lua, with each thread sent to its own port (BENCH_PORTS, "58001,58002"): one wrk, one
-- latency histogram, for two servers hit directly with the connections split between them (-t2 -c64: 32 each).
dofile(os.getenv("BENCH_POLL_LUA") or "bench/poll.lua")

local ports = {}
for port in (os.getenv("BENCH_PORTS") or ""):gmatch("%d+") do
  ports[#ports + 1] = port
end
local started = 0
local poll_setup = setup

function setup(thread)
  poll_setup(thread)
  started = started + 1
  if #ports > 0 then
    thread.addr = wrk.lookup("127.0.0.1", ports[(started - 1) % #ports + 1])[1]
  end
end
