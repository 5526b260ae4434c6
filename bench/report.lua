-- Shared by the wrk scripts: one machine-readable line that bench/run.sh parses.
-- Latencies are wrk's, in microseconds; "bad" counts non-2xx answers and socket errors, any of
-- which makes run.sh reject the run (a benchmark of 401s measures nothing).
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d non2xx=%d sockerr=%d\n",
      summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(99), e.status,
      e.connect + e.read + e.write + e.timeout))
end
