#!/usr/bin/env bash
# Issue 12's figures, in one run against the demo service (its own process, on free loopback
# ports; only `streamspec run` is measured):
#
#  1. Memory per open stream: one test holds STREAMS (1,000) named SSE subscriptions to a demo
#     channel, publishes once, and checks every subscriber got the message; the same with 10.
#     Per stream = (peak RSS with STREAMS - peak RSS with 10) / (STREAMS - 10). Target: < 20 KB.
#     Where it goes (heap by heaptrack, release built with the system allocator, 1,000 streams:
#     6.1 KB a stream): the connection is streamspec's own HTTP/1.1 client's (src/transport/h1),
#     which holds no buffer while a stream is idle (a read waits for the socket, reads into a
#     buffer of the thread's and copies out what came): its socket's tokio registration
#     0.26 KB, the response head as a header map 0.7 KB (and 0.5 KB for the copy the test keeps
#     of it), the reader's state inside the named stream. The rest is streamspec's: the named
#     stream 1.8 KB, the task reading it in the background 1.4 KB and what it read ahead
#     0.5 KB, the request and its copy 0.5 KB, the SSE decoder 0.2 KB. RSS: 8 KB a stream with
#     mimalloc (9 KB with the system allocator). Over reqwest and hyper it was 27 KB: hyper's
#     connection alone took ~28 KB of heap (its dispatch channel, a tokio mpsc block of 32
#     slots, 9.5 KB; 8 KiB write and read buffers; reqwest's and hyper-util's wrappers ~2.5 KB).
#  2. CPU of the branch machinery: the flood (FLOOD events, a JSON pattern on each) read as a
#     plain test, inside `parallel { branch a { ... } }`, and as a named stream held by
#     `expect sse from`; then the background path, ROUNDS streams of 9,000 events each read
#     ahead into the buffer while another request waits, then matched, against the same
#     requests read in the foreground. User+system CPU time of the process, ratio to the plain
#     test. Target: the extra under 5%.
#  3. A barrier releasing K branches (BRANCHES: 10, 50 and 100), each then sending a POST: the
#     test run BARRIER_RUNS (50) times (`--repeat`, one at a time). The barrier's release spread
#     from the JSON Lines report (`barriers[].spread_ms`); the spread of the POSTs' departure,
#     from their packets on the loopback interface (with tcpdump, as root; else not measured);
#     and of their arrival at a server that notes when each came (benches/arrival_server.rs).
#     Target: release spread p99 < 2 ms with K=100.
#
#   bash benches/many_streams.sh
#   RUNS=5 STREAMS=1000 FLOOD=1000000 ROUNDS=100 BARRIER_RUNS=50 BRANCHES="10 50 100" \
#     bash benches/many_streams.sh
#   PARTS="1 3" bash benches/many_streams.sh       (only some of the parts)
#   STREAMSPEC=path/to/streamspec bash benches/many_streams.sh   (another build, say an older one)
#
# Memory and CPU figures are the median of RUNS runs (default 5), the variants interleaved so a
# change of load on the machine hits them alike; the CPU table also gives the least of the runs.
# Needs curl, bc and python3; tcpdump (as root) for the departure figure.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
streams=${STREAMS:-1000}
flood=${FLOOD:-1000000}
rounds=${ROUNDS:-100}
barrier_runs=${BARRIER_RUNS:-50}
branches=${BRANCHES:-10 50 100}
parts=${PARTS:-1 2 3}

