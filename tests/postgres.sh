#!/usr/bin/env bash
# A private PostgreSQL cluster for the storage contract tests (tests/Latch.Storage.Tests) and the multi-instance
# tests: installs Debian's postgresql when its binaries are missing (needs root), creates the cluster in
# $LATCH_TEST_PG_DIR (default /tmp/latch-test-pg) on 127.0.0.1:$LATCH_TEST_PG_PORT (default 55432), starts it when it
# is not running, and exports LATCH_TEST_POSTGRES. Idempotent: a running cluster is reused and left running.
#
#   source tests/postgres.sh          # test.sh does this; then: dotnet test tests/Latch.Storage.Tests
#   bash tests/postgres.sh            # sets up the cluster and prints the export line
#
# Test-only: password auth on loopback TCP with a fixed password; never point it at real data.

latch_test_postgres() {
  local dir="${LATCH_TEST_PG_DIR:-/tmp/latch-test-pg}"
  local port="${LATCH_TEST_PG_PORT:-55432}"
  local user=latch_test password=latch_test_password
  local bin attempt
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    for attempt in 1 2 3; do
      if apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; then break; fi
      echo "Installing PostgreSQL failed (attempt $attempt); retrying" >&2
      sleep 10
    done
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
      echo "PostgreSQL is required by the storage tests and could not be installed" >&2
      return 1
    fi
  fi

  # PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user (created by the package).
  local -a as_owner=()
  if [ "$(id -u)" = 0 ]; then
    as_owner=(runuser -u postgres --)
  fi

  if [ ! -s "$dir/data/PG_VERSION" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    chmod 700 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    printf '%s\n' "$password" > "$dir/pwfile"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir/pwfile"
    "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U "$user" --pwfile="$dir/pwfile" -E UTF8 --no-locale \
      --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; return 1; }
    rm -f "$dir/pwfile"
    cat >> "$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
EOF
  fi

  if ! "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
      || { tail -n 20 "$dir/server.log" >&2; return 1; }
  fi

  for attempt in $(seq 1 60); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then break; fi
    sleep 0.5
  done
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" || { echo "PostgreSQL on 127.0.0.1:$port is not ready" >&2; return 1; }

  export LATCH_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=$user;Password=$password;Database=postgres"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  latch_test_postgres
  echo "export LATCH_TEST_POSTGRES=\"$LATCH_TEST_POSTGRES\""
else
  latch_test_postgres || { echo "tests/postgres.sh: could not set up the test PostgreSQL cluster" >&2; return 1; }
fi
