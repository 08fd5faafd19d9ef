// The node side of tests/interop/oidc_idp_test.sh: the relying party's part
// of the authorization-code flow against tests/oidc/idp.mjs, and checks of
// what the IdP answers with the independent node `jose` package (loaded
// from $AZTP_NODE_PATH; ESM ignores NODE_PATH).
//
//   node oidc_idp.mjs discovery DISCOVERY ISSUER
//       The discovery document names ISSUER, PKCE S256 only, the code flow
//       only, the scopes openid, email, profile and groups, and endpoints
//       of ISSUER's scheme.
//   node oidc_idp.mjs authorize DISCOVERY CLIENT_ID REDIRECT_URI DIR [--no-pkce]
//       Prints an authorization URL (response_type=code, scope "openid email
//       profile groups", random state and nonce, PKCE S256) for the
//       authorization_endpoint of the DISCOVERY file; writes DIR/state,
//       DIR/nonce, DIR/verifier, and DIR/token_endpoint and DIR/jwks_uri
//       from DISCOVERY. --no-pkce leaves out code_challenge.
//   node oidc_idp.mjs callback LOGIN_JSON REDIRECT_URI DIR ISSUER
//       LOGIN_JSON is login.mjs's output: the Location must be REDIRECT_URI
//       with the state of DIR/state, iss ISSUER and a code; prints the code.
//   node oidc_idp.mjs callback-error LOGIN_JSON REDIRECT_URI DIR ERROR
//       The Location must be REDIRECT_URI with error=ERROR, DIR's state and
//       no code.
//   node oidc_idp.mjs id-token JWKS TOKEN_RESPONSE ISSUER CLIENT_ID DIR USER
//       The token response is a Bearer response with an access_token; its
//       id_token verifies against JWKS (jose, algorithm and key from the
//       JWKS) with iss ISSUER, aud CLIENT_ID, DIR's nonce, sub USER and the
//       claims of USER's account (email, email_verified, name, groups, acr,
//       amr, auth_time). Prints the decoded payload (never the token).
//   node oidc_idp.mjs tampered MODE JWKS TOKEN_RESPONSE ISSUER CLIENT_ID DIR USER
//       The id_token of TOKEN_RESPONSE has exactly the defect of idp.mjs
//       --tamper MODE, everything else is real, and jose rejects it.
//   node oidc_idp.mjs jws JWKS JWS_FILE CLAIMS_JSON [HEADER_JSON]
//       The compact JWS verifies against JWKS, its payload is exactly
//       CLAIMS_JSON and its header has the members of HEADER_JSON.
//   node oidc_idp.mjs kids JWKS
//       Prints the kids of a JWKS, one per line; fails if it holds a
//       private key.
//   node oidc_idp.mjs public PRIVATE_JWKS
//       Prints the public JWKS of a private one.
//   node oidc_idp.mjs assertion PRIVATE_JWKS CLIENT_ID AUDIENCE
//       Prints a private_key_jwt client assertion (RFC 7523) signed with the
//       first key.
//
// Exit 0 when the check passes, 1 (with the reason on stderr) when it
// fails, 2 on a usage or setup error.
import { createHmac, createPublicKey, createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { INVALID, USAGE, failer, loadJose } from './load_jose.mjs';

const fail = failer('oidc_idp.mjs');
// jose is loaded only by the commands that use it (it costs a tenth of a
// second at each start).
const JOSE_COMMANDS = new Set(['id-token', 'tampered', 'jws', 'assertion']);
const jose = JOSE_COMMANDS.has(process.argv[2]) ? await loadJose(fail) : undefined;

class Invalid extends Error {}

function check(condition, message) {
  if (!condition) throw new Invalid(message);
}

const read = (path) => readFileSync(path, 'utf8');
const readJson = (path) => JSON.parse(read(path));
const b64url = (bytes) => Buffer.from(bytes).toString('base64url');
const decodePart = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
const now = () => Math.floor(Date.now() / 1000);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const ACCOUNTS = {
  alice: {
    email: 'alice@example.com',
    email_verified: true,
    name: 'Alice Example',
    groups: ['finance', 'staff'],
    acr: 'urn:aztp:acr:mfa',
    amr: ['pwd', 'otp'],
  },
  bob: {
    email: 'bob@example.com',
    email_verified: false,
    name: 'Bob Example',
    groups: ['engineering'],
    acr: 'urn:aztp:acr:pwd',
    amr: ['pwd'],
  },
};

function discovery(path, issuer) {
  const doc = readJson(path);
  check(doc.issuer === issuer, `issuer ${doc.issuer}`);
  check(same(doc.code_challenge_methods_supported, ['S256']),
    `code_challenge_methods_supported ${JSON.stringify(doc.code_challenge_methods_supported)}`);
  check(same(doc.response_types_supported, ['code']), 'response_types_supported');
  check(same(doc.grant_types_supported, ['authorization_code']), 'grant_types_supported');
  check(same([...doc.scopes_supported].sort(), ['email', 'groups', 'openid', 'profile']),
    `scopes_supported ${JSON.stringify(doc.scopes_supported)}`);
  const { protocol } = new URL(issuer);
  for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
    check(typeof doc[endpoint] === 'string' && new URL(doc[endpoint]).protocol === protocol,
      `${endpoint} is not ${protocol}`);
  }
}