# The arrival server's binary, built (in release) before the demo starts.
arrival_bin=$(cargo bench --quiet --no-run --bench arrival_server --message-format=json |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "arrival_server" and m.get("executable"):
        print(m["executable"])')

# shellcheck source=benches/demo.sh
. benches/demo.sh
base="http://127.0.0.1:$port"
# The build measured: this tree's, or another (say an older one, to compare); the demo is this
# tree's either way.
bin=${STREAMSPEC:-$bin}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
least() { printf '%s\n' "$@" | sort -g | head -1; }

# measure SPEC [ARGS…]: runs `streamspec run` on SPEC; sets `cpu` (user+system seconds, to the
# microsecond, from wait4's rusage) and `rss` (peak, KB). A failing test stops the bench: its
# figures would mean nothing.
measure() {
  local spec=$1
  shift
  python3 - "$work/time" "$bin" run -j 1 --var "base=$base" "$@" "$spec" >"$work/out" 2>&1 <<'PY' ||
import os, sys
pid = os.spawnv(os.P_NOWAIT, sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    print(usage.ru_utime + usage.ru_stime, usage.ru_maxrss, file=out)
sys.exit(os.waitstatus_to_exitcode(status))
PY
    { cat "$work/out"; exit 1; }
  read -r cpu rss <"$work/time"
}

printf 'machine: %s CPUs (%s), load average %s; streamspec %s\n' "$(nproc)" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "${STREAMSPEC:-$(git rev-parse --short HEAD)}"

# 1. Memory per open stream.
subscribers() {
  cat <<SPEC
test "$1 open streams" {
  timeout 5m
  repeat $1 {
    GET {{base}}/channels/{{test_id}}/subscribe as sub
    expect sse { event: "subscribed" }
  }
  POST {{base}}/channels/{{test_id}}/publish
  body json { "note": "to every subscriber" }
  expect status 200
  expect sse from sub { event: "message" }
}
SPEC
}
if [[ " $parts " == *" 1 "* ]]; then
  subscribers 10 >"$work/few.stream"
  subscribers "$streams" >"$work/many.stream"
  few=() many=()
  for _ in $(seq "$runs"); do
    measure "$work/few.stream"
    few+=("$rss")
    measure "$work/many.stream"
    many+=("$rss")
  done
  f=$(median "${few[@]}") m=$(median "${many[@]}")
  echo
  echo "== 1. memory per open stream (peak RSS of streamspec run, median of $runs)"
  printf '%-28s %10.1f MB\n' "10 streams" "$(echo "$f / 1024" | bc -l)"
  printf '%-28s %10.1f MB\n' "$streams streams" "$(echo "$m / 1024" | bc -l)"
  printf '%-28s %10.1f KB   (target < 20 KB: %.2fx the target)\n' "per open stream" \
    "$(echo "($m - $f) / ($streams - 10)" | bc -l)" "$(echo "($m - $f) / ($streams - 10) / 20" | bc -l)"
fi

# 2. CPU of the branch machinery.
events_block() {
  cat <<BLOCK
    $1 times { data: json { "seq": integer } }
    end
BLOCK
}
if [[ " $parts " == *" 2 "* ]]; then
  cat >"$work/plain.stream" <<SPEC
test "flood, plain" {
  timeout 10m
  GET {{base}}/sse/flood?count=$flood
  expect sse {
$(events_block "$flood")
  }
}
SPEC
  cat >"$work/branch.stream" <<SPEC
test "flood, in a branch" {
  timeout 10m
  parallel {
    branch a {
      GET {{base}}/sse/flood?count=$flood
      expect sse {
$(events_block "$flood")
      }
    }
  }
}
SPEC
  cat >"$work/named.stream" <<SPEC
test "flood, a named stream held by from" {
  timeout 10m
  GET {{base}}/sse/flood?count=$flood as flood
  expect sse from flood {
$(events_block "$flood")
  }
}
SPEC
  # The other request keeps the test busy for 100ms, long enough for 9,000 events to be read
  # ahead (the bound is 10,000). Unrolled, each stream with a name of its own: a `repeat` would
  # open a group, whose `from` holds the streams that ended in earlier rounds too.
  {
    echo "test \"$rounds streams read in the foreground\" {"
    echo "  timeout 10m"
    for r in $(seq "$rounds"); do
      cat <<STEPS
  GET {{base}}/sse/flood?count=9000
  expect sse {
$(events_block 9000)
  }
  GET {{base}}/slow/ttfb?ttfb=100ms&chunks=1&interval=0ms
  expect status 200
STEPS
    done
    echo "}"
  } >"$work/foreground.stream"
  {
    echo "test \"$rounds streams read ahead, then matched\" {"
    echo "  timeout 10m"
    for r in $(seq "$rounds"); do
      cat <<STEPS
  GET {{base}}/sse/flood?count=9000 as feed$r
  GET {{base}}/slow/ttfb?ttfb=100ms&chunks=1&interval=0ms
  expect status 200
  expect sse from feed$r {
$(events_block 9000)
  }
STEPS
    done
    echo "}"
  } >"$work/background.stream"
  declare -A cpus=()
  variants=(plain branch named foreground background)
  for _ in $(seq "$runs"); do
    for v in "${variants[@]}"; do
      measure "$work/$v.stream"
      cpus[$v]="${cpus[$v]:-} $cpu"
    done
  done
  echo
  echo "== 2. CPU of the branch machinery (user+system s of streamspec run, $runs runs)"
  printf '%-44s %8s %8s %17s %17s\n' "" median least "ratio of medians" "ratio of leasts"
  row() { # NAME VARIANT BASELINE
    read -r -a these <<<"${cpus[$2]}"
    read -r -a base_runs <<<"${cpus[$3]}"
    local m b l lb
    m=$(median "${these[@]}") b=$(median "${base_runs[@]}")
    l=$(least "${these[@]}") lb=$(least "${base_runs[@]}")
    printf '%-44s %8.3f %8.3f %7.3f (%+5.1f%%) %7.3f (%+5.1f%%)\n' "$1" "$m" "$l" \
      "$(echo "$m / $b" | bc -l)" "$(echo "($m / $b - 1) * 100" | bc -l)" \
      "$(echo "$l / $lb" | bc -l)" "$(echo "($l / $lb - 1) * 100" | bc -l)"
  }
  row "flood of $flood, plain test" plain plain
  row "  the same in parallel { branch a { ... } }" branch plain
  row "  the same as a stream held by from" named plain
  row "$rounds x 9,000 read in the foreground" foreground foreground
  row "  the same read ahead, then matched" background foreground
fi

# 3. A barrier releasing K branches (K in BRANCHES), each then sending a POST.
if [[ " $parts " == *" 3 "* ]]; then
  mkfifo "$work/hold"
  "$arrival_bin" <"$work/hold" >"$work/arrivals" &
  arrival_pid=$!
  exec 3>"$work/hold"
  tcpdump_pid=
  trap 'exec 3>&- 2>/dev/null || true; kill "$demo_pid" "$arrival_pid" $tcpdump_pid 2>/dev/null || true; rm -rf "$work"' EXIT
  for _ in $(seq 200); do
    [ -s "$work/arrivals" ] && break
    sleep 0.05
  done
  [ -s "$work/arrivals" ] || { echo "the arrival server did not start" >&2; exit 1; }
  arrive_port=$(head -1 "$work/arrivals")
  # When the requests left, as the loopback interface saw their packets: only with tcpdump, as
  # root. The packets that carry a request head are those pushed to the arrival server.
  if command -v tcpdump >/dev/null && [ "$(id -u)" = 0 ]; then
    tcpdump -i lo -nn -tt -l -A "tcp dst port $arrive_port and tcp[tcpflags] & tcp-push != 0" \
      >"$work/packets" 2>"$work/tcpdump.err" &
    tcpdump_pid=$!
    for _ in $(seq 200); do
      grep -q 'listening on' "$work/tcpdump.err" && break
      sleep 0.05
    done
  fi
  for k in $branches; do
    cat >"$work/barrier-$k.stream" <<SPEC
test "a barrier releases $k branches" {
  timeout 1m
  parallel {
    branch c $k times {
      barrier go
      POST {{arrive}}/arrive/k$k-{{test_id}}
      expect status 200
    }
  }
}
SPEC
    "$bin" run -j 1 --repeat "$barrier_runs" --format json --var "arrive=http://127.0.0.1:$arrive_port" \
      "$work/barrier-$k.stream" >"$work/barrier-$k.jsonl" ||
      { grep -m3 '"failed"\|"error"' "$work/barrier-$k.jsonl"; exit 1; }
  done
  if [ -n "$tcpdump_pid" ]; then
    # tcpdump writes each packet as it sees it (-l); the last ones are in by now, give or take
    # the time to print them.
    sleep 0.5
    kill "$tcpdump_pid"
    wait "$tcpdump_pid" || true
  fi
  exec 3>&-
  wait "$arrival_pid"
  echo
  echo "== 3. a barrier releasing K branches, each then sending a POST ($barrier_runs runs of each;"
  echo "   spreads from the first branch to the last; p99 by nearest rank)"
  python3 - "$work" "$branches" <<'PY'
import collections, json, math, os, re, sys

work, branches = sys.argv[1], [int(k) for k in sys.argv[2].split()]

def summary(values):
    if not values:
        return "(not measured)"
    values = sorted(values)
    rank = lambda p: values[max(0, math.ceil(p * len(values)) - 1)]
    return f"p50 {rank(0.5):6.3f}  p99 {rank(0.99):6.3f}  max {values[-1]:6.3f} ms"

# Per K: the barrier's release spreads, the arrival spreads, the departure spreads.
arrivals = collections.defaultdict(list)
for line in open(f"{work}/arrivals").read().split("\n")[1:]:
    if line:
        group, count, spread_us = line.split()
        k = int(group.split("-")[0][1:])
        assert int(count) == k, line
        arrivals[k].append(int(spread_us) / 1000)
departures = collections.defaultdict(lambda: collections.defaultdict(list))
if os.path.exists(f"{work}/packets"):
    at = None
    for line in open(f"{work}/packets", errors="replace"):
        packet = re.match(r"^(\d+\.\d+) IP ", line)
        if packet:
            at = float(packet.group(1))
            continue
        head = re.search(r"POST /arrive/k(\d+)-([0-9a-f-]+)", line)
        if head and at is not None:
            departures[int(head.group(1))][head.group(2)].append(at)
            at = None
for k in branches:
    releases = []
    for line in open(f"{work}/barrier-{k}.jsonl"):
        event = json.loads(line)
        if event["type"] == "test_finished":
            assert event["status"] == "passed", event
            releases += [b["spread_ms"] for b in event["barriers"] if b["branches"] == k]
    left = [(max(t) - min(t)) * 1000 for t in departures[k].values() if len(t) == k]
    print(f"K={k:<4} release (barriers[].spread_ms)  {summary(releases)}")
    print(f"       departure (packets on lo)       {summary(left)}")
    print(f"       arrival (server's handler)      {summary(arrivals[k])}")
print("target: release spread p99 < 2 ms with K=100")
PY
fi
printf '\nload average at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
