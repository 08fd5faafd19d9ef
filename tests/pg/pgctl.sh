#!/usr/bin/env bash
# Run a throwaway PostgreSQL 15 server on 127.0.0.1 for the tests.
#   pgctl.sh start|stop|kill|restart|env DIR
# Layout of DIR: data/ (cluster), sock/ (unix socket), port, admin.password,
# server.log, env (connection settings for the tests).
set -euo pipefail

die() { echo "pgctl: $1" >&2; exit "${2:-1}"; }
fail_log() { tail -n 20 "$DIR/server.log" >&2 2>/dev/null || true; die "$1"; }
usage() { die "usage: pgctl.sh {start|stop|kill|restart|env} DIR" 2; }

[ $# -eq 2 ] || usage
cmd=$1
case $cmd in start|stop|kill|restart|env) ;; *) usage ;; esac

DIR=$(realpath -m -- "$2")
# The path ends up inside postgresql.conf and a list-valued setting, so keep it
# to characters that need no quoting there.
[[ $DIR =~ ^[A-Za-z0-9._/+@-]+$ ]] || die "unsupported characters in directory path: $DIR"
DATA=$DIR/data
SOCK=$DIR/sock
# Stopping something that was never created is not an error.
if [ ! -d "$DIR" ]; then
  case $cmd in stop|kill) exit 0 ;; env) die "no such directory: $DIR" ;; esac
fi

BIN=/usr/lib/postgresql/15/bin
if [ ! -x "$BIN/initdb" ]; then
  BIN=$(command -v initdb) || die "PostgreSQL server binaries not found"
  BIN=$(dirname "$BIN")
fi

# PostgreSQL refuses to run as root, so under root the server runs as nobody.
AS=()
PWTMP=""
if [ "$(id -u)" -eq 0 ]; then
  if command -v setpriv >/dev/null; then
    AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
  else
    AS=(runuser -u nobody --)
  fi
fi

# True if postmaster.pid names a live (non-zombie) postgres process.
postmaster_pid() {
  local pid
  [ -f "$DATA/postmaster.pid" ] || return 1
  pid=$(head -n1 "$DATA/postmaster.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] || return 1
  echo "$pid"
}
# Zombies count as gone: in containers nobody may reap orphaned processes.
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

write_env() {
  local port
  port=$(cat "$DIR/port")
  cat >"$DIR/env" <<EOF
PGHOST=127.0.0.1
PGPORT=$port
PGUSER=aztp_admin
PGPASSFILE_ADMIN=$DIR/admin.password
AZTP_TEST_PG=host=127.0.0.1 port=$port user=aztp_admin dbname=postgres
EOF
  chmod 0644 "$DIR/env"
}

# shellcheck source=../lib/free_port.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/free_port.sh"

init_cluster() {
  local pwfile=$DIR/admin.password
  (umask 077; openssl rand -hex 16 >"$DIR/admin.password")
  chmod 0600 "$DIR/admin.password"
  if [ ${#AS[@]} -gt 0 ]; then
    # The password file stays private to the caller; the server user gets a
    # short-lived copy that is removed as soon as initdb is done.
    PWTMP=$(mktemp "$DIR/.pwfile.XXXXXX")
    trap 'rm -f "$PWTMP"' EXIT
    cat "$DIR/admin.password" >"$PWTMP"
    chown nobody:nogroup "$PWTMP"
    pwfile=$PWTMP
  fi
  local args=(-D "$DATA" -U aztp_admin --pwfile="$pwfile" --auth-local=trust
    --auth-host=scram-sha-256 --encoding=UTF8 --no-sync)
  if ! "${AS[@]}" "$BIN/initdb" "${args[@]}" --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1; then
    rm -rf "$DATA"
    "${AS[@]}" "$BIN/initdb" "${args[@]}" --locale=C >"$DIR/initdb.log" 2>&1 \
      || die "initdb failed, see $DIR/initdb.log"
  fi
  [ -z "$PWTMP" ] || rm -f "$PWTMP"
  # Speed over durability: the cluster is thrown away after the tests.
  cat >>"$DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCK'
fsync = off
synchronous_commit = on
full_page_writes = off
max_connections = 200
shared_buffers = 32MB
log_min_messages = warning
logging_collector = off
EOF
}

do_start() {
  # Room is needed for "/.s.PGSQL.<port>" inside the socket directory.
  [ $((${#SOCK} + 15)) -le 107 ] || die "socket path too long (${#SOCK} bytes): $SOCK; use a shorter DIR"
  if [ ${#AS[@]} -gt 0 ]; then
    # Checked before creating anything; missing parents are created 0755.
    local p=$DIR
    while p=$(dirname "$p"); do
      if [ -e "$p" ] && ! (( 0$(stat -c %a "$p") & 1 )); then
        die "directory $p is not traversable by others (o+x); the server user cannot reach $DIR" 2
      fi
      [ "$p" != / ] || break
    done
  fi
  (umask 022; mkdir -p "$DIR")
  [ ${#AS[@]} -eq 0 ] || chown nobody:nogroup "$DIR"
  # Server processes may not be able to enter the caller's working directory.
  cd "$DIR"
  if postmaster_pid >/dev/null; then write_env; return; fi
  # After a kill the lock files still name the dead postmaster; if it lingers
  # as an unreaped zombie, the server would take it for a live one and refuse.
  rm -f "$DATA/postmaster.pid" "$SOCK"/.s.PGSQL.*.lock
  [ -s "$DIR/port" ] || free_port >"$DIR/port"
  local port
  port=$(cat "$DIR/port")
  [ -d "$DATA" ] || init_cluster
  mkdir -p "$SOCK"
  [ ${#AS[@]} -eq 0 ] || chown nobody:nogroup "$SOCK"
  chmod 0700 "$SOCK"
  local end=$((SECONDS + 30))
  # The port is given on the command line so DIR/port stays the single source.
  "${AS[@]}" "$BIN/pg_ctl" start -D "$DATA" -l "$DIR/server.log" -o "-p $port" -w -t 30 >/dev/null 2>&1 \
    || fail_log "server failed to start, see $DIR/server.log"
  # Ready on the socket does not prove TCP works; check what the tests use.
  until "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1; do
    [ $SECONDS -lt $end ] || fail_log "server not accepting TCP connections on 127.0.0.1:$port after 30 s"
    sleep 0.2
  done
  write_env
}

do_stop() {
  postmaster_pid >/dev/null || return 0
  "${AS[@]}" "$BIN/pg_ctl" stop -D "$DATA" -m fast -w -t 60 >/dev/null || die "pg_ctl stop failed"
}

do_kill() {
  local pid pids p
  pid=$(postmaster_pid) || return 0
  # Freeze the postmaster so it cannot fork new children while we list them.
  kill -STOP "$pid" 2>/dev/null || true
  pids="$pid $(ps -o pid= --ppid "$pid" | tr '\n' ' ')"
  # shellcheck disable=SC2086
  kill -9 $pids 2>/dev/null || true
  for _ in $(seq 100); do
    local left=""
    for p in $pids; do alive "$p" && left="$left $p"; done
    [ -n "$left" ] || return 0
    sleep 0.1
  done
  die "processes still alive after kill -9:$left"
}

[ ! -d "$DIR" ] || cd "$DIR"
case $cmd in
  start) do_start ;;
  stop) do_stop ;;
  kill) do_kill ;;
  restart) do_stop; do_start ;;
  env) [ -f "$DIR/env" ] || die "no env file in $DIR (server never started?)"; cat "$DIR/env" ;;
esac
