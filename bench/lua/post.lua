-- POST the requests listed in the file named after `--`, each once, in order; the second
-- argument is wrk's number of threads. A line is tab-separated: the path, then headers as
-- `Name: value`, then the body (which holds no tab or newline). Each thread sends its own
-- share of the lines (every `threads`-th), so no request goes twice, unless the lines run out:
-- an answer other than 202 Accepted below 400 (say, 200 for a redelivery) counts as an error,
-- as wrk counts those of 400 or more.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local requests = {}
local next_request = 0
local threads = {}
unexpected = 0

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("index", #threads - 1)
end

local function fields(line)
  local found = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    found[#found + 1] = field
  end
  return found
end

function init(args)
  local count = tonumber(args[2])
  local n = 0
  for line in io.lines(args[1]) do
    if n % count == index then
      local parts = fields(line)
      local headers = {}
      for i = 2, #parts - 1 do
        local name, value = parts[i]:match("^([^:]+):%s*(.*)$")
        headers[name] = value
      end
      requests[#requests + 1] = wrk.format("POST", parts[1], headers, parts[#parts])
    end
    n = n + 1
  end
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

function response(status, headers, body)
  if status < 400 and status ~= 202 then
    unexpected = unexpected + 1
  end
end

function extra_errors()
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
  end
  return total
end
