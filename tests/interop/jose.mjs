// The independent side of tests/interop/jose_test.sh: JWS compact
// serialization with the node `jose` package, loaded from the folder named
// by $AZTP_NODE_PATH (a node_modules folder; ESM ignores NODE_PATH).
//
//   node jose.mjs keygen <ES256|ES384|EdDSA> <dir>
//       writes <dir>/key.pem (PKCS#8, mode 0600) and <dir>/pub.jwk
//   node jose.mjs sign <ES256|ES384|EdDSA> <key.pem> <payload-file>
//       prints a compact JWS with header {"alg":..,"typ":"JWT"}
//   node jose.mjs verify <jwk-file> <compact-file>
//       exit 0 and prints the payload if the JWS verifies, exit 1 if not;
//       the algorithm comes from the key (P-256 ES256, P-384 ES384,
//       Ed25519 EdDSA), never from the token
//   node jose.mjs thumbprint <jwk-file>
//       prints the RFC 7638 SHA-256 thumbprint
//
// Exit status 2 means a usage, file or setup error. Keys and tokens are
// never printed to stderr.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INVALID, USAGE, failer, loadJose } from './load_jose.mjs';


const fail = failer('jose.mjs');

const jose = await loadJose(fail);

const ALGORITHMS = ['ES256', 'ES384', 'EdDSA'];

function algorithmForJwk(jwk) {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-384') return 'ES384';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  return fail('unsupported JWK type', USAGE);
}

function checkAlgorithm(alg) {
  if (!ALGORITHMS.includes(alg)) fail(`unsupported algorithm ${alg}`, USAGE);
  return alg;
}

async function readJwk(path) {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return fail(`cannot read a JWK from ${path}`, USAGE);
  }
}

async function keygen(alg, dir) {
  const { publicKey, privateKey } = await jose.generateKeyPair(
      checkAlgorithm(alg), { extractable: true });
  await writeFile(join(dir, 'key.pem'), await jose.exportPKCS8(privateKey),
                  { mode: 0o600 });
  await writeFile(join(dir, 'pub.jwk'),
                  JSON.stringify(await jose.exportJWK(publicKey)) + '\n');
}

async function sign(alg, keyPath, payloadPath) {
  checkAlgorithm(alg);
  const key = await jose.importPKCS8(await readFile(keyPath, 'utf8'), alg);
  const payload = new Uint8Array(await readFile(payloadPath));
  const compact = await new jose.CompactSign(payload)
                      .setProtectedHeader({ alg, typ: 'JWT' })
                      .sign(key);
  process.stdout.write(compact + '\n');
}

async function verify(jwkPath, compactPath) {
  const jwk = await readJwk(jwkPath);
  const alg = algorithmForJwk(jwk);
  const key = await jose.importJWK(jwk, alg);
  const compact = (await readFile(compactPath, 'utf8')).replace(/\r?\n$/, '');
  try {
    const { payload } =
        await jose.compactVerify(compact, key, { algorithms: [alg] });
    process.stdout.write(payload);
  } catch (error) {
    fail(`verify: ${error.code ?? error.name}`, INVALID);
  }
}

async function thumbprint(jwkPath) {
  const jwk = await readJwk(jwkPath);
  process.stdout.write(await jose.calculateJwkThumbprint(jwk, 'sha256') +
                       '\n');
}

const [command, ...args] = process.argv.slice(2);
try {
  if (command === 'keygen' && args.length === 2) {
    await keygen(...args);
  } else if (command === 'sign' && args.length === 3) {
    await sign(...args);
  } else if (command === 'verify' && args.length === 2) {
    await verify(...args);
  } else if (command === 'thumbprint' && args.length === 1) {
    await thumbprint(...args);
  } else {
    fail('usage: jose.mjs keygen|sign|verify|thumbprint ...', USAGE);
  }
} catch (error) {
  fail(`${command}: ${error.code ?? error.name}`, USAGE);
}
