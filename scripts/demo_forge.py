#!/usr/bin/env python3
"""The demo's forger: an agent that holds a valid X.509-SVID and its key
signs a root hop token naming someone else as the chain's subject, exactly
as protocol §5.1/§5.2 lay a token out. Every verifier refuses it with
unvouched_subject (§5.3): only a control plane vouches for a person.

  demo_forge.py IDENTITY_DIR AUDIENCE SUBJECT   (prints the Aztp-Chain value)
"""
import base64
import json
import os
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(doc):
    return json.dumps(doc, separators=(",", ":")).encode()


def main():
    folder, audience, subject = sys.argv[1:4]
    with open(os.path.join(folder, "svid.pem"), "rb") as f:
        pem = f.read()
    end = b"-----END CERTIFICATE-----"
    certs = [x509.load_pem_x509_certificate(block + end)
             for block in pem.split(end) if b"-----BEGIN" in block]
    with open(os.path.join(folder, "svid.key"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    signer = certs[0].extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(
            x509.UniformResourceIdentifier)[0]
    alg = "EdDSA" if isinstance(key, ed25519.Ed25519PrivateKey) else "ES256"
    header = {"alg": alg, "typ": "aztp+jwt",
              "x5c": [base64.b64encode(c.public_bytes(
                  serialization.Encoding.DER)).decode() for c in certs]}
    now = int(time.time())
    claims = {"iss": signer, "sub": subject, "aud": audience, "iat": now,
              "exp": now + 120, "jti": b64url(os.urandom(16)),
              "txn": "forged-" + b64url(os.urandom(6)), "dep": 0, "max": 15,
              "cap": ["research:query"]}
    signing_input = (b64url(compact(header)) + "." +
                     b64url(compact(claims))).encode()
    if alg == "EdDSA":
        signature = key.sign(signing_input)
    else:
        r, s = decode_dss_signature(
            key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    print(signing_input.decode() + "." + b64url(signature))


if __name__ == "__main__":
    main()
