-- GET the paths listed in the file named after `--`, in random order, as the bearer of
-- BENCH_TOKEN. Each request is formatted once, up front, so that wrk's time goes to sending.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local requests = {}
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function init(args)
  local headers = { ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN") }
  for path in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("GET", path, headers)
  end
  math.randomseed(seed)
end

function request()
  return requests[math.random(#requests)]
end
