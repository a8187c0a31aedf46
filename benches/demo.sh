# Sourced by the bench scripts: builds streamspec in release, starts its demo service on a free
# loopback port, and stops it on exit. Sets `bin`, `port` and a scratch directory `work`.
cargo build --release --quiet
bin=target/release/streamspec
work=$(mktemp -d)
trap 'kill "$demo_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" demo --listen "127.0.0.1:$port" >/dev/null &
demo_pid=$!
# A readiness probe with a bound, before any measurement starts.
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.05
done
