#!/usr/bin/env bash
# Peak memory of a spec that keeps 1,000 values in a capture list and computes gap percentiles
# over a long stream (10^6 items by default): statistics use a histogram, not every sample, so
# memory stays flat.
#
#   bash benches/capture_stats.sh [COUNT]
#
# Needs curl and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000000}

# shellcheck source=benches/demo.sh
. benches/demo.sh

cat >"$work/capture.stream" <<SPEC
test "1,000 captured values, gap percentiles over $count items" {
  timeout 10m
  GET http://127.0.0.1:$port/sse/flood?count=$count
  expect sse {
    1000 times { data: json { "seq": integer -> seq } }
    * times { data: json { "seq": integer } }
    end
  }
  expect seq count == 1000
  expect count == $count
  expect gaps p99 < 1s, p50 < 1s
}
SPEC
start=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$work/rss" "$bin" run "$work/capture.stream" >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
elapsed=$(echo "$(date +%s.%N) - $start" | bc -l)
printf '%s items, 1000 captured: %.2f s, peak RSS %.1f MB\n' "$count" "$elapsed" "$(echo "$(tail -1 "$work/rss") / 1024" | bc -l)"
