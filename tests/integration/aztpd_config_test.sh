#!/usr/bin/env bash
# aztpd's configuration file, the precedence of flags over it, `run --dev`
# and the logs, on loopback: curl for the API, openssl for CSRs, Python for
# reading certificates and JSON log lines.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
[ -x "$D" ] || fail "aztpd is not built at $D"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT

# wait_url DIR: wait until aztpd has written DIR/aztpd.url; set $URL.
wait_url() {
  for _ in $(seq 1 200); do [ -s "$1/aztpd.url" ] && break; sleep 0.05; done
  [ -s "$1/aztpd.url" ] || fail "no $1/aztpd.url"
  URL="$(cat "$1/aztpd.url")"
}
# stop PID: SIGTERM, and aztpd must exit 0.
stop() {
  kill -TERM "$1"
  local rc=0
  wait "$1" || rc=$?
  [ "$rc" = 0 ] || fail "aztpd exit status $rc"
}
# free_port: a loopback port nothing listens on right now.
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# no_secret KEY FILE...: the key must not appear in any of the files.
no_secret() {
  local key="$1"; shift
  if grep -qF -e "$key" "$@"; then fail "API key in $*"; fi
}

# --- the configuration file is honoured ---
PORT="$(free_port)"
cat > "$T/aztpd.yaml" <<EOF
# a short default SVID lifetime and a fixed port, both visible from outside
data_dir: $T/data
trust_domain: org-c.example
listen: 127.0.0.1:$PORT
log_level: debug
log_format: json
maintain_interval: 1h
svid:
  default_ttl: 2m
EOF
expect_exit 0 "$D" init --config "$T/aztpd.yaml"
KEY="$(json_get "$out" admin_api_key)"
[ "$(json_get "$out" trust_domain)" = org-c.example ] || fail "trust domain: $out"
[ "$(json_get "$out" bundle_path)" = "$T/data/bundle.json" ] || fail "bundle_path: $out"
ok "init takes data_dir and trust_domain from the configuration"

"$D" run --config "$T/aztpd.yaml" 2>"$T/run.log" &
PID=$!; PIDS+=("$PID")
wait_url "$T/data"
[ "$URL" = "https://127.0.0.1:$PORT" ] || fail "listen from the configuration: $URL"
C=(curl -sS --cacert "$T/data/bundle.pem" --max-time 10)
"${C[@]}" "$URL/healthz?token=QUERYSECRET" | grep -q '"ok"' || fail "healthz"
ok "run listens where the configuration says"

status="$("${C[@]}" -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
  -H 'Content-Type: application/json' --data-binary '{"id":"spiffe://org-c.example/agents/a"}' "$URL/v1/identities")"
[ "$status" = 201 ] || fail "register: $status $(cat "$T/body")"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/a.key" \
  -subj /O=x -out "$T/a.csr" 2>/dev/null
csr="$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$T/a.csr")"
status="$("${C[@]}" -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
  -H 'Content-Type: application/json' --data-binary "{\"id\":\"spiffe://org-c.example/agents/a\",\"csr\":$csr}" "$URL/v1/svid/x509")"
[ "$status" = 201 ] || fail "svid: $status $(cat "$T/body")"
/usr/bin/python3 - "$T/body" <<'PY'
import calendar, json, sys
from cryptography import x509
body = json.load(open(sys.argv[1]))
leaf = x509.load_pem_x509_certificate(body["svid"].encode())
after = calendar.timegm(leaf.not_valid_after.timetuple())
life = after - calendar.timegm(leaf.not_valid_before.timetuple())
assert body["expires_at"] == after, (body["expires_at"], after)
# 2m from the configuration (the default would be 1h), plus the backdating
# of notBefore, which is well under a minute.
assert 120 < life <= 180, life
PY
ok "an SVID issued without a TTL gets the configured default (2m)"

