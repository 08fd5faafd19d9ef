// The load client of scripts/bench_mcp.sh: MCP tool calls with the official
// TypeScript SDK's client (Client + StreamableHTTPClientTransport), in a
// closed loop over a few concurrent sessions.
//   node mcp_bench.mjs URL [--header 'Name: value']... [--sessions N]
//                      [--calls R] [--warmup W]
// opens N sessions at URL (default 4), sends W untimed calls on each
// (default 20), then R timed calls in all (default 2000): each session sends
// its next call as soon as the last one is answered. Every call is
// quote({item: 'x'}) of tests/mcp/mcp_agent.mjs. Prints one JSON line:
//   {"calls", "seconds", "per_second", "p50_ms", "p99_ms", "errors"}
// (errors: calls that failed or returned an error result; they are not in
// the latencies). Exits 1 when nothing succeeded or a session cannot open.
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const die = (what) => { console.error('mcp_bench: ' + what); process.exit(1); };

function parseArgs(argv) {
  const o = { url: null, headers: {}, sessions: 4, calls: 2000, warmup: 20 };
  const count = (flag, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) die(`${flag} wants a whole number, not ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => (i + 1 < argv.length ? argv[++i] : die(a + ' wants a value'));
    if (a === '--header') {
      const h = next();
      const colon = h.indexOf(':');
      if (colon <= 0) die('--header wants "Name: value", not ' + h);
      o.headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
    } else if (a === '--sessions') {
      o.sessions = count(a, next());
    } else if (a === '--calls') {
      o.calls = count(a, next());
    } else if (a === '--warmup') {
      o.warmup = count(a, next());
    } else if (!a.startsWith('--') && o.url === null) {
      o.url = a;
    } else {
      die('unknown argument ' + a);
    }
  }
  if (!o.url) die('usage: node mcp_bench.mjs URL [--header "Name: value"]... ' +
                  '[--sessions N] [--calls R] [--warmup W]');
  if (o.sessions < 1) die('--sessions must be at least 1');
  return o;
}

const opts = parseArgs(process.argv.slice(2));

async function open(i) {
  const transport = new StreamableHTTPClientTransport(new URL(opts.url), {
    requestInit: { headers: opts.headers },
  });
  const client = new Client({ name: `mcp-bench-${i}`, version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

// call: one quote; true when it was answered with a result that is not an
// error result.
async function call(client) {
  const r = await client.callTool({ name: 'quote', arguments: { item: 'x' } });
  return !r.isError && Array.isArray(r.content) && r.content.length > 0;
}

let sessions;
try {
  sessions = await Promise.all(Array.from({ length: opts.sessions }, (_, i) => open(i)));
} catch (e) {
  die('could not open a session at ' + opts.url + ': ' + (e?.message ?? e));
}

// Warm-up: untimed, every session, so that connections, TLS sessions and
// any caches on the way are in place before the timing starts.
let firstError = null;
await Promise.all(sessions.map(async ({ client }) => {
  for (let i = 0; i < opts.warmup; i++) {
    try {
      if (!(await call(client))) throw new Error('an error result');
    } catch (e) {
      firstError ??= e;
    }
  }
}));
if (firstError) die('a warm-up call failed: ' + (firstError?.message ?? firstError));

const latencies = [];
let issued = 0;
let errors = 0;
const start = performance.now();
await Promise.all(sessions.map(async ({ client }) => {
  while (issued < opts.calls) {
    issued++;
    const t0 = performance.now();
    try {
      if (await call(client)) {
        latencies.push(performance.now() - t0);
      } else {
        errors++;
      }
    } catch (e) {
      errors++;
      firstError ??= e;
    }
  }
}));
const seconds = (performance.now() - start) / 1000;

for (const { client, transport } of sessions) {
  await transport.terminateSession().catch(() => {});
  await client.close().catch(() => {});
}

latencies.sort((a, b) => a - b);
const pct = (p) => latencies.length === 0
  ? null
  : latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)];
const round3 = (x) => (x === null ? null : Math.round(x * 1000) / 1000);
console.log(JSON.stringify({
  calls: latencies.length,
  seconds: round3(seconds),
  per_second: Math.round((latencies.length / seconds) * 10) / 10,
  p50_ms: round3(pct(50)),
  p99_ms: round3(pct(99)),
  errors,
}));
if (firstError) console.error('mcp_bench: first error: ' + (firstError?.message ?? firstError));
process.exit(latencies.length > 0 ? 0 : 1);
