// The node `jose` side of tests/interop/chain_interop_test.sh: hop-token
// chains checked and made by an implementation independent of aztp. `jose`
// is loaded from the node_modules folder named by $AZTP_NODE_PATH (ESM
// ignores NODE_PATH).
//
//   node chain_jose.mjs verify CHAIN_FILE
//       For every token of the chain (linked, or nested through `obo`),
//       root first: the header holds exactly alg, typ "aztp+jwt" and x5c;
//       the x5c leaf becomes a PEM certificate and its key is imported with
//       importX509 under the one algorithm that fits it (P-256 ES256, P-384
//       ES384, Ed25519 EdDSA); compactVerify accepts the token under that
//       algorithm only; iss is the leaf's URI SAN; dep is the index; prv is
//       base64url(SHA-256(previous token)) (linked) or obo is the previous
//       token (nested). Prints one line per token; exit 0 if all pass, 1 if
//       one fails.
//
//   node chain_jose.mjs sign [options] --hop SVID_DIR AUD CAPS [--hop ...]
//       Builds a chain with CompactSign, one token per --hop, root first.
//       SVID_DIR is an `aztp svid issue` folder: svid.key (PKCS#8 PEM) signs,
//       svid.pem (leaf first) becomes x5c and its URI SAN the iss. CAPS is a
//       comma-separated capability list. Prints the Aztp-Chain value.
//       Options:
//         --encoding linked|nested   (default linked)
//         --now UNIX                 iat of every token (default: now)
//         --ttl SECONDS              exp - iat (default 300)
//         --break KIND@HOP[=SVID_DIR]
//             break the profile in token HOP in one way (repeatable):
//               kid      add an unknown header member "kid"
//               typ      typ "JWT" instead of "aztp+jwt"
//               claim    add an unknown claim
//               alg      sign with the hop's own key under an algorithm
//                        name the profile does not allow for it
//                        ("Ed25519" for an Ed25519 key)
//               alg-key  sign with SVID_DIR's key, of another key type,
//                        under its algorithm, keeping the hop's x5c (the
//                        alg does not fit the leaf key)
//               key      sign with SVID_DIR's key, of the same key type,
//                        keeping the hop's x5c
//               no-prv   leave out prv (linked) or obo (nested)
//               widen    add a capability "admin:*" to cap
//               aud-array  aud as a one-element array
//
// Exit status 2 means a usage, file or setup error. Keys and tokens are never
// printed to stderr.
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INVALID, USAGE, failer, loadJose } from './load_jose.mjs';

const TYP = 'aztp+jwt';
const MAX_TOKENS = 16;

const fail = failer('chain_jose.mjs');

const jose = await loadJose(fail);

class Invalid extends Error {}

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');
const sha256 = (text) => createHash('sha256').update(text, 'ascii').digest();

// The algorithm that fits a certificate's key, or undefined.
function algorithmOf(cert) {
  const key = cert.publicKey;
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails.namedCurve;
    if (curve === 'prime256v1') return 'ES256';
    if (curve === 'secp384r1') return 'ES384';
  }
  return undefined;
}

// The URI SANs of a certificate.
function uriSans(cert) {
  return (cert.subjectAltName ?? '')
      .split(', ')
      .filter((name) => name.startsWith('URI:'))
      .map((name) => name.slice(4));
}

