// Prints a private JWKS with one new signing key, for idp.mjs --jwks.
//
//   node make_jwks.mjs [--alg RS256|ES256|PS256|EdDSA] [--kid KID]
//
// The key is made by the node `jose` package (generateKeyPair, exportJWK);
// the JWK carries kid (default: a random one), alg and use "sig". The output
// holds the private key: keep it in a private file (e.g. umask 077).
// Exit status 2 means a usage or setup error.
import { randomBytes } from 'node:crypto';
import { USAGE, failer, loadJose } from './modules.mjs';

const fail = failer('make_jwks.mjs');
const ALGORITHMS = ['RS256', 'ES256', 'PS256', 'EdDSA'];

let alg = 'RS256';
let kid = `k-${randomBytes(8).toString('hex')}`;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const value = args[i + 1];
  switch (args[i]) {
    case '--alg':
      if (!ALGORITHMS.includes(value)) fail(`--alg must be one of ${ALGORITHMS.join(', ')}`, USAGE);
      alg = value;
      i++;
      break;
    case '--kid':
      if (!value) fail('--kid needs a value', USAGE);
      kid = value;
      i++;
      break;
    default:
      fail(`unknown argument ${args[i]}\nusage: make_jwks.mjs [--alg RS256|ES256|PS256|EdDSA] [--kid KID]`, USAGE);
  }
}

const jose = await loadJose(fail);
const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
const jwk = await jose.exportJWK(privateKey);
delete jwk.ext;
delete jwk.key_ops;
process.stdout.write(`${JSON.stringify({ keys: [{ ...jwk, kid, alg, use: 'sig' }] })}\n`);
