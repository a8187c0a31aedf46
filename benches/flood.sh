#!/usr/bin/env bash
# Throughput, CPU per event and peak memory of `streamspec run` validating SSE events with a JSON
# pattern on each, against the demo service's flood endpoint on loopback, with `curl -N` on the
# same stream beside it as the raw ceiling. "CPU ns/ev" is the user + system CPU time of the
# streamspec process divided by the events: on a shared machine it is steadier than the rate,
# which also depends on the demo server getting its share of the cores.
#
#   bash benches/flood.sh [COUNT…]        (default: 10000 1000000 10000000)
#
# Needs curl and GNU time (/usr/bin/time) for the CPU and memory figures.
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("${@:-10000 1000000 10000000}")
read -r -a counts <<<"${counts[*]}"

# shellcheck source=benches/demo.sh
. benches/demo.sh

printf '%-10s %14s %14s %10s %10s %12s\n' events "curl ev/s" "streamspec ev/s" "ratio" "CPU ns/ev" "peak RSS"
for n in "${counts[@]}"; do
  spec="$work/flood-$n.stream"
  cat >"$spec" <<SPEC
test "flood of $n events, a JSON pattern on each" {
  timeout 10m
  GET http://127.0.0.1:$port/sse/flood?count=$n
  expect sse {
    $n times { data: json { "seq": integer } }
    end
  }
}
SPEC
  start=$(date +%s.%N)
  curl -sN "http://127.0.0.1:$port/sse/flood?count=$n" >/dev/null
  curl_s=$(echo "$(date +%s.%N) - $start" | bc -l)

  start=$(date +%s.%N)
  /usr/bin/time -f '%U %S %M' -o "$work/usage" "$bin" run "$spec" >"$work/out" || { cat "$work/out"; exit 1; }
  run_s=$(echo "$(date +%s.%N) - $start" | bc -l)
  read -r user_s sys_s rss_kb < <(tail -1 "$work/usage")

  printf '%-10s %14.0f %14.0f %10.2f %10.0f %9.1f MB\n' "$n" \
    "$(echo "$n / $curl_s" | bc -l)" "$(echo "$n / $run_s" | bc -l)" \
    "$(echo "$curl_s / $run_s" | bc -l)" "$(echo "($user_s + $sys_s) * 1000000000 / $n" | bc -l)" \
    "$(echo "$rss_kb / 1024" | bc -l)"
done
