#!/usr/bin/env bash
# Issue 13's WebSocket figures, in one run against the demo service (its own process, on a free
# loopback port):
#
#  1. Throughput: one connection to `/ws/flood?count=COUNT` (1,000,000 by default), COUNT text
#     messages `{"n":i}` then close 1000, read by
#       - `streamspec run` on `COUNT times { { "n": integer } }; end`,
#       - `streamspec run` on the sequence's ends: `{ "n": 1 }`, COUNT-2 times an integer,
#         `{ "n": COUNT }`, `end`, and `expect count == COUNT`,
#       - Python `websockets` (benches/ws_peers/flood_client.py) and Node `ws`
#         (benches/ws_peers/flood_client.js): each message parsed as JSON, `n` checked to be the
#         integer expected next, counted, close 1000 checked; exit 1 on a mismatch,
#       - as the ceiling, a reader of the bytes that parses nothing (benches/ws_peers/drain.py):
#         how fast the demo sends.
#     Each client is timed as a whole process (start to exit, so connecting, the runtime's or
#     interpreter's start and streamspec's parse and report are in): messages/s by wall time and
#     by CPU time (user+system, from wait4), and the ratios of streamspec's to the peers'. Beside
#     them, the demo's CPU time over the same run (from /proc): the sender's share of the 2 cores.
#     Target: streamspec at least 1,000,000 messages/s.
#  2. Memory over the stream's length: peak RSS of `streamspec run` (the first spec above) for
#     10^4, 10^5, 10^6 and 10^7 messages (COUNTS). Target: the same within noise.
#  3. Memory per open WebSocket: one test opens SOCKETS (1,000) named sockets to `/ws/echo`, each
#     echoing one message as it opens, then one `from` block has every one of them echo another;
#     the same with 10. Per socket = (peak RSS with SOCKETS - peak RSS with 10) / (SOCKETS - 10).
#     Target: < 20 KB.
#
#   bash benches/ws_flood.sh
#   RUNS=5 COUNT=1000000 COUNTS="10000 100000 1000000 10000000" SOCKETS=1000 bash benches/ws_flood.sh
#   PARTS="1 3" bash benches/ws_flood.sh       (only some of the parts)
#   STREAMSPEC=path/to/streamspec bash benches/ws_flood.sh   (another build, say an older one)
#
# Every figure is the median of RUNS runs (default 3), the variants interleaved so a change of
# load on the machine hits them alike; throughput also gives the range. Needs curl, bc, python3
# with `websockets` (pip install websockets), and node with npm: the `ws` package is installed
# into benches/ws_peers/node_modules (git-ignored) from its lock file when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
count=${COUNT:-1000000}
counts=${COUNTS:-10000 100000 1000000 10000000}
sockets=${SOCKETS:-1000}
parts=${PARTS:-1 2 3}
peers=benches/ws_peers

python3 -c 'import websockets' 2>/dev/null || {
  echo "the Python peer needs websockets: pip install websockets" >&2
  exit 1
}
[ -d "$peers/node_modules/ws" ] || npm ci --prefix "$peers" --no-audit --no-fund --silent

# shellcheck source=benches/demo.sh
. benches/demo.sh
ws="ws://127.0.0.1:$port"
# The build measured: this tree's, or another (say an older one, to compare); the demo is this
# tree's either way.
bin=${STREAMSPEC:-$bin}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
low() { printf '%s\n' "$@" | sort -g | head -1; }
high() { printf '%s\n' "$@" | sort -g | tail -1; }

