# Sourced by the bench scripts: builds streamspec in release, starts its demo service on free
# loopback ports (HTTP and gRPC), and stops it on exit. Sets `bin`, `port`, `grpc_port` and a
# scratch directory `work`. DEMO=path/to/streamspec serves another build's demo (no build then).
if [ -n "${DEMO:-}" ]; then
  bin=$DEMO
else
  cargo build --release --quiet
  bin=${CARGO_TARGET_DIR:-target}/release/streamspec
fi
work=$(mktemp -d)
trap 'kill "$demo_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port=$(free_port)
grpc_port=$(free_port)
while [ "$grpc_port" = "$port" ]; do grpc_port=$(free_port); done
"$bin" demo --listen "127.0.0.1:$port" --grpc-listen "127.0.0.1:$grpc_port" >/dev/null &
demo_pid=$!
# A readiness probe with a bound, before any measurement starts. Both listeners are bound before
# the HTTP one answers.
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.05
done
