#!/usr/bin/env bash
# Run a throwaway Redis server on 127.0.0.1 for the tests.
#   redisctl.sh start|stop|kill|restart DIR
# Layout of DIR: port, password (0600), redis.conf (0600), redis.pid,
# redis.log. The port and the password are chosen once and kept, so that a
# server started again after a stop or kill is the same one to its clients.
set -euo pipefail

die() { echo "redisctl: $1" >&2; exit "${2:-1}"; }
usage() { die "usage: redisctl.sh {start|stop|kill|restart} DIR" 2; }

[ $# -eq 2 ] || usage
cmd=$1
case $cmd in start|stop|kill|restart) ;; *) usage ;; esac
DIR=$(realpath -m -- "$2")
# The path is written into redis.conf; keep it free of characters that need
# quoting there.
[[ $DIR =~ ^[A-Za-z0-9._/+@-]+$ ]] || die "unsupported characters in directory path: $DIR"
if [ ! -d "$DIR" ]; then
  case $cmd in stop|kill) exit 0 ;; esac
fi

# Zombies count as gone: in containers nobody may reap orphaned processes.
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# Prints the pid of the running server of DIR; fails when there is none.
server_pid() {
  local pid
  pid=$(cat "$DIR/redis.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = redis-server ] || return 1
  echo "$pid"
}
# The password travels in the environment, never on a command line.
cli() {
  REDISCLI_AUTH=$(cat "$DIR/password") redis-cli -h 127.0.0.1 -p "$(cat "$DIR/port")" "$@"
}
wait_gone() {
  for _ in $(seq 100); do alive "$1" || return 0; sleep 0.1; done
  return 1
}
# shellcheck source=../lib/free_port.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/free_port.sh"

do_start() {
  server_pid >/dev/null && return 0
  (umask 077; mkdir -p "$DIR")
  [ -s "$DIR/port" ] || free_port >"$DIR/port"
  if [ ! -s "$DIR/password" ]; then
    (umask 077; openssl rand -hex 16 >"$DIR/password")
  fi
  chmod 0600 "$DIR/password"
  rm -f "$DIR/redis.pid"
  (umask 077; cat >"$DIR/redis.conf" <<EOF
bind 127.0.0.1
port $(cat "$DIR/port")
protected-mode yes
requirepass $(cat "$DIR/password")
save ""
appendonly no
daemonize yes
pidfile $DIR/redis.pid
logfile $DIR/redis.log
dir $DIR
EOF
  )
  chmod 0600 "$DIR/redis.conf"
  redis-server "$DIR/redis.conf" >/dev/null 2>&1 || true
  local end=$((SECONDS + 10))
  until [ "$(cli --no-auth-warning ping 2>/dev/null)" = PONG ]; do
    if [ $SECONDS -ge $end ]; then
      tail -n 20 "$DIR/redis.log" >&2 2>/dev/null || true
      die "server not answering on 127.0.0.1:$(cat "$DIR/port") after 10 s"
    fi
    sleep 0.05
  done
}

do_stop() {
  local pid
  pid=$(server_pid) || return 0
  cli --no-auth-warning shutdown nosave >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
  wait_gone "$pid" || die "server $pid did not stop"
}

do_kill() {
  local pid
  pid=$(server_pid) || return 0
  kill -9 "$pid" 2>/dev/null || true
  wait_gone "$pid" || die "server $pid still alive after kill -9"
}

case $cmd in
  start) do_start ;;
  stop) do_stop ;;
  kill) do_kill ;;
  restart) do_stop; do_start ;;
esac