function pemOf(der) {
  const lines = der.toString('base64').match(/.{1,64}/g);
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n` +
         '-----END CERTIFICATE-----\n';
}

// ---- verify ----

function decodeJson(part, what) {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true })
                          .decode(jose.base64url.decode(part)));
  } catch {
    throw new Invalid(`${what} does not parse`);
  }
}

// Unwraps a nested chain through obo (payloads read unverified only to find
// the inner tokens; every token is verified afterwards).
function splitChain(value) {
  if (value.includes(',')) {
    const tokens = value.split(',');
    if (tokens.length > MAX_TOKENS) throw new Invalid('too many tokens');
    return { tokens, encoding: 'linked' };
  }
  const outerFirst = [value];
  for (;;) {
    if (outerFirst.length > MAX_TOKENS) throw new Invalid('too many tokens');
    const parts = outerFirst.at(-1).split('.');
    if (parts.length !== 3) throw new Invalid('not a compact JWS');
    const { obo } = decodeJson(parts[1], 'payload');
    if (obo === undefined) break;
    if (typeof obo !== 'string') throw new Invalid('obo is not a string');
    outerFirst.push(obo);
  }
  const tokens = outerFirst.reverse();
  return { tokens, encoding: tokens.length > 1 ? 'nested' : 'linked' };
}

async function checkToken(token) {
  let header;
  try {
    header = jose.decodeProtectedHeader(token);
  } catch {
    throw new Invalid('header does not parse');
  }
  const members = Object.keys(header).sort().join(',');
  if (members !== 'alg,typ,x5c') {
    throw new Invalid(`header members are ${members}, not alg,typ,x5c`);
  }
  if (header.typ !== TYP) throw new Invalid(`typ is not ${TYP}`);
  const x5c = header.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0 || typeof x5c[0] !== 'string') {
    throw new Invalid('x5c must be a non-empty array of strings');
  }
  let cert;
  const der = Buffer.from(x5c[0], 'base64');
  try {
    cert = new X509Certificate(der);
  } catch {
    throw new Invalid('x5c[0] is not a DER certificate');
  }
  const alg = algorithmOf(cert);
  if (!alg) throw new Invalid('unsupported leaf key type');
  const key = await jose.importX509(pemOf(der), alg);
  let payload;
  try {
    ({ payload } = await jose.compactVerify(token, key, { algorithms: [alg] }));
  } catch (error) {
    throw new Invalid(`compactVerify rejects it (${error.code ?? error.name})`);
  }
  const claims = JSON.parse(new TextDecoder().decode(payload));
  const sans = uriSans(cert);
  if (sans.length !== 1 || sans[0] !== claims.iss) {
    throw new Invalid('iss is not the URI SAN of the x5c leaf');
  }
  return { alg, claims };
}

async function verify(path) {
  let value;
  try {
    value = (await readFile(path, 'ascii')).trim();
  } catch {
    return fail(`cannot read ${path}`, USAGE);
  }
  let index = 0;
  try {
    const { tokens, encoding } = splitChain(value);
    for (; index < tokens.length; ++index) {
      const { alg, claims } = await checkToken(tokens[index]);
      if (claims.dep !== index) {
        throw new Invalid(`dep is ${claims.dep}, expected ${index}`);
      }
      if (index === 0) {
        if ('prv' in claims || 'obo' in claims) {
          throw new Invalid('the root token has a predecessor');
        }
      } else if (encoding === 'linked') {
        if ('obo' in claims ||
            claims.prv !== b64url(sha256(tokens[index - 1]))) {
          throw new Invalid('prv is not SHA-256 of the previous token');
        }
      } else if ('prv' in claims || claims.obo !== tokens[index - 1]) {
        throw new Invalid('obo does not hold the previous token');
      }
      process.stdout.write(
          `token ${index}: ok alg=${alg} dep=${claims.dep} iss=${claims.iss}\n`);
    }
    process.stdout.write(`chain ok: ${tokens.length} tokens, ${encoding}\n`);
  } catch (error) {
    if (!(error instanceof Invalid)) throw error;
    fail(`token ${index}: ${error.message}`, INVALID);
  }
}

// ---- sign ----

const BREAKS = ['kid', 'typ', 'claim', 'alg', 'alg-key', 'key', 'no-prv',
                'widen', 'aud-array'];

// Reads an identity folder: the x5c array, the iss, the key file text and
// the algorithm of the leaf key.
async function loadIdentity(dir) {
  let pem, keyPem;
  try {
    pem = await readFile(join(dir, 'svid.pem'), 'ascii');
    keyPem = await readFile(join(dir, 'svid.key'), 'ascii');
  } catch {
    return fail(`cannot read the identity in ${dir}`, USAGE);
  }
  const blocks = [...pem.matchAll(
      /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) fail(`no certificate in ${dir}/svid.pem`, USAGE);
  // Standard base64 of the DER, as RFC 7515 §4.1.6 wants.
  const x5c = blocks.map((m) => Buffer.from(m[1].replace(/\s+/g, ''),
                                            'base64').toString('base64'));
  const leaf = new X509Certificate(Buffer.from(x5c[0], 'base64'));
  const sans = uriSans(leaf);
  if (sans.length !== 1) fail(`${dir}: the leaf needs one URI SAN`, USAGE);
  const alg = algorithmOf(leaf);
  if (!alg) fail(`${dir}: unsupported key type`, USAGE);
  return { x5c, iss: sans[0], keyPem, alg };
}

function parseSignArgs(args) {
  const o = { encoding: 'linked', now: Math.floor(Date.now() / 1000),
              ttl: 300, hops: [], breaks: [] };
  const intArg = (text, name) => {
    if (!/^[0-9]+$/.test(text ?? '')) fail(`${name} needs an integer`, USAGE);
    return Number(text);
  };
  for (let i = 0; i < args.length; ++i) {
    const arg = args[i];
    if (arg === '--encoding') {
      o.encoding = args[++i];
      if (o.encoding !== 'linked' && o.encoding !== 'nested') {
        fail('--encoding must be linked or nested', USAGE);
      }
    } else if (arg === '--now') {
      o.now = intArg(args[++i], '--now');
    } else if (arg === '--ttl') {
      o.ttl = intArg(args[++i], '--ttl');
    } else if (arg === '--hop') {
      if (i + 3 >= args.length) fail('--hop needs SVID_DIR AUD CAPS', USAGE);
      o.hops.push({ dir: args[i + 1], aud: args[i + 2],
                    caps: args[i + 3].split(',').filter((c) => c) });
      i += 3;
    } else if (arg === '--break') {
      const m = /^([a-z-]+)@([0-9]+)(?:=(.+))?$/.exec(args[++i] ?? '');
      if (!m || !BREAKS.includes(m[1])) {
        fail(`--break takes KIND@HOP[=SVID_DIR], KIND one of ${BREAKS}`, USAGE);
      }
      const needsOther = m[1] === 'key' || m[1] === 'alg-key';
      if (needsOther !== (m[3] !== undefined)) {
        fail(`--break ${m[1]}: ${needsOther ? 'needs' : 'takes no'} =SVID_DIR`,
             USAGE);
      }
      o.breaks.push({ kind: m[1], hop: Number(m[2]), other: m[3] });
    } else {
      fail(`unknown argument ${arg}`, USAGE);
    }
  }
  if (o.hops.length === 0) fail('sign needs at least one --hop', USAGE);
  for (const b of o.breaks) {
    if (b.hop >= o.hops.length) fail(`--break: no hop ${b.hop}`, USAGE);
    if ((b.kind === 'no-prv' || b.kind === 'widen') && b.hop === 0) {
      fail(`--break ${b.kind} needs a non-root hop`, USAGE);
    }
  }
  return o;
}

async function sign(args) {
  const o = parseSignArgs(args);
  const root = await loadIdentity(o.hops[0].dir);
  const txn = b64url(randomBytes(16));
  const tokens = [];
  for (let i = 0; i < o.hops.length; ++i) {
    const hop = o.hops[i];
    const me = await loadIdentity(hop.dir);
    const broken = (kind) => o.breaks.find((b) => b.hop === i && b.kind === kind);

    const header = { alg: me.alg, typ: TYP, x5c: me.x5c };
    const claims = {
      iss: me.iss,
      sub: root.iss,
      aud: hop.aud,
      iat: o.now,
      exp: o.now + o.ttl,
      jti: b64url(randomBytes(16)),
      txn,
      dep: i,
      max: 15,
      cap: [...hop.caps],
    };
    if (i === 0) {
      claims.enc = o.encoding;
    } else if (!broken('no-prv')) {
      if (o.encoding === 'linked') {
        claims.prv = b64url(sha256(tokens[i - 1]));
      } else {
        claims.obo = tokens[i - 1];
      }
    }
    if (broken('kid')) header.kid = `hop-${i}`;
    if (broken('typ')) header.typ = 'JWT';
    if (broken('claim')) claims.scope = 'extra';
    if (broken('widen')) claims.cap.push('admin:*');
    if (broken('aud-array')) claims.aud = [hop.aud];

    let signer = me;
    if (broken('alg')) {
      if (me.alg !== 'EdDSA') fail('--break alg needs an Ed25519 hop', USAGE);
      signer = { ...me, alg: 'Ed25519' };
    }
    for (const kind of ['key', 'alg-key']) {
      const b = broken(kind);
      if (!b) continue;
      signer = await loadIdentity(b.other);
      if ((signer.alg === me.alg) !== (kind === 'key')) {
        fail(`--break ${kind}: the other key must be of ${
                 kind === 'key' ? 'the same' : 'another'} type`, USAGE);
      }
    }
    header.alg = signer.alg;

    const key = await jose.importPKCS8(signer.keyPem, signer.alg);
    const payload = new TextEncoder().encode(JSON.stringify(claims));
    tokens.push(await new jose.CompactSign(payload)
                    .setProtectedHeader(header)
                    .sign(key));
  }
  process.stdout.write(
      (o.encoding === 'linked' ? tokens.join(',') : tokens.at(-1)) + '\n');
}

const [command, ...args] = process.argv.slice(2);
try {
  if (command === 'verify' && args.length === 1) {
    await verify(args[0]);
  } else if (command === 'sign') {
    await sign(args);
  } else {
    fail('usage: chain_jose.mjs verify CHAIN_FILE | sign [options] --hop ...',
         USAGE);
  }
} catch (error) {
  fail(`${command}: ${error.code ?? error.name}`, USAGE);
}
