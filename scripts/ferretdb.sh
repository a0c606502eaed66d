#!/usr/bin/env bash
# FerretDB (the open-source MongoDB wire-protocol server) for the MongoDB tests and benchmarks.
#
#   scripts/ferretdb.sh start   builds FerretDB into .tools/ if missing (needs Go), starts it on a
#                               free 127.0.0.1 port over its PostgreSQL backend with a database of
#                               its own, waits until it answers, and prints MONGODB_URI=... on stdout
#   scripts/ferretdb.sh stop    stops the one `start` started and drops its database
#   scripts/ferretdb.sh uri     prints the running one's MONGODB_URI=... (exit 1 if none)
#
# Exit 3 means "no Go or no PostgreSQL here": the MongoDB suites then skip with a printed reason.
# npm install, npm start and npm test never need this script.
#
# The PostgreSQL backend, not SQLite: FerretDB 1.x's SQLite backend pushes only `_id` equality
# down to SQL, so every other query (a conversation's transcript, a broadcast's queue, a
# revision-checked replace) reads the whole collection; the PostgreSQL backend pushes equality
# filters down. PostgreSQL is FERRETDB_POSTGRESQL (default: postgres@127.0.0.1:5432, trust auth,
# as on this project's machines).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=v1.24.2
MODULE=github.com/FerretDB/FerretDB
TOOLS=.tools/ferretdb
BIN="$TOOLS/$VERSION/ferretdb"
RUN="$TOOLS/run"
POSTGRESQL="${FERRETDB_POSTGRESQL:-postgres://postgres@127.0.0.1:5432}"
export PGOPTIONS="--client-min-messages=warning"
# FerretDB 1.x's PostgreSQL backend deadlocks when as many updates run at once as its pool has
# connections: each holds one for its query while it waits for another to write. Its pool is
# POOL (PostgreSQL allows 100 here, and two test runs may share it) and each client of the
# printed URI is capped at CLIENT_POOL connections, so test workers and three instances stay
# well below it.
POOL=45
CLIENT_POOL=10

log() { echo "ferretdb: $*" >&2; }

build() {
  [ -x "$BIN" ] && return 0
  if ! command -v go >/dev/null 2>&1; then
    log "Go is not installed, so FerretDB cannot be built: the MongoDB tests will skip"
    exit 3
  fi
  log "building FerretDB $VERSION into $TOOLS (once; a few minutes on a fresh machine)"
  local dir src json
  # `if !`: under set -e a failing substitution would end the script before it could say why.
  if ! json=$(GOFLAGS=-mod=mod go mod download -json "$MODULE@$VERSION"); then
    log "go mod download $MODULE@$VERSION failed (is the Go module proxy reachable?)"
    exit 1
  fi
  dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { log "go mod download $MODULE@$VERSION gave no module folder"; exit 1; }
  src=$(mktemp -d)
  cp -r "$dir/." "$src"
  chmod -R u+w "$src"
  # The module as published lacks the version file its `git describe` step writes, and FerretDB
  # refuses to start without it (a plain `go install` builds a binary that panics at start).
  echo "$VERSION" >"$src/build/version/version.txt"
  mkdir -p "$(dirname "$BIN")"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$(pwd -P)/ferretdb.tmp" ./cmd/ferretdb) || { rm -rf "$src"; log "go build failed"; exit 1; }
  mv "$src/ferretdb.tmp" "$BIN"
  rm -rf "$src"
}

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# maxPoolSize: see POOL below. The driver reads it from the URI, so every client of it is capped.
uri_of() { echo "mongodb://127.0.0.1:$1/?maxPoolSize=$CLIENT_POOL"; }

postgresql_ready() {
  command -v psql >/dev/null 2>&1 && psql "$POSTGRESQL/postgres" -Atqc 'select 1' >/dev/null 2>&1
}

# PostgreSQL, started the way this project's machines start it if it is installed but down.
ensure_postgresql() {
  postgresql_ready && return 0
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    log "PostgreSQL is not answering; starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start >&2 || true
    for _ in $(seq 1 50); do postgresql_ready && return 0; sleep 0.2; done
  fi
  log "no PostgreSQL answers at $POSTGRESQL (set FERRETDB_POSTGRESQL): the MongoDB tests will skip"
  exit 3
}

start() {
  build
  ensure_postgresql
  if [ -f "$RUN/pid" ] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null; then
    echo "MONGODB_URI=$(uri_of "$(cat "$RUN/port")")"
    return 0
  fi
  # A run that was killed without `stop` left its database behind: drop it before forgetting it.
  if [ -f "$RUN/database" ]; then
    psql "$POSTGRESQL/postgres" -qc "DROP DATABASE IF EXISTS $(cat "$RUN/database")" >/dev/null 2>&1 || true
  fi
  rm -rf "$RUN"
  mkdir -p "$RUN"
  local port debug database
  port=$(free_port)
  debug=$(free_port)
  database="civicline_ferretdb_$port"
  psql "$POSTGRESQL/postgres" -qc "DROP DATABASE IF EXISTS $database" -c "CREATE DATABASE $database" >/dev/null
  echo "$database" >"$RUN/database"
  # Telemetry off: this machine reaches no network, and tests must not try.
  "$BIN" --handler=postgresql --postgresql-url="$POSTGRESQL/$database?pool_max_conns=$POOL" --state-dir="$RUN" \
    --listen-addr="127.0.0.1:$port" --debug-addr="127.0.0.1:$debug" \
    --telemetry=disable --log-level=warn >"$RUN/ferretdb.log" 2>&1 &
  echo $! >"$RUN/pid"
  echo "$port" >"$RUN/port"
  for _ in $(seq 1 100); do
    if node -e "
      const s = require('net').connect($port, '127.0.0.1', () => { s.end(); process.exit(0); });
      s.on('error', () => process.exit(1));" 2>/dev/null; then
      echo "MONGODB_URI=$(uri_of "$port")"
      return 0
    fi
    kill -0 "$(cat "$RUN/pid")" 2>/dev/null || break
    sleep 0.2
  done
  log "did not start; its log:"
  cat "$RUN/ferretdb.log" >&2
  stop
  exit 1
}

stop() {
  if [ -f "$RUN/pid" ]; then
    local pid
    pid=$(cat "$RUN/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  if [ -f "$RUN/database" ]; then
    psql "$POSTGRESQL/postgres" -qc "DROP DATABASE IF EXISTS $(cat "$RUN/database")" >/dev/null 2>&1 || true
  fi
  rm -rf "$RUN"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  uri)
    [ -f "$RUN/pid" ] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null || exit 1
    echo "MONGODB_URI=$(uri_of "$(cat "$RUN/port")")"
    ;;
  *)
    echo "usage: $0 start|stop|uri" >&2
    exit 2
    ;;
esac
