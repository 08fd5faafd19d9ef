// A scripted browser for idp.mjs: starts at an authorization URL made by the
// relying party under test, follows redirects, signs in with the login form
// and answers the consent form, and stops at the redirect back to the
// relying party.
//
//   node login.mjs --url AUTHORIZATION_URL --user LOGIN --password PASSWORD
//                  [--ca FILE] [--deny-consent] [--follow-until PREFIX]
//
//   --url           the authorization request (https or http)
//   --user, --password  what to type into the login form
//   --ca            PEM CA certificate(s) to trust for HTTPS (otherwise the
//                   system's); certificates are always checked
//   --deny-consent  press "Deny" on the consent page (the IdP then sends
//                   error=access_denied to the relying party)
//   --follow-until  stop at the first redirect whose Location (made absolute)
//                   starts with PREFIX; default: the first redirect off the
//                   IdP's origin (the origin of --url)
//
// Redirects are followed by hand with a cookie jar per host (Path, Secure,
// Max-Age and Expires honoured). Nothing but the IdP is contacted: the final
// Location is printed, not fetched.
//
// Prints one line of JSON to stdout:
//   {"location": "<absolute URL>", "status": <the redirect's status>}   exit 0
//   {"error": "login_failed"}   exit 3: the login form came back (wrong
//                               login or password)
//   {"error": "unexpected_response", "status": N, "url": "..."}   exit 1:
//                               anything else (an error page, a page that
//                               is neither form, too many redirects)
// Exit status 2: usage error. Passwords, codes and cookies are never printed
// to stderr.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const USAGE = 2;
const LOGIN_FAILED = 3;
const MAX_STEPS = 30;

function usage(message) {
  process.stderr.write(`login.mjs: ${message}\nusage: login.mjs --url URL --user LOGIN --password PASSWORD`
    + ' [--ca FILE] [--deny-consent] [--follow-until PREFIX]\n');
  process.exit(USAGE);
}

function finish(result, status) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(status);
}

function parseArgs(argv) {
  const options = { denyConsent: false };
  const valued = {
    '--url': 'url', '--user': 'user', '--password': 'password', '--ca': 'ca',
    '--follow-until': 'followUntil',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--deny-consent') {
      options.denyConsent = true;
    } else if (arg in valued) {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      options[valued[arg]] = argv[++i];
    } else {
      usage(`unknown argument ${arg}`);
    }
  }
  for (const name of ['url', 'user', 'password']) {
    if (options[name] === undefined) usage(`--${name} is required`);
  }
  try {
    options.url = new URL(options.url);
  } catch {
    usage('--url must be an absolute URL');
  }
  if (!['http:', 'https:'].includes(options.url.protocol)) usage('--url must be http or https');
  if (options.ca !== undefined) {
    try {
      options.ca = readFileSync(options.ca);
    } catch (error) {
      usage(`cannot read --ca: ${error.message}`);
    }
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));
const idpOrigin = options.url.origin;

// ---------------------------------------------------------------- cookies

// jar: host -> Map("name;path" -> {name, value, path, secure, expires})
const jar = new Map();

function defaultPath(url) {
  const { pathname } = url;
  if (!pathname.startsWith('/') || pathname.lastIndexOf('/') === 0) return '/';
  return pathname.slice(0, pathname.lastIndexOf('/'));
}

function storeCookie(url, header) {
  const [pair, ...attributes] = header.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return;
  const cookie = {
    name: pair.slice(0, eq).trim(),
    value: pair.slice(eq + 1).trim(),
    path: defaultPath(url),
    secure: false,
    expires: Infinity,
  };
  for (const attribute of attributes) {
    const i = attribute.indexOf('=');
    const key = (i < 0 ? attribute : attribute.slice(0, i)).trim().toLowerCase();
    const value = i < 0 ? '' : attribute.slice(i + 1).trim();
    if (key === 'path' && value.startsWith('/')) cookie.path = value;
    else if (key === 'secure') cookie.secure = true;
    else if (key === 'max-age' && /^-?\d+$/.test(value)) cookie.expires = Date.now() + Number(value) * 1000;
    else if (key === 'expires' && cookie.expires === Infinity) {
      const when = Date.parse(value);
      if (!Number.isNaN(when)) cookie.expires = when;
    }
  }
  // A Secure cookie is only accepted over HTTPS.
  if (cookie.secure && url.protocol !== 'https:') return;
  const cookies = jar.get(url.hostname) ?? new Map();
  jar.set(url.hostname, cookies);
  const key = `${cookie.name};${cookie.path}`;
  if (cookie.expires <= Date.now()) cookies.delete(key);
  else cookies.set(key, cookie);
}