# --- flags override the configuration ---
expect_exit 0 "$D" init --config "$T/aztpd.yaml" --data-dir "$T/data2" --trust-domain org-d.example
KEY2="$(json_get "$out" admin_api_key)"
[ "$(json_get "$out" trust_domain)" = org-d.example ] || fail "--trust-domain: $out"
[ "$(json_get "$out" bundle_path)" = "$T/data2/bundle.json" ] || fail "--data-dir: $out"
# The first daemon still holds the configured port: this one only comes up
# if --listen wins.
"$D" run --config "$T/aztpd.yaml" --data-dir "$T/data2" --listen 127.0.0.1:0 \
  --log-format text --log-level info 2>"$T/run2.log" &
PID2=$!; PIDS+=("$PID2")
wait_url "$T/data2"
[ "$URL" != "https://127.0.0.1:$PORT" ] || fail "--listen ignored: $URL"
curl -sS --cacert "$T/data2/bundle.pem" --max-time 10 "$URL/healthz" | grep -q '"ok"' || fail "healthz 2"
stop "$PID2"
grep -q ' info serving ' "$T/run2.log" || fail "--log-format text: $(head -3 "$T/run2.log")"
if grep -q '^{' "$T/run2.log"; then fail "JSON lines despite --log-format text"; fi
if grep -q ' debug ' "$T/run2.log"; then fail "debug lines despite --log-level info"; fi
ok "--data-dir, --trust-domain, --listen, --log-format and --log-level win over the file"

stop "$PID"
/usr/bin/python3 - "$T/run.log" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines, "empty log"
events = [json.loads(line) for line in lines]  # every line is one JSON object
for e in events:
    assert isinstance(e, dict) and {"time", "level", "msg"} <= e.keys(), e
assert any(e["level"] == "debug" for e in events), "log_level: debug ignored"
access = [e for e in events if e["msg"] == "request" and e["path"] == "/healthz"]
assert access, "no access log line for /healthz"
a = access[0]
assert a["method"] == "GET" and a["status"] == 200, a
assert isinstance(a["latency_ms"], (int, float)) and a["remote"].startswith("127.0.0.1:"), a
svid = [e for e in events if e["msg"] == "request" and e["path"] == "/v1/svid/x509"]
assert svid and svid[0]["status"] == 201 and svid[0]["method"] == "POST", svid
PY
if grep -q QUERYSECRET "$T/run.log"; then fail "query string in the access log"; fi
if grep -qi 'authorization\|bearer\|BEGIN' "$T/run.log"; then fail "headers or PEM in the log"; fi
no_secret "$KEY" "$T/run.log" "$T/run2.log"
no_secret "$KEY2" "$T/run.log" "$T/run2.log"
ok "json log: one object per line, access lines without query, headers, bodies or keys"

