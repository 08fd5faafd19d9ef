# oidc_test_pki DIR: a test CA (DIR/ca.pem, DIR/ca.key) and a server
# certificate for IP 127.0.0.1 signed by it (DIR/server.pem, DIR/server.key),
# made with the openssl CLI, for the test IdP's HTTPS. Source this file.
oidc_test_pki() {
  local dir="$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 1 -subj "/CN=aztp OIDC test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>"$dir/pki.err" || return 1
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/server.key" -out "$dir/server.csr" -subj "/CN=127.0.0.1" \
    2>"$dir/pki.err" || return 1
  printf '%s\n' "subjectAltName=IP:127.0.0.1" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 1 -extfile "$dir/server.ext" \
    -out "$dir/server.pem" 2>"$dir/pki.err"
}