# measure COMMAND [ARGS…]: runs the command; sets `wall` (seconds, from its start to its exit),
# `cpu` (its user+system seconds, from wait4's rusage), `rss` (its peak, KB) and `demo_cpu` (the
# demo's user+system seconds meanwhile). A failing run stops the bench: its figures would mean
# nothing.
measure() {
  python3 - "$work/time" "$demo_pid" "$@" >"$work/out" 2>&1 <<'PY' ||
import os, sys, time

def demo_cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

demo_before = demo_cpu(sys.argv[2])
start = time.monotonic()
pid = os.spawnvp(os.P_NOWAIT, sys.argv[3], sys.argv[3:])
_, status, usage = os.wait4(pid, 0)
wall = time.monotonic() - start
demo = demo_cpu(sys.argv[2]) - demo_before
with open(sys.argv[1], "w") as out:
    print(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, demo, file=out)
sys.exit(os.waitstatus_to_exitcode(status))
PY
    { cat "$work/out"; exit 1; }
  read -r wall cpu rss demo_cpu <"$work/time"
}

printf 'machine: %s CPUs (%s), %s MB, load average %s; streamspec %s; Python %s websockets %s; Node %s ws %s\n' \
  "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" \
  "$(free -m | awk '/^Mem:/ { print $2 }')" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "${STREAMSPEC:-$(git rev-parse --short HEAD)}" "$(python3 -c 'import platform; print(platform.python_version())')" \
  "$(python3 -c 'import websockets; print(websockets.__version__)')" "$(node --version)" \
  "$(node -p "require('./$peers/node_modules/ws/package.json').version")"

# The spec reading N messages of the flood, each against a JSON pattern.
flood_spec() {
  cat <<SPEC
test "WebSocket flood of $1 messages, a JSON pattern on each" {
  timeout 10m
  ws {{ws}}/ws/flood?count=$1
  expect messages {
    $1 times { { "n": integer } }
    end
  }
}
SPEC
}

# 1. Throughput, beside the peers.
if [[ " $parts " == *" 1 "* ]]; then
  flood_spec "$count" >"$work/pattern.stream"
  cat >"$work/ends.stream" <<SPEC
test "WebSocket flood of $count messages, its first and last exactly" {
  timeout 10m
  ws {{ws}}/ws/flood?count=$count
  expect messages {
    { "n": 1 }
    $((count - 2)) times { { "n": integer } }
    { "n": $count }
    end
  }
  expect count == $count
}
SPEC
  url="$ws/ws/flood?count=$count"
  variants=(pattern ends python node drain)
  declare -A label=(
    [pattern]="streamspec, { \"n\": integer }"
    [ends]="streamspec, first and last exact"
    [python]="Python websockets"
    [node]="Node ws"
    [drain]="bytes only (the demo's pace)"
  )
  declare -A walls=() cpus=() demos=()
  for _ in $(seq "$runs"); do
    for v in "${variants[@]}"; do
      case $v in
      pattern | ends) measure "$bin" run -j 1 --var "ws=$ws" "$work/$v.stream" ;;
      python) measure python3 "$peers/flood_client.py" "$url" "$count" ;;
      node) measure node "$peers/flood_client.js" "$url" "$count" ;;
      drain) measure python3 "$peers/drain.py" 127.0.0.1 "$port" "/ws/flood?count=$count" ;;
      esac
      walls[$v]="${walls[$v]:-} $wall"
      cpus[$v]="${cpus[$v]:-} $cpu"
      demos[$v]="${demos[$v]:-} $demo_cpu"
    done
  done
  echo
  echo "== 1. one connection, $count messages (whole client process; median of $runs, range by wall)"
  printf '%-34s %9s %26s %8s %12s %9s %13s %13s\n' client "wall s" "msg/s by wall (range)" "CPU s" \
    "msg/CPU s" "demo CPU" "ss/this wall" "ss/this CPU"
  read -r -a base_walls <<<"${walls[pattern]}"
  read -r -a base_cpus <<<"${cpus[pattern]}"
  bw=$(median "${base_walls[@]}") bcpu=$(median "${base_cpus[@]}")
  for v in "${variants[@]}"; do
    read -r -a w <<<"${walls[$v]}"
    read -r -a c <<<"${cpus[$v]}"
    read -r -a d <<<"${demos[$v]}"
    mw=$(median "${w[@]}") mc=$(median "${c[@]}") md=$(median "${d[@]}")
    printf '%-34s %9.3f %26s %8.3f %12.0f %8.2fs %12.2fx %12.2fx\n' "${label[$v]}" "$mw" \
      "$(printf '%.0f (%.0f-%.0f)' "$(echo "$count / $mw" | bc -l)" \
        "$(echo "$count / $(high "${w[@]}")" | bc -l)" "$(echo "$count / $(low "${w[@]}")" | bc -l)")" \
      "$mc" "$(echo "$count / $mc" | bc -l)" "$md" "$(echo "$mw / $bw" | bc -l)" "$(echo "$mc / $bcpu" | bc -l)"
  done
  echo "(ss/this: the peer's median time over streamspec's pattern run, so above 1 means streamspec is faster)"
  printf 'target: streamspec >= 1,000,000 msg/s by wall: %.0f msg/s, %.2fx the target\n' \
    "$(echo "$count / $bw" | bc -l)" "$(echo "$count / $bw / 1000000" | bc -l)"