function pathMatches(requestPath, cookiePath) {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

function cookieHeader(url) {
  const now = Date.now();
  const cookies = [...(jar.get(url.hostname)?.values() ?? [])]
    .filter((c) => c.expires > now && pathMatches(url.pathname, c.path)
      && (!c.secure || url.protocol === 'https:'))
    .sort((a, b) => b.path.length - a.path.length);
  return cookies.map((c) => `${c.name}=${c.value}`).join('; ');
}

// ---------------------------------------------------------------- HTTP

function request(url, { method = 'GET', body } = {}) {
  const headers = { Accept: 'text/html', 'User-Agent': 'aztp-test-login' };
  const cookie = cookieHeader(url);
  if (cookie) headers.Cookie = cookie;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    headers['Content-Length'] = Buffer.byteLength(body);
  }
  const secure = url.protocol === 'https:';
  const transport = secure ? https : http;
  const requestOptions = { method, headers, agent: false };
  if (secure && options.ca) requestOptions.ca = options.ca;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, requestOptions, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        for (const header of res.headers['set-cookie'] ?? []) storeCookie(url, header);
        resolve({
          status: res.statusCode,
          location: res.headers.location,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

// ---------------------------------------------------------------- HTML

const decodeEntities = (text) => text.replace(/&(#\d+|#x[0-9a-f]+|amp|lt|gt|quot|apos);/gi, (all, entity) => {
  const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  const lower = entity.toLowerCase();
  if (lower in named) return named[lower];
  const code = lower.startsWith('#x') ? parseInt(lower.slice(2), 16) : parseInt(lower.slice(1), 10);
  return String.fromCodePoint(code);
});

function attributes(tag) {
  const result = {};
  for (const m of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
    result[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return result;
}

// forms returns the page's forms: {action, method, inputs: [{name, type, value}]}.
function forms(html) {
  const result = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const form = attributes(m[1]);
    const inputs = [];
    for (const input of m[2].matchAll(/<(?:input|button)\b([^>]*)>/gi)) {
      const a = attributes(input[1]);
      if (a.name) inputs.push({ name: a.name, type: (a.type ?? 'text').toLowerCase(), value: a.value ?? '' });
    }
    result.push({ action: form.action ?? '', method: (form.method ?? 'get').toLowerCase(), inputs });
  }
  return result;
}

function encodeForm(inputs, values) {
  const params = new URLSearchParams();
  for (const input of inputs) {
    if (['submit', 'button', 'reset'].includes(input.type)) continue;
    params.append(input.name, input.name in values ? values[input.name] : input.value);
  }
  return params.toString();
}

// ---------------------------------------------------------------- flow

const unexpected = (status, url) => finish({ error: 'unexpected_response', status, url: url.href }, 1);

function stopsHere(location) {
  if (options.followUntil !== undefined) return location.href.startsWith(options.followUntil);
  return location.origin !== idpOrigin;
}

let url = options.url;
let method = 'GET';
let body;
let loggedIn = false;
for (let step = 0; step < MAX_STEPS; step++) {
  let res;
  try {
    res = await request(url, { method, body });
  } catch (error) {
    process.stderr.write(`login.mjs: ${method} ${url.origin}${url.pathname}: ${error.message}\n`);
    finish({ error: 'request_failed', url: `${url.origin}${url.pathname}` }, 1);
  }
  if ([301, 302, 303, 307, 308].includes(res.status) && res.location) {
    const next = new URL(res.location, url);
    if (stopsHere(next)) finish({ location: next.href, status: res.status }, 0);
    if (next.origin !== idpOrigin) {
      process.stderr.write('login.mjs: a redirect leaves the IdP before --follow-until matched\n');
      unexpected(res.status, new URL(`${next.origin}${next.pathname}`));
    }
    // 307 and 308 would repeat a POST; the IdP only uses 302 and 303.
    if (res.status === 307 || res.status === 308) unexpected(res.status, url);
    url = next;
    method = 'GET';
    body = undefined;
    continue;
  }
  if (res.status !== 200 && res.status !== 401) {
    process.stderr.write(`login.mjs: ${url.origin}${url.pathname} answered ${res.status}\n`);
    unexpected(res.status, new URL(`${url.origin}${url.pathname}`));
  }
  const pageForms = forms(res.body);
  const loginForm = pageForms.find((f) => f.inputs.some((i) => i.name === 'login')
    && f.inputs.some((i) => i.name === 'password'));
  if (loginForm) {
    if (loggedIn) finish({ error: 'login_failed' }, LOGIN_FAILED);
    loggedIn = true;
    url = new URL(loginForm.action, url);
    method = 'POST';
    body = encodeForm(loginForm.inputs, { login: options.user, password: options.password });
    continue;
  }
  const wanted = options.denyConsent ? /\/abort$/ : /\/confirm$/;
  const consentForm = pageForms.find((f) => f.method === 'post'
    && wanted.test(new URL(f.action, url).pathname));
  if (consentForm) {
    url = new URL(consentForm.action, url);
    method = 'POST';
    body = encodeForm(consentForm.inputs, {});
    continue;
  }
  process.stderr.write(`login.mjs: ${url.origin}${url.pathname} is neither a login nor a consent page\n`);
  unexpected(res.status, new URL(`${url.origin}${url.pathname}`));
}
process.stderr.write('login.mjs: too many steps\n');
unexpected(0, url);