# --- bad configurations are refused with a one-line JSON error ---
# check_refused FILE_CONTENT REASON KEY: run and init both refuse it.
check_refused() {
  printf '%b' "$1" > "$T/bad.yaml"
  for cmd in run init; do
    expect_exit 1 "$D" "$cmd" --config "$T/bad.yaml" --data-dir "$T/data"
    [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "$cmd: not one line: $out"
    [ "$(json_get "$out" error)" = "$2" ] || fail "$cmd: reason: $out"
    json_get "$out" message | grep -qF "$3" || fail "$cmd: key not named: $out"
  done
}
check_refused 'ca:\n  rotation:\n    prepare_at: 0.8\n    activate_at: 0.7\n' invalid_argument ca.rotation.activate_at
check_refused 'lisen: 127.0.0.1:1\n' malformed 'lisen: unknown key'
check_refused 'threads: "4"\n' malformed threads
check_refused 'svid:\n  default_ttl: 2d\n  max_ttl: 1d\n' invalid_argument svid.default_ttl
check_refused 'a: [1, 2\n' malformed 'invalid YAML'
expect_exit 1 "$D" run --config "$T/aztpd.yaml" --threads 0
json_get "$out" message | grep -q '^threads' || fail "--threads 0: $out"
expect_exit 3 "$D" run --config "$T/missing.yaml"
ok "bad configurations and flags exit non-zero with one JSON line naming the key"

# One duration syntax for the file and the flags (issue 13): --grace takes
# 10s and 0s like `grace:`; a bare number is refused by both, with one
# message.
printf 'grace: 10\n' > "$T/bare.yaml"
expect_exit 1 "$D" run --config "$T/bare.yaml" --data-dir "$T/data"
[ "$(json_get "$out" message)" = "$T/bare.yaml: grace: must be a duration such as 90s, 15m, 1h or 30d, not \"10\"" ] || fail "grace: 10: $out"
expect_exit 1 "$D" run --config "$T/aztpd.yaml" --grace 10
[ "$(json_get "$out" message)" = 'grace (--grace): must be a duration such as 90s, 15m, 1h or 30d, not "10"' ] || fail "--grace 10: $out"
expect_exit 1 "$D" run --config "$T/aztpd.yaml" --grace 2h
[ "$(json_get "$out" message)" = 'grace: must be between 0s and 1h' ] || fail "--grace 2h: $out"
expect_exit 1 "$D" init --data-dir "$T/ttl" --trust-domain x.example --ca-ttl 365
[ "$(json_get "$out" message)" = 'ca.ttl (--ca-ttl): must be a duration such as 90s, 15m, 1h or 30d, not "365"' ] || fail "--ca-ttl 365: $out"
for grace in 10s 0s; do
  printf 'grace: %s\n' "$grace" > "$T/grace.yaml"
  for args in "--grace $grace" "--config $T/grace.yaml"; do
    : > "$T/aztpd.log"
    start_aztpd "$T/data" $args
    kill -TERM $PID
    wait $PID || fail "aztpd $args exit status $?"
    # The value is the one given, not a default.
    grep -q "shutting down.*grace_seconds[^0-9]\{1,3\}${grace%s}\b" "$T/aztpd.log" ||
      fail "aztpd $args: $(grep 'shutting down' "$T/aztpd.log")"
  done
done
ok "--grace and --ca-ttl take the file's duration syntax (10s, 0s); a bare number is refused by flag and file alike"

# --- each listener's own connection cap and handshake timeout ---
cat > "$T/limits.yaml" <<EOF
data_dir: $T/data
listen: 127.0.0.1:0
http:
  max_connections: 2
  handshake_timeout: 1s
bundle_endpoint:
  listen: 127.0.0.1:0
  profile: https_spiffe
  max_connections: 2
  handshake_timeout: 1s
EOF
"$D" run --config "$T/limits.yaml" 2>"$T/limits.log" &
PID=$!; PIDS+=("$PID")
wait_url "$T/data"
BURL="$(cat "$T/data/aztpd.bundle.url")"
# fill FULL_URL OTHER_URL: two idle TCP connections fill FULL_URL's
# listener; a third is closed at once, OTHER_URL answers meanwhile, the idle
# ones are closed after the 1 s handshake timeout, and FULL_URL answers
# again.
fill() {
  /usr/bin/python3 - "$1" "$2" "$T/data/bundle.pem" <<'PY'
import socket, ssl, sys, time, urllib.parse, urllib.request
full, other, ca = sys.argv[1:4]
where = urllib.parse.urlsplit(full)
ctx = ssl.create_default_context(cafile=ca)
def get(url):
    with urllib.request.urlopen(url, context=ctx, timeout=5) as r:
        return r.status
start = time.monotonic()
idle = [socket.create_connection((where.hostname, where.port), timeout=5)
        for _ in range(2)]
time.sleep(0.2)
over = socket.create_connection((where.hostname, where.port), timeout=5)
assert over.recv(1) == b"", "the connection over the cap was served"
assert time.monotonic() - start < 0.9, "the connection over the cap stayed open"
assert get(other) == 200
for s in idle:
    assert s.recv(1) == b"", "an idle connection got data"
waited = time.monotonic() - start
assert 0.9 < waited < 4, waited
for attempt in range(40):  # a closed session leaves the count a moment later
    try:
        assert get(full) == 200
        break
    except OSError:
        time.sleep(0.05)
else:
    raise AssertionError("the listener did not serve again")
PY
}
fill "$BURL" "$URL/healthz" || fail "filling the bundle endpoint"
fill "$URL/healthz" "$BURL" || fail "filling the API listener"
METRICS="$(curl -sS --cacert "$T/data/bundle.pem" --max-time 10 "$URL/metrics")"
grep -qx 'aztpd_connections_refused_total{listener="api"} 1' <<<"$METRICS" \
  || fail "api refusals: $(grep refused <<<"$METRICS")"
grep -qx 'aztpd_connections_refused_total{listener="bundle_endpoint"} 1' <<<"$METRICS" \
  || fail "bundle endpoint refusals: $(grep refused <<<"$METRICS")"
stop "$PID"
ok "max_connections 2: two idle connections fill one listener, a third is closed at once and counted, the other listener answers; the idle ones are closed after handshake_timeout"
check_refused 'http:\n  max_connections: 0\n' invalid_argument http.max_connections
check_refused 'http:\n  handshake_timeout: 2m\n' invalid_argument http.handshake_timeout
ok "listener limits out of range are refused, naming the key"

# --- run --dev ---
"$D" run --dev --data-dir "$T/dev" --listen 127.0.0.1:0 >"$T/dev.out" 2>"$T/dev.log" &
PID=$!; PIDS+=("$PID")
wait_url "$T/dev"
[[ "$URL" == https://127.0.0.1:* ]] || fail "dev url: $URL"
[ "$(wc -l < "$T/dev.out")" = 1 ] || fail "dev stdout: $(cat "$T/dev.out")"
DEV="$(cat "$T/dev.out")"
DEVKEY="$(json_get "$DEV" admin_api_key)"
[ "$(json_get "$DEV" trust_domain)" = dev.aztp.local ] || fail "dev trust domain: $DEV"
C=(curl -sS --cacert "$T/dev/bundle.pem" --max-time 10)
"${C[@]}" "$URL/healthz" | grep -q '"ok"' || fail "dev healthz"
status="$("${C[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $DEVKEY" "$URL/v1/identities")"
[ "$status" = 200 ] || fail "dev admin key: $status"
stop "$PID"
grep -q ' debug ' "$T/dev.log" || fail "--dev logs at debug"
ok "run --dev initialises its folder, prints the admin key once and serves"

"$D" run --dev --data-dir "$T/dev" --listen 127.0.0.1:0 >"$T/dev2.out" 2>>"$T/dev.log" &
PID=$!; PIDS+=("$PID")
wait_url "$T/dev"
"${C[@]}" "$URL/healthz" | grep -q '"ok"' || fail "dev healthz after restart"
stop "$PID"
[ ! -s "$T/dev2.out" ] || fail "second dev start printed: $(cat "$T/dev2.out")"
no_secret "$DEVKEY" "$T/dev.log"
ok "a second run --dev reuses the folder and prints nothing"

mkdir "$T/tmp"
TMPDIR="$T/tmp" "$D" run --dev --listen 127.0.0.1:0 >"$T/dev3.out" 2>"$T/dev3.log" &
PID=$!; PIDS+=("$PID")
for _ in $(seq 1 200); do [ -s "$T/dev3.out" ] && break; sleep 0.05; done
DIR="$(dirname "$(json_get "$(cat "$T/dev3.out")" bundle_path)")"
[[ "$DIR" == "$T/tmp/"* ]] || fail "dev temp folder: $DIR"
wait_url "$DIR"
curl -sS --cacert "$DIR/bundle.pem" --max-time 10 "$URL/healthz" | grep -q '"ok"' || fail "dev temp healthz"
stop "$PID"
no_secret "$(json_get "$(cat "$T/dev3.out")" admin_api_key)" "$T/dev3.log"
ok "run --dev without --data-dir uses a fresh temporary folder"
done_checks
