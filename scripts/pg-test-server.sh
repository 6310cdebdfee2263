#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and CI: pg-test-server.sh start|stop|url
#
#   start  installs PostgreSQL from Debian packages when initdb/pg_ctl are missing, creates a
#          cluster with initdb in a temporary folder as an unprivileged user (corledger-ci,
#          created if needed, when run as root), trust authentication from 127.0.0.1 only
#          (no Unix socket), starts it on a free loopback port and prints its URL, whose
#          role `corledger` is the cluster's superuser. Tuned for speed, not durability:
#          fsync is off, so never keep data in it.
#   url    prints the URL of the running cluster.
#   stop   stops the cluster and removes its folder.
#
# The cluster's folder is remembered in a state file (CORLEDGER_PG_STATE, default one per
# checkout under $TMPDIR), so start, url and stop can be separate invocations.
set -euo pipefail

ROLE=corledger
CI_USER=corledger-ci
REPO=$(cd "$(dirname "$0")/.." && pwd)
STATE=${CORLEDGER_PG_STATE:-${TMPDIR:-/tmp}/corledger-pg-$(printf %s "$REPO" | md5sum | cut -c1-8).state}

log() { echo "pg-test-server: $*" >&2; }

pg_bindir() {
  local dir
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  # Debian keeps the server binaries out of PATH, one folder per major version.
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return
    fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  fi
}

install_postgres() {
  if [ "$(id -u)" -ne 0 ]; then
    log "PostgreSQL (initdb, pg_ctl) is not installed and I am not root to install it"
    exit 1
  fi
  log "installing PostgreSQL from Debian packages"
  # No main cluster: we only want the binaries, and our own throwaway cluster.
  mkdir -p /etc/postgresql-common
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
}

# Runs a command as the unprivileged owner of the cluster (PostgreSQL refuses root).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$CI_USER" -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 - <<'EOF'
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
EOF
}

read_state() {
  [ -f "$STATE" ] || return 1
  # shellcheck disable=SC1090
  . "$STATE"
  [ -n "${PGDIR:-}" ] && [ -d "$PGDIR/data" ]
}

url_of() { echo "postgresql://$ROLE@127.0.0.1:$1/postgres"; }

start() {
  if read_state && "$BIN/pg_ctl" status -D "$PGDIR/data" >/dev/null 2>&1; then
    url_of "$PORT"
    return
  fi
  BIN=$(pg_bindir)
  if [ -z "$BIN" ]; then
    install_postgres
    BIN=$(pg_bindir)
    [ -n "$BIN" ] || { log "PostgreSQL installed, but initdb/pg_ctl not found"; exit 1; }
  fi
  if [ "$(id -u)" -eq 0 ] && ! id "$CI_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      "$CI_USER"
  fi
  PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/corledger-pg.XXXXXX")
  chmod 0755 "$PGDIR"
  if [ "$(id -u)" -eq 0 ]; then chown "$CI_USER" "$PGDIR"; fi
  PORT=$(free_port)
  as_owner "$BIN/initdb" --pgdata="$PGDIR/data" --username="$ROLE" --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$PGDIR/initdb.log" 2>&1 \
    || { cat "$PGDIR/initdb.log" >&2; exit 1; }
  as_owner tee -a "$PGDIR/data/postgresql.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = ''
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 64MB
EOF
  # Trust, from the loopback address only; nothing else may connect.
  echo "host all all 127.0.0.1/32 trust" | as_owner tee "$PGDIR/data/pg_hba.conf" >/dev/null
  printf 'PGDIR=%q\nPORT=%q\nBIN=%q\n' "$PGDIR" "$PORT" "$BIN" > "$STATE"
  as_owner "$BIN/pg_ctl" start --pgdata="$PGDIR/data" --wait --timeout=60 \
    --log="$PGDIR/server.log" >/dev/null || { cat "$PGDIR/server.log" >&2; exit 1; }
  log "cluster in $PGDIR, listening on 127.0.0.1:$PORT"
  url_of "$PORT"
}

stop() {
  if ! read_state; then
    log "no cluster to stop"
    rm -f "$STATE"
    return
  fi
  as_owner "$BIN/pg_ctl" stop --pgdata="$PGDIR/data" --mode=fast --wait >/dev/null 2>&1 || true
  rm -rf "$PGDIR" "$STATE"
  log "cluster stopped and removed"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) read_state || { log "no cluster running (run: $0 start)"; exit 1; }; url_of "$PORT" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
