#!/usr/bin/env bash
# Throughput and peak memory of `streamspec run` on a gRPC server stream: the demo's
# `stock.StockService/Flood` sends COUNT small `PriceUpdate`s, each decoded to JSON and matched
# against a pattern, then the status is checked. Beside it, as the ceiling, a plain tonic client
# (benches/grpc_flood_client.rs: the generated client, decoding every message into the prost
# type, matching nothing) on the same stream from the same demo process.
#
#   bash benches/grpc_flood.sh [COUNT…]       (default: 10000 100000 1000000 10000000)
#   RUNS=5 bash benches/grpc_flood.sh         (runs of each measurement; default 3)
#
# Both are timed as whole processes (start to exit, so streamspec's connect, reflection and
# report are in; so are the client's connect and runtime start). A table gives the median
# messages/s with the range, their ratio, and the largest peak RSS of `streamspec run`.
# Needs curl, bc and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("${@:-10000 100000 1000000 10000000}")
read -r -a counts <<<"${counts[*]}"
runs=${RUNS:-3}

# The ceiling's binary, built (in release) before the demo starts.
client=$(cargo bench --quiet --no-run --bench grpc_flood_client --message-format=json |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "grpc_flood_client" and m.get("executable"):
        print(m["executable"])')

# shellcheck source=benches/demo.sh
. benches/demo.sh
target="http://127.0.0.1:$grpc_port"

now() { date +%s.%N; }
# The median of the numbers given, and their range.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
low() { printf '%s\n' "$@" | sort -g | head -1; }
high() { printf '%s\n' "$@" | sort -g | tail -1; }

printf '%-10s %28s %28s %7s %10s\n' messages "tonic msg/s (range)" "streamspec msg/s (range)" ratio "peak RSS"
for n in "${counts[@]}"; do
  spec="$work/grpc-flood-$n.stream"
  cat >"$spec" <<SPEC
test "gRPC flood of $n messages, a JSON pattern on each" {
  timeout 10m
  grpc {{grpc}} stock.StockService/Flood
  message { "count": $n }
  expect messages {
    $n times { { "symbol": "AAPL", "tick": number, "price": 90..120, "timestamp": string } }
    end
  }
  expect status OK
}
SPEC
  tonic=() streamspec=() rss=()
  for _ in $(seq "$runs"); do
    start=$(now)
    read -r received _ < <("$client" "$target" "$n")
    [ "$received" = "$n" ] || { echo "the tonic client read $received of $n" >&2; exit 1; }
    tonic+=("$(echo "$n / ($(now) - $start)" | bc -l)")

    start=$(now)
    /usr/bin/time -f '%M' -o "$work/rss" "$bin" run --var "grpc=$target" "$spec" >"$work/out" ||
      { cat "$work/out"; exit 1; }
    streamspec+=("$(echo "$n / ($(now) - $start)" | bc -l)")
    rss+=("$(tail -1 "$work/rss")")
  done
  t=$(median "${tonic[@]}") s=$(median "${streamspec[@]}")
  printf '%-10s %28s %28s %7.2f %7.1f MB\n' "$n" \
    "$(printf '%.0f (%.0f-%.0f)' "$t" "$(low "${tonic[@]}")" "$(high "${tonic[@]}")")" \
    "$(printf '%.0f (%.0f-%.0f)' "$s" "$(low "${streamspec[@]}")" "$(high "${streamspec[@]}")")" \
    "$(echo "$s / $t" | bc -l)" "$(echo "$(high "${rss[@]}") / 1024" | bc -l)"
done