fi

# 2. Memory over the stream's length.
if [[ " $parts " == *" 2 "* ]]; then
  declare -A rsss=() lens=()
  for n in $counts; do flood_spec "$n" >"$work/flood-$n.stream"; done
  for _ in $(seq "$runs"); do
    for n in $counts; do
      measure "$bin" run -j 1 --var "ws=$ws" "$work/flood-$n.stream"
      rsss[$n]="${rsss[$n]:-} $rss"
      lens[$n]="${lens[$n]:-} $wall"
    done
  done
  echo
  echo "== 2. peak RSS of streamspec run over the flood's length (median of $runs, range)"
  printf '%-10s %26s %16s\n' messages "peak RSS MB (range)" "msg/s by wall"
  for n in $counts; do
    read -r -a r <<<"${rsss[$n]}"
    read -r -a w <<<"${lens[$n]}"
    printf '%-10s %26s %16.0f\n' "$n" \
      "$(printf '%.1f (%.1f-%.1f)' "$(echo "$(median "${r[@]}") / 1024" | bc -l)" \
        "$(echo "$(low "${r[@]}") / 1024" | bc -l)" "$(echo "$(high "${r[@]}") / 1024" | bc -l)")" \
      "$(echo "$n / $(median "${w[@]}")" | bc -l)"
  done
  echo "target: the same within noise"
fi

# 3. Memory per open WebSocket.
open_sockets() {
  cat <<SPEC
test "$1 open WebSockets" {
  timeout 5m
  repeat $1 as i {
    ws {{ws}}/ws/echo as c
    send "hello {{i}}"
    expect message "hello {{i}}"
  }
  expect messages from c {
    send "still open"
    "still open"
  }
}
SPEC
}
if [[ " $parts " == *" 3 "* ]]; then
  open_sockets 10 >"$work/few.stream"
  open_sockets "$sockets" >"$work/many.stream"
  few=() many=()
  for _ in $(seq "$runs"); do
    measure "$bin" run -j 1 --var "ws=$ws" "$work/few.stream"
    few+=("$rss")
    measure "$bin" run -j 1 --var "ws=$ws" "$work/many.stream"
    many+=("$rss")
  done
  f=$(median "${few[@]}") m=$(median "${many[@]}")
  echo
  echo "== 3. memory per open WebSocket (peak RSS of streamspec run, median of $runs)"
  printf '%-28s %10.1f MB\n' "10 sockets" "$(echo "$f / 1024" | bc -l)"
  printf '%-28s %10.1f MB\n' "$sockets sockets" "$(echo "$m / 1024" | bc -l)"
  printf '%-28s %10.1f KB   (target < 20 KB: %.2fx the target)\n' "per open socket" \
    "$(echo "($m - $f) / ($sockets - 10)" | bc -l)" "$(echo "($m - $f) / ($sockets - 10) / 20" | bc -l)"
fi
printf '\nload average at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
