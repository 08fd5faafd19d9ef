#!/usr/bin/python3
"""An independent checker of aztp hop-token chains, built on PyJWT.

    /usr/bin/python3 chain_verify.py CHAIN_FILE

CHAIN_FILE holds an Aztp-Chain header value: linked tokens joined by ',',
or one token that nests its predecessors in `obo`. For every token, root
first, the checker

  * reads the protected header without trusting it and requires exactly
    the members alg, typ ("aztp+jwt") and x5c;
  * loads the public key of the x5c leaf certificate (standard base64 DER)
    with `cryptography` and picks the one algorithm that fits its type
    (P-256 ES256, P-384 ES384, Ed25519 EdDSA);
  * verifies the JWS with jwt.decode, allowing only that algorithm (the
    audience is not checked here: that is the receiving hop's business);
  * requires iss to be the leaf's URI SAN and dep to be the token's index;
  * for linked chains, requires prv of every non-root token to be
    base64url(SHA-256(previous compact token)) computed with hashlib; for
    nested chains, requires obo to hold the previous token.

It prints one line per token (index, alg, dep, iss) and exits 0 when every
token passes, 1 when one fails (naming it on stderr), 2 on a usage or file
error. It never prints keys or tokens. Uses only Debian's python3-jwt and
python3-cryptography.
"""

import base64
import hashlib
import sys

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

TYP = "aztp+jwt"
HEADER_MEMBERS = {"alg", "typ", "x5c"}
MAX_TOKENS = 16


class Invalid(Exception):
    """A token that does not pass; the message names the rule."""


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def leaf_key(x5c):
    """Returns (public key, algorithm, URI SANs) of the x5c leaf."""
    if not isinstance(x5c, list) or not x5c or not isinstance(x5c[0], str):
        raise Invalid("x5c must be a non-empty array of strings")
    try:
        der = base64.b64decode(x5c[0], validate=True)
        cert = x509.load_der_x509_certificate(der)
    except Exception as error:  # any parse failure makes the token invalid
        raise Invalid(f"x5c[0] is not a DER certificate ({type(error).__name__})")
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        algs = {"secp256r1": "ES256", "secp384r1": "ES384"}
        alg = algs.get(key.curve.name)
        if alg is None:
            raise Invalid(f"unsupported curve {key.curve.name}")
    elif isinstance(key, ed25519.Ed25519PublicKey):
        alg = "EdDSA"
    else:
        raise Invalid("unsupported leaf key type")
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    return key, alg, uris


def check_token(token):
    """Verifies one compact token; returns (alg, claims)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise Invalid(f"header does not parse ({type(error).__name__})")
    if set(header) != HEADER_MEMBERS:
        extra = sorted(set(header) ^ HEADER_MEMBERS)
        raise Invalid(f"header members differ from alg, typ, x5c: {extra}")
    if header["typ"] != TYP:
        raise Invalid(f"typ is not {TYP}")
    key, alg, uris = leaf_key(header["x5c"])
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[alg],
            leeway=30,
            options={
                "verify_signature": True,
                "verify_aud": False,
                "verify_exp": True,
                "verify_iat": True,
                "verify_nbf": True,
                "require": ["iss", "sub", "aud", "iat", "exp", "jti"],
            },
        )
    except jwt.PyJWTError as error:
        raise Invalid(f"jwt.decode rejects it ({type(error).__name__})")
    if uris != [claims["iss"]]:
        raise Invalid("iss is not the URI SAN of the x5c leaf")
    return alg, claims


def split_chain(value):
    """Returns the compact tokens, root first, and the encoding."""
    if "," in value:
        tokens = value.split(",")
        if len(tokens) > MAX_TOKENS:
            raise Invalid("too many tokens")
        return tokens, "linked"
    # One token: unwrap obo until the root. The payload is read unverified
    # here only to find the inner tokens; each is verified below.
    outer_first = [value]
    while True:
        if len(outer_first) > MAX_TOKENS:
            raise Invalid("too many tokens")
        try:
            claims = jwt.decode(outer_first[-1], options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise Invalid(f"token does not parse ({type(error).__name__})")
        inner = claims.get("obo")
        if inner is None:
            break
        if not isinstance(inner, str):
            raise Invalid("obo is not a string")
        outer_first.append(inner)
    tokens = list(reversed(outer_first))
    return tokens, "nested" if len(tokens) > 1 else "linked"


def main(argv):
    if len(argv) != 2:
        print("usage: chain_verify.py CHAIN_FILE", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="ascii") as f:
            value = f.read().strip()
    except (OSError, UnicodeDecodeError) as error:
        print(f"chain_verify.py: cannot read {argv[1]}: {error}", file=sys.stderr)
        return 2

    index = 0
    try:
        tokens, encoding = split_chain(value)
        previous = None
        for index, token in enumerate(tokens):
            alg, claims = check_token(token)
            if claims.get("dep") != index:
                raise Invalid(f"dep is {claims.get('dep')!r}, expected {index}")
            if index > 0:
                if encoding == "linked":
                    want = b64url(hashlib.sha256(previous.encode("ascii")).digest())
                    if "obo" in claims or claims.get("prv") != want:
                        raise Invalid("prv is not SHA-256 of the previous token")
                elif "prv" in claims or claims.get("obo") != previous:
                    raise Invalid("obo does not hold the previous token")
            elif "prv" in claims or "obo" in claims:
                raise Invalid("the root token has a predecessor")
            print(f"token {index}: ok alg={alg} dep={claims['dep']} "
                  f"iss={claims['iss']}")
            previous = token
    except Invalid as error:
        print(f"chain_verify.py: token {index}: {error}", file=sys.stderr)
        return 1
    print(f"chain ok: {len(tokens)} tokens, {encoding}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
