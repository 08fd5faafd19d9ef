# Shared helpers for the shell tests. Source it; it sets -euo pipefail, makes
# a scratch folder $T (removed on exit) and counts checks.
set -euo pipefail
: "${AZTP_BIN:?AZTP_BIN must point at the aztp CLI}"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
checks=0

# ok MESSAGE: record a passed check.
ok() { checks=$((checks + 1)); echo "ok $checks - $*"; }
# fail MESSAGE: stop the test. The message often quotes an output; API key
# secrets and private key blocks in it are masked, so that a failing test
# never prints a secret.
fail() {
  printf 'FAIL - %s\n' "$*" | /usr/bin/python3 -c '
import re, sys
t = sys.stdin.read()
t = re.sub(r"(aztp_[A-Za-z0-9]+)\.[A-Za-z0-9_-]+", r"\1.<secret>", t)
t = re.sub(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
           "<private key>", t, flags=re.S)
sys.stderr.write(t)' >&2
  exit 1
}

# expect_exit CODE CMD...: run CMD, require exit CODE, keep stdout in $out.
expect_exit() {
  local want="$1"; shift
  set +e
  out="$("$@")"
  local got=$?
  set -e
  [ "$got" = "$want" ] || fail "expected exit $want, got $got: $* -> $out"
}

# json_get JSON KEY: print a top-level member of a JSON object.
json_get() {
  /usr/bin/python3 -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$1" "$2"
}

# done_checks: print the summary line.
done_checks() { echo "$checks passed, 0 failed"; }

# start_aztpd DIR [ARGS...]: run `aztpd run --data-dir DIR --listen
# 127.0.0.1:0 ARGS...` in the background, logging to $T/aztpd.log, and wait
# until it serves. Sets $PID and $URL; every aztpd started so is killed at
# exit, and so is every process a test adds to PIDS.
AZTPD_PIDS=()
PIDS=()
# AT_EXIT holds more commands to run at exit, before the kills (a script's
# own servers: `AT_EXIT+=("redisctl.sh stop DIR")`).
AT_EXIT=()
trap 'for c in "${AT_EXIT[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
      for p in "${PIDS[@]}" "${AZTPD_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT
# stop_gracefully: SIGTERM to every process in PIDS and AZTPD_PIDS, up to
# 5 s for them to exit (a benchmark's proxies close their audit logs),
# then SIGKILL to what is left.
stop_gracefully() {
  local p alive
  for p in "${PIDS[@]}" "${AZTPD_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for p in "${PIDS[@]}" "${AZTPD_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for p in "${PIDS[@]}" "${AZTPD_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
start_aztpd() {
  local dir="$1"; shift
  rm -f "$dir/aztpd.url"
  "$AZTP_BUILD/aztpd/aztpd" run --data-dir "$dir" --listen 127.0.0.1:0 "$@" 2>>"$T/aztpd.log" &
  PID=$!
  AZTPD_PIDS+=("$PID")
  for _ in $(seq 1 200); do [ -s "$dir/aztpd.url" ] && break; sleep 0.05; done
  [ -s "$dir/aztpd.url" ] || fail "aztpd did not start: $(tail -3 "$T/aztpd.log")"
  URL="$(cat "$dir/aztpd.url")"
  [[ "$URL" == https://127.0.0.1:* ]] || fail "aztpd.url: $URL"
}

# api METHOD PATH [BODY]: call aztpd at $URL with the API key $KEY through
# the curl command in the array C; sets $status and $body.
api() {
  local method="$1" path="$2" data="${3:-}"
  local args=(-X "$method" -H "Authorization: Bearer $KEY" -o "$T/body" -w '%{http_code}')
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
  status="$("${C[@]}" "${args[@]}" "$URL$path")"
  body="$(cat "$T/body")"
}

# control_plane_up TD: aztpd for trust domain TD, initialised in $T/cp and
# started; sets KEY (the admin key, also in $T/key, mode 600) and C (curl
# trusting aztpd).
control_plane_up() {
  expect_exit 0 "$AZTP_BUILD/aztpd/aztpd" init --data-dir "$T/cp" --trust-domain "$1"
  KEY="$(json_get "$out" admin_api_key)"
  start_aztpd "$T/cp"
  C=(curl -sS --max-time 20 --cacert "$T/cp/bundle.pem")
  (umask 077; printf '%s' "$KEY" > "$T/key")
}
# register ID...: registers each identity at aztpd.
register() {
  local id
  for id in "$@"; do
    api POST /v1/identities "{\"id\":\"$id\"}"
    [ "$status" = 201 ] || fail "register $id: $status $body"
  done
}
# attach_policy NAME DOCUMENT IDENTITY: stores a policy and attaches it.
attach_policy() {
  api POST /v1/policies "{\"name\":\"$1\",\"document\":$2}"
  [ "$status" = 201 ] || fail "policy $1: $status $body"
  api POST "/v1/policies/$(json_get "$body" id):attach" "{\"identity\":\"$3\"}"
  [ "$status" = 200 ] || fail "attach $1: $status $body"
}

# run CODE CMD...: expect_exit, and keep every output in $T/outputs too, to
# check later that no key leaked.
run() { expect_exit "$@"; printf '%s\n' "$out" >> "$T/outputs"; }
# has JSON EXPR: evaluate a Python expression over the parsed JSON `j`.
has() {
  /usr/bin/python3 -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" \
    || fail "expected $2 in: $1"
}