function authorize(discoveryPath, clientId, redirectUri, dir, ...rest) {
  const noPkce = rest.includes('--no-pkce');
  const discovery = readJson(discoveryPath);
  const endpoint = discovery.authorization_endpoint;
  writeFileSync(join(dir, 'token_endpoint'), discovery.token_endpoint);
  writeFileSync(join(dir, 'jwks_uri'), discovery.jwks_uri);
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const verifier = b64url(randomBytes(32));
  writeFileSync(join(dir, 'state'), state);
  writeFileSync(join(dir, 'nonce'), nonce);
  writeFileSync(join(dir, 'verifier'), verifier, { mode: 0o600 });
  const url = new URL(endpoint);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', 'openid email profile groups');
  url.searchParams.set('state', state);
  url.searchParams.set('nonce', nonce);
  if (!noPkce) {
    url.searchParams.set('code_challenge', b64url(createHash('sha256').update(verifier).digest()));
    url.searchParams.set('code_challenge_method', 'S256');
  }
  process.stdout.write(`${url.href}\n`);
}

function callbackUrl(loginJson, redirectUri, dir) {
  const result = readJson(loginJson);
  check(typeof result.location === 'string', `login.mjs gave no location: ${JSON.stringify(result)}`);
  check([302, 303].includes(result.status), `redirect status ${result.status}`);
  const location = new URL(result.location);
  check(`${location.origin}${location.pathname}` === redirectUri,
    `redirect goes to ${location.origin}${location.pathname}, not ${redirectUri}`);
  check(location.searchParams.get('state') === read(join(dir, 'state')), 'state differs');
  return location;
}

function callback(loginJson, redirectUri, dir, issuer) {
  const location = callbackUrl(loginJson, redirectUri, dir);
  check(!location.searchParams.has('error'), `error ${location.searchParams.get('error')}`);
  check(location.searchParams.get('iss') === issuer, 'iss parameter (RFC 9207) differs');
  const code = location.searchParams.get('code');
  check(code, 'no code');
  process.stdout.write(`${code}\n`);
}

function callbackError(loginJson, redirectUri, dir, error) {
  const location = callbackUrl(loginJson, redirectUri, dir);
  check(location.searchParams.get('error') === error,
    `error ${location.searchParams.get('error')}, expected ${error}`);
  check(!location.searchParams.has('code'), 'a code came with the error');
}

function tokenResponse(path) {
  const response = readJson(path);
  check(typeof response.access_token === 'string' && response.access_token, 'no access_token');
  check(response.token_type === 'Bearer', `token_type ${response.token_type}`);
  check(Number.isInteger(response.expires_in) && response.expires_in > 0, 'no expires_in');
  check(typeof response.id_token === 'string', 'no id_token');
  return response;
}

