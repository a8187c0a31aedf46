#!/usr/bin/env bash
# Throughput, CPU per event and peak memory of `streamspec run` validating SSE events with a JSON
# pattern on each, against the demo service's flood endpoint on loopback, with `curl -N` on the
# same stream beside it as the raw ceiling, and Node's eventsource-parser doing the same work as
# the peer (benches/flood_peers/flood_client.js: fetch, decode the events, JSON.parse each
# event's data, check `seq` is an integer). "CPU ns/ev" is the user + system CPU time of the
# process divided by the events, start-up included: on a shared machine it is steadier than the
# rate, which also depends on the demo server getting its share of the cores. "CPU ratio" is
# streamspec's CPU per event over the peer's, in the same run (below 1: streamspec uses less).
#
#   bash benches/flood.sh [COUNT…]        (default: 10000 1000000 10000000)
#   RUNS=3 bash benches/flood.sh 1000000  (each count RUNS times, one row each)
#   STREAMSPEC=path/to/streamspec bash benches/flood.sh   (another build, say an older one)
#
# Needs curl, bc and GNU time (/usr/bin/time) for the CPU and memory figures. The peer needs node
# with npm: eventsource-parser is installed into benches/flood_peers/node_modules (git-ignored)
# from its lock file when missing; without node or npm the peer's columns say "-".
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("${@:-10000 1000000 10000000}")
read -r -a counts <<<"${counts[*]}"
runs=${RUNS:-1}
peers=benches/flood_peers

peer=true
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "no node or npm: the eventsource-parser peer is skipped" >&2
  peer=false
elif [ ! -d "$peers/node_modules/eventsource-parser" ] &&
  ! npm ci --prefix "$peers" --no-audit --no-fund --silent; then
  echo "could not install eventsource-parser: the peer is skipped" >&2
  peer=false
fi

# shellcheck source=benches/demo.sh
. benches/demo.sh
# The build measured: this tree's, or another (say an older one, to compare); the demo is this
# tree's either way.
bin=${STREAMSPEC:-$bin}

# cpu_ns N: the user + system CPU of the last timed process ($work/usage) per event, in ns.
cpu_ns() {
  read -r user_s sys_s rss_kb < <(tail -1 "$work/usage")
  echo "($user_s + $sys_s) * 1000000000 / $1" | bc -l
}

printf '%-10s %14s %15s %7s %10s %10s %13s %10s\n' events "curl ev/s" "streamspec ev/s" ratio \
  "CPU ns/ev" "peak RSS" "node CPU ns/ev" "CPU ratio"
for n in "${counts[@]}"; do
  url="http://127.0.0.1:$port/sse/flood?count=$n"
  spec="$work/flood-$n.stream"
  cat >"$spec" <<SPEC
test "flood of $n events, a JSON pattern on each" {
  timeout 10m
  GET $url
  expect sse {
    $n times { data: json { "seq": integer } }
    end
  }
}
SPEC
  for _ in $(seq "$runs"); do
    start=$(date +%s.%N)
    curl -sN "$url" >/dev/null
    curl_s=$(echo "$(date +%s.%N) - $start" | bc -l)

    start=$(date +%s.%N)
    /usr/bin/time -f '%U %S %M' -o "$work/usage" "$bin" run "$spec" >"$work/out" || {
      cat "$work/out"
      exit 1
    }
    run_s=$(echo "$(date +%s.%N) - $start" | bc -l)
    ns=$(cpu_ns "$n")
    rss_kb=$(tail -1 "$work/usage" | cut -d' ' -f3)

    node_ns=- ratio=-
    if $peer; then
      /usr/bin/time -f '%U %S %M' -o "$work/usage" node "$peers/flood_client.js" "$url" "$n" \
        >"$work/out" 2>&1 || {
        cat "$work/out"
        exit 1
      }
      node_ns=$(printf '%.0f' "$(cpu_ns "$n")")
      ratio=$(printf '%.2f' "$(echo "$ns / $node_ns" | bc -l)")
    fi

    printf '%-10s %14.0f %15.0f %7.2f %10.0f %7.1f MB %13s %10s\n' "$n" \
      "$(echo "$n / $curl_s" | bc -l)" "$(echo "$n / $run_s" | bc -l)" \
      "$(echo "$curl_s / $run_s" | bc -l)" "$ns" "$(echo "$rss_kb / 1024" | bc -l)" \
      "$node_ns" "$ratio"
  done
done
