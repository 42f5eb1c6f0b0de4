-- wrk reporter: one machine-readable line, so the harness never parses wrk's human units.
-- Latencies are microseconds; "status" counts responses outside 2xx/3xx.
done = function(summary, latency, requests)
  local e = summary.errors
  local p50, p99 = 0, 0
  if summary.requests > 0 then
    p50 = latency:percentile(50)
    p99 = latency:percentile(99)
  end
  io.write(string.format(
    'BENCH_RESULT {"requests": %.0f, "duration_us": %.0f, "bytes": %.0f, ' ..
    '"connect": %.0f, "read": %.0f, "write": %.0f, "timeout": %.0f, "status": %.0f, ' ..
    '"p50_us": %.1f, "p99_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status, p50, p99))
end
