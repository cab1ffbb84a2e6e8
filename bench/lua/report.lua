-- Every scenario script loads this: wrk's summary, as one JSON line for the harness to read.
-- Latencies are in microseconds, as wrk's whole histogram ([latency, answers] for each latency
-- seen), so that the harness can combine runs; wrk counts an answer of 400 or more as a status
-- error. A script that judges answers itself defines `extra_errors()`, its count of the others
-- it refused (`unexpected`).
function done(summary, latency, requests)
  local errors = summary.errors
  local unexpected = extra_errors and extra_errors() or 0
  local histogram = {}
  for i = 1, #latency do
    local value, count = latency(i)
    histogram[i] = string.format("[%d, %d]", value, count)
  end
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "latency_us": [%s], '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
      .. '"unexpected": %d}}\n',
    summary.requests, summary.duration, table.concat(histogram, ", "),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout, unexpected
  ))
end
