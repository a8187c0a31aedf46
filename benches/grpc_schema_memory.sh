#!/usr/bin/env bash
# Peak memory (RSS) of `streamspec run` making one gRPC call to a server whose schema is one large
# file (benches/grpc_schema_server.rs: SIZE bytes as a descriptor, default 3 MB, thousands of
# messages of twenty fields), by where the schema comes from (reflection, a descriptor set, the
# `.proto` file) and by what the method reaches: `big.Big/Few` one small message, `big.Big/All`
# every message (a chain of fields). The baseline is the same call with a one-message `.proto` of
# its own: a process that does next to no schema work. Each figure is the median of RUNS runs.
#
#   bash benches/grpc_schema_memory.sh [SIZE]       (default 3000000)
#   RUNS=5 bash benches/grpc_schema_memory.sh
#   STREAMSPEC=path/to/streamspec bash benches/grpc_schema_memory.sh   (another build, say an
#                                                                      older one, to compare)
#
# Needs GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-3000000}
runs=${RUNS:-3}

if [ -z "${STREAMSPEC:-}" ]; then
  cargo build --release --quiet
  STREAMSPEC=${CARGO_TARGET_DIR:-target}/release/streamspec
fi
server_bin=$(cargo bench --quiet --no-run --bench grpc_schema_server --message-format=json |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "grpc_schema_server" and m.get("executable"):
        print(m["executable"])')

work=$(mktemp -d)
# The server serves until its standard input closes: a FIFO held open by this script.
mkfifo "$work/hold"
"$server_bin" "$work" "$size" <"$work/hold" >"$work/port" &
server_pid=$!
exec 3>"$work/hold"
trap 'exec 3>&-; kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 200); do
  [ -s "$work/port" ] && break
  sleep 0.05
done
[ -s "$work/port" ] || { echo "the schema server did not start" >&2; exit 1; }
target="http://127.0.0.1:$(head -1 "$work/port")"

cat >"$work/tiny.proto" <<'PROTO'
syntax = "proto3";
package big;
service Big { rpc Few(Small) returns (Small); }
message Small { string note = 1; }
PROTO

# spec METHOD SCHEMA-LINE: one call, which the server ends UNIMPLEMENTED.
spec() {
  cat <<SPEC
test "one call" {
  timeout 5m
  grpc {{grpc}} big.Big/$1
  $2
  expect status UNIMPLEMENTED
}
SPEC
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# measure NAME METHOD SCHEMA-LINE: the median peak RSS, in MB.
measure() {
  spec "$2" "$3" >"$work/$1.stream"
  local rss=()
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%M' -o "$work/rss" "$STREAMSPEC" run --var "grpc=$target" "$work/$1.stream" \
      >"$work/out" || { cat "$work/out"; exit 1; }
    rss+=("$(tail -1 "$work/rss")")
  done
  printf '%-34s %8.1f MB\n' "$1" "$(echo "$(median "${rss[@]}") / 1024" | bc -l)"
}

printf 'schema: big.proto, %s bytes as a descriptor (%s messages)\n' \
  "$(stat -c %s "$work/big.binpb")" "$(grep -c '^message' "$work/big.proto")"
printf '%-34s %11s\n' "call (schema source)" "peak RSS"
measure "baseline (tiny .proto)" Few 'proto "tiny.proto"'
measure "Few (reflection)" Few ''
measure "Few (descriptor set)" Few 'descriptor "big.binpb"'
measure "Few (.proto)" Few 'proto "big.proto"'
measure "All (reflection)" All ''
measure "All (descriptor set)" All 'descriptor "big.binpb"'
measure "All (.proto)" All 'proto "big.proto"'
