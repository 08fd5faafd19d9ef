#!/usr/bin/env bash
# Interop: SVIDs issued by aztp are accepted by independent X.509 stacks
# (openssl CLI, Python cryptography), and CSRs made by openssl are honoured.
source "$(dirname "$0")/../lib/common.sh"
A="$AZTP_BIN"

for kt in ec-p256 ec-p384 ed25519; do
  "$A" ca init --trust-domain "td-$kt.example" --out "$T/ca-$kt" --key-type "$kt" >/dev/null
  "$A" svid issue --ca "$T/ca-$kt" --id "spiffe://td-$kt.example/agent/$kt" \
    --out "$T/svid-$kt" --key-type "$kt" >/dev/null
  openssl verify -CAfile "$T/ca-$kt/ca.pem" "$T/svid-$kt/svid.pem" >/dev/null ||
    fail "openssl verify rejected the $kt SVID"
  ok "openssl verify accepts a $kt SVID"
done

# Intermediate CA: root from the bundle's CA file, intermediate as untrusted.
"$A" ca init --trust-domain inter.example --out "$T/ca-int" --intermediate >/dev/null
"$A" svid issue --ca "$T/ca-int" --id spiffe://inter.example/w --out "$T/svid-int" >/dev/null
[ "$(grep -c BEGIN "$T/svid-int/svid.pem")" = 2 ] || fail "svid.pem should hold leaf + intermediate"
awk '/BEGIN/{n++} n==2' "$T/ca-int/ca.pem" > "$T/root.pem"
openssl verify -CAfile "$T/root.pem" -untrusted "$T/svid-int/svid.pem" "$T/svid-int/svid.pem" >/dev/null ||
  fail "openssl verify rejected the intermediate-signed SVID"
ok "openssl verify accepts leaf + intermediate against the root"

# Negative control: the wrong CA must fail, so the checks above can fail.
if openssl verify -CAfile "$T/ca-ec-p256/ca.pem" "$T/svid-ed25519/svid.pem" >/dev/null 2>&1; then
  fail "openssl verify accepted an SVID against another domain's CA"
fi
ok "openssl verify rejects an SVID against another trust domain's CA"

# The SPIFFE profile as openssl prints it.
text="$(openssl x509 -in "$T/svid-ec-p256/svid.pem" -noout -text)"
grep -q "URI:spiffe://td-ec-p256.example/agent/ec-p256" <<<"$text" || fail "URI SAN missing"
grep -A1 "X509v3 Key Usage: critical" <<<"$text" | grep -q "Digital Signature" || fail "key usage"
grep -A1 "X509v3 Extended Key Usage" <<<"$text" | grep -q "TLS Web Server Authentication, TLS Web Client Authentication" || fail "EKU"
grep -A1 "X509v3 Basic Constraints: critical" <<<"$text" | grep -q "CA:FALSE" || fail "basic constraints"
ok "openssl sees URI SAN, critical digitalSignature, EKU server+client, CA:FALSE"

# Python cryptography reads the same facts.
/usr/bin/python3 - "$T/svid-ec-p256/svid.pem" "$T/svid-ed25519/svid.pem" <<'PY'
import sys
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
for path, want in zip(sys.argv[1:], ["spiffe://td-ec-p256.example/agent/ec-p256",
                                      "spiffe://td-ed25519.example/agent/ed25519"]):
    cert = x509.load_pem_x509_certificate(open(path, "rb").read())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
    assert uris == [want], uris
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku and ExtendedKeyUsageOID.CLIENT_AUTH in eku
    assert cert.serial_number.bit_length() >= 120
PY
ok "python cryptography reads the URI SAN and the SVID extensions"

# A CSR made by openssl: the key is certified, the requested SAN is ignored.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/w.key" 2>/dev/null
openssl req -new -key "$T/w.key" -subj "/O=evil" \
  -addext "subjectAltName=URI:spiffe://td-ec-p256.example/admin" -out "$T/w.csr" 2>/dev/null
"$A" svid issue --ca "$T/ca-ec-p256" --id spiffe://td-ec-p256.example/worker \
  --csr "$T/w.csr" --out "$T/svid-csr" >/dev/null
[ ! -e "$T/svid-csr/svid.key" ] || fail "a CSR issuance must not write a key"
openssl x509 -in "$T/svid-csr/svid.pem" -noout -ext subjectAltName | grep -q "URI:spiffe://td-ec-p256.example/worker$" ||
  fail "issued SAN is not the registered ID"
[ "$(openssl x509 -in "$T/svid-csr/svid.pem" -noout -pubkey)" = "$(openssl pkey -in "$T/w.key" -pubout)" ] ||
  fail "issued key is not the CSR's key"
openssl verify -CAfile "$T/ca-ec-p256/ca.pem" "$T/svid-csr/svid.pem" >/dev/null || fail "openssl verify (CSR)"
ok "an openssl CSR is certified under the registered ID, requested SAN ignored"

# An RSA CSR is refused: aztp hop tokens are signed with EC or Ed25519 keys.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/r.key" 2>/dev/null
openssl req -new -key "$T/r.key" -subj "/O=x" -out "$T/r.csr" 2>/dev/null
expect_exit 1 "$A" svid issue --ca "$T/ca-ec-p256" --id spiffe://td-ec-p256.example/r --csr "$T/r.csr" --out "$T/svid-r"
[ "$(json_get "$out" error)" = unsupported ] || fail "RSA CSR: $out"
ok "an RSA CSR is refused with 'unsupported'"

done_checks
