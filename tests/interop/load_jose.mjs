// Shared by the interop scripts: exit codes, failing with a message, and
// loading the node `jose` package from $AZTP_NODE_PATH (a node_modules
// folder; ESM ignores NODE_PATH).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const INVALID = 1;
export const USAGE = 2;

// failer returns a function that prints `<script>: message` and exits.
export function failer(script) {
  return (message, status) => {
    process.stderr.write(`${script}: ${message}\n`);
    process.exit(status);
  };
}

// loadJose imports jose or exits with USAGE when it is missing.
export async function loadJose(fail) {
  const modules = process.env.AZTP_NODE_PATH;
  if (!modules) fail('AZTP_NODE_PATH is not set', USAGE);
  const entry = join(modules, 'jose', 'dist', 'webapi', 'index.js');
  if (!existsSync(entry)) fail(`jose is not installed (${entry})`, USAGE);
  return import(pathToFileURL(entry).href);
}
