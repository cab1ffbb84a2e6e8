-- Every scenario script loads this: wrk's summary, as one JSON line for the harness to read.
-- Latencies are in microseconds; wrk counts an answer of 400 or more as a status error. A
-- script that judges answers itself defines `extra_errors()`, its count of the others it
-- refused (`unexpected`).
function done(summary, latency, requests)
  local errors = summary.errors
  local unexpected = extra_errors and extra_errors() or 0
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
      .. '"unexpected": %d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout, unexpected
  ))
end