function expectClaims(payload, { issuer, clientId, nonce, user }) {
  check(payload.iss === issuer, `iss ${payload.iss}`);
  check(payload.aud === clientId, `aud ${JSON.stringify(payload.aud)}`);
  check(payload.nonce === nonce, 'nonce differs');
  check(payload.sub === user, `sub ${payload.sub}`);
  for (const [claim, value] of Object.entries(ACCOUNTS[user])) {
    check(same(payload[claim], value), `${claim} is ${JSON.stringify(payload[claim])}, expected ${JSON.stringify(value)}`);
  }
  check(Number.isInteger(payload.auth_time) && Math.abs(payload.auth_time - now()) < 300, 'auth_time missing or off');
  check(Number.isInteger(payload.iat) && Math.abs(payload.iat - now()) < 300, 'iat missing or off');
}

async function verifyIdToken(jwksPath, idToken, issuer, clientId, nonce) {
  const keys = jose.createLocalJWKSet(readJson(jwksPath));
  const { payload } = await jose.jwtVerify(idToken, keys, { issuer, audience: clientId });
  check(payload.nonce === nonce, 'nonce differs');
  return payload;
}

async function idToken(jwksPath, responsePath, issuer, clientId, dir, user) {
  const response = tokenResponse(responsePath);
  const nonce = read(join(dir, 'nonce'));
  const payload = await verifyIdToken(jwksPath, response.id_token, issuer, clientId, nonce);
  const header = decodePart(response.id_token.split('.')[0]);
  const kids = readJson(jwksPath).keys.map((key) => key.kid);
  check(kids.includes(header.kid), `kid ${header.kid} is not in the JWKS`);
  check(payload.exp > now() && payload.exp - payload.iat <= 3600, 'exp off');
  expectClaims(payload, { issuer, clientId, nonce, user });
  // The payload is printed with the nonce and times as they are; no token.
  process.stdout.write(`${JSON.stringify({ header, payload })}\n`);
}

