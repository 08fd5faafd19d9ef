// A test OpenID Connect provider for aztp's relying party: the npm package
// `oidc-provider` (authorization-code flow only, PKCE S256 required for
// every client) with fixed accounts, real login and consent pages, and
// test-only switches that break its ID tokens on purpose. It listens on
// 127.0.0.1 only. See tests/oidc/README.md.
//
//   node idp.mjs [--port N] [--cert FILE --key FILE] [--issuer URL]
//                [--jwks FILE] [--clients FILE] [--tamper MODE] [--test-sign]
//
//   --port N         TCP port on 127.0.0.1 (default 0: a free one)
//   --cert, --key    PEM certificate chain and private key: serve HTTPS.
//                    Without them: plain HTTP (loopback only)
//   --issuer URL     issuer identifier (default https://127.0.0.1:<port>, or
//                    http://...). The endpoints in discovery stay on the
//                    address actually served, so a second provider can
//                    claim another provider's issuer from its own URL
//   --jwks FILE      private JWKS ({"keys": [...]}) of the signing keys
//                    (make_jwks.mjs makes one); the first key is the current
//                    one. Default: one new RS256 key
//   --clients FILE   JSON array of client metadata (see README.md), e.g.
//                    [{"client_id": "rp", "client_secret": "s3cret",
//                      "redirect_uris": ["https://127.0.0.1:8443/cb"],
//                      "token_endpoint_auth_method": "client_secret_basic"}]
//                    Missing grant_types, response_types,
//                    token_endpoint_auth_method and
//                    id_token_signed_response_alg default to
//                    ["authorization_code"], ["code"], client_secret_basic
//                    and the current key's algorithm
//   --tamper MODE    replace the id_token of every successful token response
//                    by a broken one (the rest of the response stays real):
//                      expired           exp and iat an hour or two in the
//                                        past, re-signed with the real key
//                      wrong-aud         aud "someone-else", re-signed
//                      wrong-nonce       another nonce, re-signed
//                      wrong-iss         iss "https://wrong-issuer.example",
//                                        re-signed
//                      alg-none          header {"alg":"none"}, payload
//                                        unchanged, empty signature
//                      hs256-public-key  header {"alg":"HS256","kid":<kid>},
//                                        HMAC-SHA256 keyed with the bytes of
//                                        the signing key's public key as an
//                                        SPKI PEM (with its final newline)
//                      unknown-kid       signed with a new key of the same
//                                        algorithm whose kid is not in the
//                                        JWKS
//   --test-sign      enable POST /test/sign (below)
//
// Accounts (fixed): alice / alice-password and bob / bob-password.
//
// POST /test/sign (only with --test-sign): the body is JSON, either a claims
// object, signed as it is (nothing added: give iss, aud, exp, ... yourself),
//     {"iss": "...", "sub": "alice", "aud": "...", "exp": 1900000000}
// or a wrapper with exactly the members "payload" (the claims object) and
// optionally "header" (members added to the protected header),
//     {"header": {"typ": "JWT"}, "payload": {"sub": "alice"}}
// The answer (200, Content-Type application/jwt) is a compact JWS signed
// with the current key, header {"alg": <its alg>, "kid": <its kid>, ...};
// the header may change kid or add members but not alg. A wrapper may also
// name "tamper": one of the --tamper modes, applied to the signed token
// (so that a relying party's test breaks a token of this issuer in that
// way without a browser). Bad input: 400.
//
// Once listening, prints one line to stdout and nothing else ever:
//     {"ready":true,"issuer":"https://127.0.0.1:PORT","port":PORT}
// Diagnostics go to stderr; tokens, codes, passwords and keys are never
// logged. SIGTERM and SIGINT stop it (exit 0). Exit status 2: usage error;
// 1: it could not start.
import { createHash, createHmac, createPublicKey, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { USAGE, failer, loadJose, loadOidcProvider } from './modules.mjs';

const fail = failer('idp.mjs');
const log = (message) => process.stderr.write(`idp.mjs: ${message}\n`);

// oidc-provider prints notices with console.info (stdout); stdout carries
// only the ready line, so everything the console prints goes to stderr.
for (const method of ['log', 'info', 'debug']) {
  console[method] = (...args) => console.error(...args);
}

const TAMPER_MODES = ['expired', 'wrong-aud', 'wrong-nonce', 'wrong-iss', 'alg-none',
  'hs256-public-key', 'unknown-kid'];

// ---------------------------------------------------------------- options

function parseArgs(argv) {
  const options = { port: 0, testSign: false };
  const valued = {
    '--port': 'port', '--cert': 'cert', '--key': 'key', '--issuer': 'issuer',
    '--jwks': 'jwks', '--clients': 'clients', '--tamper': 'tamper',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--test-sign') {
      options.testSign = true;
    } else if (arg in valued) {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`, USAGE);
      options[valued[arg]] = argv[++i];
    } else {
      fail(`unknown argument ${arg} (see the top of idp.mjs)`, USAGE);
    }
  }
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('--port must be 0..65535', USAGE);
  options.port = port;
  if (!options.cert !== !options.key) fail('--cert and --key go together', USAGE);
  if (options.tamper !== undefined && !TAMPER_MODES.includes(options.tamper)) {
    fail(`--tamper must be one of ${TAMPER_MODES.join(', ')}`, USAGE);
  }
  if (options.issuer !== undefined) {
    let url;
    try {
      url = new URL(options.issuer);
    } catch {
      fail('--issuer must be an absolute URL', USAGE);
    }
    if (!['http:', 'https:'].includes(url.protocol) || url.search || url.hash) {
      fail('--issuer must be an http(s) URL without query or fragment', USAGE);
    }
  }
  return options;
}

function readJson(path, what) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return fail(`cannot read ${what} from ${path}: ${error.message}`, USAGE);
  }
}

const options = parseArgs(process.argv.slice(2));
const jose = await loadJose(fail);
const { Provider, errors } = await loadOidcProvider(fail);

// ---------------------------------------------------------------- keys

// The JWS algorithm a key signs with when its JWK names none.
function defaultAlg(jwk) {
  if (jwk.alg) return jwk.alg;
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-384') return 'ES384';
  if (jwk.kty === 'EC' && jwk.crv === 'P-521') return 'ES512';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  return fail(`cannot tell the algorithm of key ${jwk.kid}`, USAGE);
}

async function loadKeys() {
  let jwks;
  if (options.jwks) {
    jwks = readJson(options.jwks, 'a JWKS');
    if (!Array.isArray(jwks?.keys) || jwks.keys.length === 0) {
      fail(`${options.jwks} is not a JWKS with at least one key`, USAGE);
    }
    for (const jwk of jwks.keys) {
      if (typeof jwk.kid !== 'string' || !jwk.kid) fail('every key of --jwks needs a kid', USAGE);
      if (!jwk.d && !jwk.priv) fail(`key ${jwk.kid} of --jwks is not a private key`, USAGE);
      delete jwk.ext;
    }
  } else {
    const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
    const jwk = await jose.exportJWK(privateKey);
    delete jwk.ext;
    delete jwk.key_ops;
    jwks = { keys: [{ ...jwk, kid: `k-${randomBytes(8).toString('hex')}`, alg: 'RS256', use: 'sig' }] };
  }
  return jwks;
}

const jwks = await loadKeys();
const currentKey = jwks.keys[0];
const currentAlg = defaultAlg(currentKey);

function privateJwk(kid) {
  return jwks.keys.find((key) => key.kid === kid) ?? currentKey;
}

// ---------------------------------------------------------------- accounts

const ACCOUNTS = new Map([
  ['alice', {
    password: 'alice-password',
    acr: 'urn:aztp:acr:mfa',
    amr: ['pwd', 'otp'],
    claims: {
      sub: 'alice',
      email: 'alice@example.com',
      email_verified: true,
      name: 'Alice Example',
      groups: ['finance', 'staff'],
    },
  }],
  ['bob', {
    password: 'bob-password',
    acr: 'urn:aztp:acr:pwd',
    amr: ['pwd'],
    claims: {
      sub: 'bob',
      email: 'bob@example.com',
      email_verified: false,
      name: 'Bob Example',
      groups: ['engineering'],
    },
  }],
]);

const digest = (text) => createHash('sha256').update(String(text), 'utf8').digest();

// authenticate returns the account for a login and password, or undefined.
function authenticate(login, password) {
  const account = ACCOUNTS.get(login);
  const expected = account ? account.password : 'no such account';
  const matches = timingSafeEqual(digest(password), digest(expected));
  return account && matches ? account : undefined;
}

// ---------------------------------------------------------------- clients

function loadClients() {
  if (!options.clients) return [];
  const clients = readJson(options.clients, 'clients');
  if (!Array.isArray(clients)) fail('--clients must hold a JSON array', USAGE);
  return clients;
}

// ---------------------------------------------------------------- HTML

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

function loginPage(uid, clientId, { login = '', error } = {}) {
  const base = `/interaction/${encodeURIComponent(uid)}`;
  return page('Sign in', `<p>Sign in to continue to <code>${escapeHtml(clientId)}</code>.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>\n` : ''}<form method="post" action="${base}/login" autocomplete="off">
<label>Login <input type="text" name="login" value="${escapeHtml(login)}" required autofocus></label>
<label>Password <input type="password" name="password" required></label>
<button type="submit">Sign in</button>
</form>`);
}

function consentPage(uid, clientId, account, scopes, claims) {
  const base = `/interaction/${encodeURIComponent(uid)}`;
  const items = (list) => list.map((item) => `<li><code>${escapeHtml(item)}</code></li>`).join('\n');
  return page('Allow access', `<p><code>${escapeHtml(clientId)}</code> asks to know, about <code>${escapeHtml(account)}</code>:</p>
${scopes.length ? `<p>Scopes:</p>\n<ul>\n${items(scopes)}\n</ul>\n` : ''}${claims.length ? `<p>Claims:</p>\n<ul>\n${items(claims)}\n</ul>\n` : ''}<form method="post" action="${base}/confirm">
<button type="submit">Allow</button>
</form>
<form method="post" action="${base}/abort">
<button type="submit">Deny</button>
</form>`);
}

// ---------------------------------------------------------------- JWS

const b64url = (data) => Buffer.from(data).toString('base64url');
const epoch = () => Math.floor(Date.now() / 1000);

async function signJws(header, payload, jwk) {
  const key = await jose.importJWK(jwk, header.alg);
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header)
    .sign(key);
}

