// Shared by the scripts of tests/oidc: where the npm packages are, and
// loading them. ESM ignores NODE_PATH, so packages are imported by file URL
// from the node_modules folder named by $AZTP_NODE_PATH, or, when it is not
// set, from the source tree's .deps/node/node_modules (what
// scripts/install-deps.sh fills).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const USAGE = 2;

// fail prints `<script>: message` to stderr and exits with status.
export function failer(script) {
  return (message, status = 1) => {
    process.stderr.write(`${script}: ${message}\n`);
    process.exit(status);
  };
}

export function nodeModules() {
  if (process.env.AZTP_NODE_PATH) return process.env.AZTP_NODE_PATH;
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', '.deps', 'node', 'node_modules');
}

// The ESM entry points of the pinned versions (scripts/npm/package.json).
const ENTRIES = {
  jose: join('dist', 'webapi', 'index.js'),
  'oidc-provider': join('lib', 'index.js'),
};

// importPackage imports package `name`, or fails with USAGE when it is not
// installed.
export async function importPackage(name, fail) {
  const entry = join(nodeModules(), name, ENTRIES[name]);
  if (!existsSync(entry)) {
    fail(`${name} is not installed (${entry}); run scripts/install-deps.sh`, USAGE);
  }
  return import(pathToFileURL(entry).href);
}

export const loadJose = (fail) => importPackage('jose', fail);
export const loadOidcProvider = (fail) => importPackage('oidc-provider', fail);
