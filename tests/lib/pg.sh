# A real PostgreSQL for a test script (source after common.sh): started
# with tests/pg/pgctl.sh in a folder under /tmp (not $T, which is private:
# under root the server runs as nobody), stopped at exit. Gives:
#   PORT       the server's port on 127.0.0.1
#   admin SQL [DB]   run SQL as the superuser, print the rows
#   aztp_database    a role `aztpd` (password in $T/pg.password) owning a
#                    database `aztp`, a key-encryption key in $T/kek, and
#   store_config KEY_FILE   the `store:` section for it
#   start_replicas TD       three aztpd replicas on that database
PGCTL="$AZTP_SOURCE/tests/pg/pgctl.sh"
PGDIR="$(mktemp -d /tmp/aztp_pgint_XXXXXX)"
AT_EXIT+=('"$PGCTL" stop "$PGDIR"; rm -rf "$PGDIR"')
"$PGCTL" start "$PGDIR" || fail "PostgreSQL did not start"
PORT="$(cat "$PGDIR/port")"
admin() {
  PGPASSWORD="$(cat "$PGDIR/admin.password")" psql -X -v ON_ERROR_STOP=1 -qtA \
    "host=127.0.0.1 port=$PORT user=aztp_admin dbname=${2:-postgres}" -c "$1"
}
aztp_database() {
  (umask 077; openssl rand -hex 16 > "$T/pg.password"; openssl rand -hex 32 > "$T/kek")
  admin "CREATE ROLE aztpd LOGIN PASSWORD '$(cat "$T/pg.password")'" >/dev/null
  admin "CREATE DATABASE aztp OWNER aztpd" >/dev/null
}
store_config() {
  cat <<YAML
store:
  backend: postgres
  postgres:
    connection: "host=127.0.0.1 port=$PORT dbname=aztp user=aztpd"
    password_file: $T/pg.password
    key_encryption_key_file: $1
YAML
}

# start_replicas TD: a database for aztpd (aztp_database), a configuration
# with a 1 s maintenance pass (so the lease lasts 3 s) and no rate limit,
# `aztpd init` of trust domain TD, and three replicas r1, r2, r3 on it.
# Sets KEY (the admin key), URLS[rN] and RPIDS[rN]; bundles in $T/r1.
declare -A URLS RPIDS
start_replicas() {
  aztp_database
  {
    echo "rate_limit: {requests_per_second: 0}"
    echo "maintain_interval: 1s"
    store_config "$T/kek"
  } > "$T/aztpd.yaml"
  expect_exit 0 "$AZTP_BUILD/aztpd/aztpd" init --config "$T/aztpd.yaml" \
    --data-dir "$T/r1" --trust-domain "$1"
  KEY="$(json_get "$out" admin_api_key)"
  local r
  for r in r1 r2 r3; do
    mkdir -p -m 700 "$T/$r"
    start_aztpd "$T/$r" --config "$T/aztpd.yaml"
    URLS[$r]="$URL"; RPIDS[$r]=$PID
  done
}