function decodePart(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

// tamperIdToken returns the ID token broken in the way of options.tamper.
async function tamperIdToken(idToken, issuer, mode = options.tamper) {
  const [headerPart, payloadPart] = idToken.split('.');
  const header = decodePart(headerPart);
  const payload = decodePart(payloadPart);
  const realKey = privateJwk(header.kid);
  const now = epoch();
  switch (mode) {
    case 'expired':
      payload.iat = now - 7200;
      payload.exp = now - 3600;
      return signJws(header, payload, realKey);
    case 'wrong-aud':
      payload.aud = 'someone-else';
      return signJws(header, payload, realKey);
    case 'wrong-nonce':
      payload.nonce = `not-the-nonce-${randomBytes(8).toString('hex')}`;
      return signJws(header, payload, realKey);
    case 'wrong-iss':
      payload.iss = issuer === 'https://wrong-issuer.example' ? 'https://other-issuer.example'
        : 'https://wrong-issuer.example';
      return signJws(header, payload, realKey);
    case 'alg-none':
      return `${b64url(JSON.stringify({ alg: 'none' }))}.${payloadPart}.`;
    case 'hs256-public-key': {
      const { d, p, q, dp, dq, qi, ...publicJwk } = realKey;
      const pem = createPublicKey({ key: publicJwk, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' });
      const signingInput = `${b64url(JSON.stringify({ alg: 'HS256', kid: header.kid }))}.${b64url(JSON.stringify(payload))}`;
      const mac = createHmac('sha256', Buffer.from(pem, 'utf8')).update(signingInput).digest();
      return `${signingInput}.${b64url(mac)}`;
    }
    case 'unknown-kid': {
      const { privateKey } = await jose.generateKeyPair(header.alg, { extractable: true });
      const kid = `unknown-${randomBytes(8).toString('hex')}`;
      return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
        .setProtectedHeader({ ...header, kid })
        .sign(privateKey);
    }
    default:
      throw new Error('unreachable');
  }
}

// ---------------------------------------------------------------- requests

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function readBody(req, limit) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readForm(ctx) {
  const type = ctx.get('content-type').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new HttpError(415, 'expected an application/x-www-form-urlencoded form');
  }
  return new URLSearchParams(await readBody(ctx.req, 16 * 1024));
}

function sendHtml(ctx, status, html) {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Content-Security-Policy', "default-src 'none'; form-action 'self'");
  ctx.body = html;
}

// ---------------------------------------------------------------- serve

// Bind first: the issuer names the port actually bound.
let handler = (req, res) => {
  res.statusCode = 503;
  res.end('starting\n');
};
const dispatch = (req, res) => handler(req, res);
let server;
if (options.cert) {
  let tls;
  try {
    tls = { cert: readFileSync(options.cert), key: readFileSync(options.key) };
  } catch (error) {
    fail(`cannot read --cert or --key: ${error.message}`, USAGE);
  }
  server = https.createServer(tls, dispatch);
} else {
  server = http.createServer(dispatch);
}
await new Promise((resolve) => {
  server.once('error', (error) => fail(`cannot listen on 127.0.0.1:${options.port}: ${error.message}`, 1));
  server.listen(options.port, '127.0.0.1', resolve);
});
const { port } = server.address();
const scheme = options.cert ? 'https' : 'http';
const issuer = options.issuer ?? `${scheme}://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: loadClients(),
  jwks,
  async findAccount(ctx, sub) {
    const account = ACCOUNTS.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return structuredClone(account.claims);
      },
    };
  },
  scopes: ['openid'],
  // Claims per scope: the openid scope carries acr, amr and auth_time too,
  // so they are in every ID token (oidc-provider puts acr only when
  // acr_values is asked for, auth_time only with max_age or prompt=login,
  // and amr only when the claims parameter asks for it).
  claims: {
    openid: ['sub', 'acr', 'amr', 'auth_time'],
    email: ['email', 'email_verified'],
    profile: ['name', 'family_name', 'given_name', 'preferred_username'],
    groups: ['groups'],
    acr: null,
    amr: null,
    auth_time: null,
    sid: null,
    iss: null,
  },
  acrValues: ['urn:aztp:acr:mfa', 'urn:aztp:acr:pwd'],
  // The claims of the granted scopes go into the ID token, not only to the
  // userinfo endpoint.
  conformIdTokenClaims: false,
  responseTypes: ['code'],
  clientAuthMethods: ['client_secret_basic', 'private_key_jwt'],
  clientDefaults: {
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: currentAlg,
  },
  allowOmittingSingleRegisteredRedirectUri: false,
  // Seconds. Set here so that oidc-provider does not warn about defaults.
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    Grant: 3600,
    IdToken: 600,
    Interaction: 600,
    Session: 3600,
  },
  pkce: { required: () => true },
  cookies: {
    keys: [randomBytes(32).toString('base64url')],
    long: { signed: true, httpOnly: true, sameSite: 'lax' },
    short: { signed: true, httpOnly: true, sameSite: 'lax' },
  },
  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  features: {
    devInteractions: { enabled: false },
  },
});

// interactionFor loads the interaction of the request's cookie and checks
// it is the one of the URL.
async function interactionFor(ctx, uid) {
  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch (error) {
    if (error instanceof errors.SessionNotFound) {
      throw new HttpError(400, 'this sign-in is unknown or has expired; start again');
    }
    throw error;
  }
  if (details.uid !== uid) throw new HttpError(400, 'this sign-in does not match your session');
  return details;
}

function finish(ctx, result, mergeWithLastSubmission) {
  ctx.respond = false;
  return provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission });
}

async function interactionRoute(ctx, uid, action) {
  const details = await interactionFor(ctx, uid);
  const { prompt, params, session } = details;
  const clientId = params.client_id;

  if (ctx.method === 'GET' && action === undefined) {
    if (prompt.name === 'login') return sendHtml(ctx, 200, loginPage(uid, clientId));
    if (prompt.name === 'consent') {
      return sendHtml(ctx, 200, consentPage(uid, clientId, session.accountId,
        prompt.details.missingOIDCScope ?? [], prompt.details.missingOIDCClaims ?? []));
    }
    throw new HttpError(400, `unsupported prompt ${prompt.name}`);
  }
  if (ctx.method !== 'POST' || action === undefined) throw new HttpError(405, 'method not allowed');

  if (action === 'login') {
    if (prompt.name !== 'login') throw new HttpError(400, 'no sign-in is expected now');
    const form = await readForm(ctx);
    const login = form.get('login') ?? '';
    const account = authenticate(login, form.get('password') ?? '');
    if (!account) {
      log('login failed');
      return sendHtml(ctx, 200, loginPage(uid, clientId, { login, error: 'Wrong login or password.' }));
    }
    log(`login of ${account.claims.sub}`);
    return finish(ctx, {
      login: { accountId: account.claims.sub, acr: account.acr, amr: account.amr, remember: true },
    }, false);
  }

  if (action === 'confirm') {
    if (prompt.name !== 'consent') throw new HttpError(400, 'no consent is expected now');
    await readBody(ctx.req, 16 * 1024);
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId });
    if (!grant) throw new HttpError(400, 'grant not found');
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    if (missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    log(`consent of ${session.accountId} for ${clientId}`);
    return finish(ctx, { consent: details.grantId ? {} : { grantId } }, true);
  }

  if (action === 'abort') {
    await readBody(ctx.req, 16 * 1024);
    log(`consent denied by ${session.accountId ?? 'an unknown user'} for ${clientId}`);
    return finish(ctx, {
      error: 'access_denied',
      error_description: 'End-User denied the request',
    }, false);
  }
  throw new HttpError(404, 'not found');
}

async function testSignRoute(ctx) {
  if (ctx.method !== 'POST') throw new HttpError(405, 'method not allowed');
  let body;
  try {
    body = JSON.parse(await readBody(ctx.req, 64 * 1024));
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, 'the body must be JSON');
  }
  const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!isObject(body)) throw new HttpError(400, 'the body must be a JSON object');
  let payload = body;
  let extraHeader = {};
  let tamper;
  const keys = Object.keys(body);
  const wrapper = ['payload', 'header', 'tamper'];
  if (keys.includes('payload') && keys.every((key) => wrapper.includes(key))) {
    payload = body.payload;
    extraHeader = body.header ?? {};
    tamper = body.tamper;
    if (!isObject(payload) || !isObject(extraHeader)) {
      throw new HttpError(400, '"payload" and "header" must be JSON objects');
    }
    if (tamper !== undefined && !TAMPER_MODES.includes(tamper)) {
      throw new HttpError(400, `"tamper" must be one of ${TAMPER_MODES.join(', ')}`);
    }
  }
  if ('alg' in extraHeader && extraHeader.alg !== currentAlg) {
    throw new HttpError(400, `the current key signs with ${currentAlg} only`);
  }
  const header = { alg: currentAlg, kid: currentKey.kid, ...extraHeader };
  ctx.status = 200;
  ctx.type = 'application/jwt';
  ctx.set('Cache-Control', 'no-store');
  const signed = await signJws(header, payload, currentKey);
  ctx.body = tamper === undefined ? signed : await tamperIdToken(signed, issuer, tamper);
}

provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([^/]+)(?:\/(login|confirm|abort))?$/.exec(ctx.path);
  try {
    if (match) return await interactionRoute(ctx, match[1], match[2]);
    if (ctx.path === '/test/sign' && options.testSign) return await testSignRoute(ctx);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    ctx.respond = true;
    ctx.status = error.status;
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = `${error.message}\n`;
    return undefined;
  }

  await next();

  if (options.tamper && ctx.oidc?.route === 'token' && ctx.status === 200
      && typeof ctx.body?.id_token === 'string') {
    ctx.body = { ...ctx.body, id_token: await tamperIdToken(ctx.body.id_token, issuer) };
    log(`token response: id_token replaced (${options.tamper})`);
  }
  return undefined;
});

provider.on('server_error', (ctx, error) => log(`server error: ${error.message}`));

// oidc-provider checks a client's metadata when it is first used; check them
// all now, so that a bad --clients file stops it before it is ready.
for (const { client_id: clientId } of loadClients()) {
  try {
    if (!await provider.Client.find(String(clientId))) fail(`client ${clientId} is not usable`, USAGE);
  } catch (error) {
    fail(`client ${clientId}: ${error.error_description ?? error.message}`, USAGE);
  }
}

handler = provider.callback();

function stop(signal) {
  log(`stopping on ${signal}`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

process.stdout.write(`${JSON.stringify({ ready: true, issuer, port })}\n`);
log(`listening on ${scheme}://127.0.0.1:${port} as ${issuer}`
  + `${options.tamper ? `, tampering ID tokens (${options.tamper})` : ''}`
  + `${options.testSign ? ', POST /test/sign enabled' : ''}`);