function publicPem(jwk) {
  const { d, p, q, dp, dq, qi, ...pub } = jwk;
  return createPublicKey({ key: pub, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
}

// signedBy tells whether the JWS verifies with `jwk` under the header's alg
// (signature only, no claim checks).
async function signedBy(token, jwk) {
  try {
    const { alg } = decodePart(token.split('.')[0]);
    await jose.compactVerify(token, await jose.importJWK(jwk, alg));
    return true;
  } catch {
    return false;
  }
}

async function tampered(mode, jwksPath, responsePath, issuer, clientId, dir, user) {
  const response = tokenResponse(responsePath);
  const token = response.id_token;
  const nonce = read(join(dir, 'nonce'));
  const jwks = readJson(jwksPath);
  const parts = token.split('.');
  check(parts.length === 3, 'the id_token is not a compact JWS');
  const header = decodePart(parts[0]);
  const payload = decodePart(parts[1]);
  const real = jwks.keys.find((key) => key.kid === header.kid);
  const expected = { issuer, clientId, nonce, user };

  // Whatever the mode, a relying party's checks must refuse it.
  let accepted = false;
  try {
    await verifyIdToken(jwksPath, token, issuer, clientId, nonce);
    accepted = true;
  } catch {
    // refused: by jose (signature, alg, iss, aud, exp) or for the nonce
  }
  check(!accepted, 'the tampered id_token passes the checks');
  if (mode !== 'wrong-nonce') check(payload.nonce === nonce, 'nonce differs');

  const validExp = () => check(payload.exp > now(), 'exp is in the past');
  const realSignature = async () => {
    check(real, `kid ${header.kid} is not in the JWKS`);
    check(await signedBy(token, real), 'not signed by the real key');
  };
  switch (mode) {
    case 'expired':
      await realSignature();
      check(payload.exp < now() && payload.iat < payload.exp, `exp ${payload.exp} is not in the past`);
      expectClaims({ ...payload, iat: now() }, expected);
      break;
    case 'wrong-aud':
      await realSignature();
      validExp();
      check(payload.aud === 'someone-else', `aud ${JSON.stringify(payload.aud)}`);
      expectClaims({ ...payload, aud: clientId }, expected);
      break;
    case 'wrong-nonce':
      await realSignature();
      validExp();
      check(typeof payload.nonce === 'string' && payload.nonce !== nonce, 'nonce unchanged');
      expectClaims({ ...payload, nonce }, expected);
      break;
    case 'wrong-iss':
      await realSignature();
      validExp();
      check(typeof payload.iss === 'string' && payload.iss !== issuer, 'iss unchanged');
      expectClaims({ ...payload, iss: issuer }, expected);
      break;
    case 'alg-none':
      check(same(header, { alg: 'none' }), `header ${JSON.stringify(header)}`);
      check(parts[2] === '', 'the signature is not empty');
      validExp();
      expectClaims(payload, expected);
      break;
    case 'hs256-public-key': {
      check(header.alg === 'HS256', `alg ${header.alg}`);
      check(real, `kid ${header.kid} is not in the JWKS`);
      const mac = createHmac('sha256', Buffer.from(publicPem(real), 'utf8'))
        .update(`${parts[0]}.${parts[1]}`).digest();
      check(b64url(mac) === parts[2], 'not an HMAC keyed with the public key PEM');
      validExp();
      expectClaims(payload, expected);
      break;
    }
    case 'unknown-kid': {
      check(typeof header.kid === 'string' && !real, `kid ${header.kid} is in the JWKS`);
      const algs = jwks.keys.map((key) => key.alg);
      check(algs.includes(header.alg), `alg ${header.alg} is not the real one`);
      for (const key of jwks.keys) {
        check(!(await signedBy(token, { ...key, kid: header.kid })), 'signed by a key of the JWKS');
      }
      check(parts[2].length > 0, 'no signature');
      validExp();
      expectClaims(payload, expected);
      break;
    }
    default:
      fail(`unknown mode ${mode}`, USAGE);
  }
}

async function jws(jwksPath, jwsPath, claimsJson, headerJson = '{}') {
  const token = read(jwsPath).trim();
  const { payload, protectedHeader } = await jose.compactVerify(
    token, jose.createLocalJWKSet(readJson(jwksPath)));
  check(same(JSON.parse(Buffer.from(payload).toString('utf8')), JSON.parse(claimsJson)),
    'the payload is not the claims sent');
  for (const [member, value] of Object.entries(JSON.parse(headerJson))) {
    check(same(protectedHeader[member], value), `header ${member} is ${JSON.stringify(protectedHeader[member])}`);
  }
}

function kids(jwksPath) {
  const jwks = readJson(jwksPath);
  for (const key of jwks.keys) {
    check(!key.d && !key.p && !key.priv, `the JWKS publishes private key ${key.kid}`);
    process.stdout.write(`${key.kid}\n`);
  }
}

function publicJwks(path) {
  const keys = readJson(path).keys.map(({ d, p, q, dp, dq, qi, priv, ...pub }) => pub);
  process.stdout.write(`${JSON.stringify({ keys })}\n`);
}

async function assertion(path, clientId, audience) {
  const [jwk] = readJson(path).keys;
  const token = await new jose.SignJWT({})
    .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setJti(b64url(randomBytes(16)))
    .setIssuedAt()
    .setExpirationTime('2m')
    .sign(await jose.importJWK(jwk, jwk.alg));
  process.stdout.write(`${token}\n`);
}

const commands = {
  discovery: [discovery, 2],
  authorize: [authorize, 4],
  callback: [callback, 4],
  'callback-error': [callbackError, 4],
  'id-token': [idToken, 6],
  tampered: [tampered, 7],
  jws: [jws, 3],
  kids: [kids, 1],
  public: [publicJwks, 1],
  assertion: [assertion, 3],
};

const [command, ...args] = process.argv.slice(2);
if (!(command in commands) || args.length < commands[command][1]) {
  fail(`usage: see the top of oidc_idp.mjs (${command ?? 'no command'})`, USAGE);
}
try {
  await commands[command][0](...args);
} catch (error) {
  const reason = error instanceof Invalid ? error.message : `${error.code ?? error.name}: ${error.message}`;
  fail(reason, INVALID);
}
