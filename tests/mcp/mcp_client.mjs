// The MCP client side of tests/integration/mcp_test.sh: the official
// TypeScript SDK's client, sending through the research agent's aztp-proxy
// (egress) to the payments MCP server behind its own aztp-proxy. Prints one
// "ok ..." line per case; any failure exits 1 naming it.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const env = process.env;
const fail = (what) => { console.error('FAIL: ' + what); process.exit(1); };
const ok = (what) => console.log('ok ' + what);

async function connect(egress, target, targetUrl) {
  const transport = new StreamableHTTPClientTransport(new URL(egress + '/mcp'), {
    requestInit: { headers: { 'Aztp-Target': target, 'Aztp-Target-Url': targetUrl } },
  });
  const client = new Client({ name: 'research', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

// refusal: the error a refused call rejects with.
async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  fail('a call that should be refused succeeded');
}

// post sends raw JSON-RPC through an egress proxy, as the SDK would, and
// returns the status and the JSON-RPC messages of the answer (JSON or SSE).
async function post(egress, target, targetUrl, session, body, extra = {}) {
  const res = await fetch(egress + '/mcp', {
    method: extra.method || 'POST',
    headers: { 'content-type': extra.type || 'application/json',
               accept: 'application/json, text/event-stream',
               'mcp-protocol-version': '2025-06-18', 'mcp-session-id': session,
               'Aztp-Target': target, 'Aztp-Target-Url': targetUrl },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let messages = [];
  if ((res.headers.get('content-type') || '').startsWith('text/event-stream')) {
    for (const block of text.split(/\r?\n\r?\n/)) {
      const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart()).join('\n');
      if (data) messages.push(JSON.parse(data));
    }
  } else if (text) {
    const doc = JSON.parse(text);
    messages = Array.isArray(doc) ? doc : [doc];
  }
  return { status: res.status, messages };
}

const { client, transport } = await connect(env.EGRESS, env.TARGET, env.TARGET_URL);
ok('the SDK client initialized a session through both proxies');

const tools = (await client.listTools()).tools.map((t) => t.name).sort();
if (JSON.stringify(tools) !== JSON.stringify(['quote', 'slow_report'])) {
  fail('tools/list shows ' + JSON.stringify(tools));
}
ok('tools/list shows only the allowed tools: ' + tools.join(', '));

const quote = JSON.parse((await client.callTool({ name: 'quote', arguments: { item: 'flight' } }))
  .content[0].text);
if (quote.price !== 42 || quote.caller !== env.RESEARCH) fail('quote: ' + JSON.stringify(quote));
ok('an allowed tool call works end to end (caller ' + quote.caller + ')');

const denied = await refusal(client.callTool({ name: 'refund', arguments: { amount: 12345 } }));
if (denied.code !== -32040 || denied.data?.reason !== 'policy_denied' ||
    !denied.message.includes('NoRefunds')) {
  fail('refund: ' + denied.code + ' ' + denied.message + ' ' + JSON.stringify(denied.data));
}
ok('a tool denied by policy is an McpError: ' + denied.message);

const ungranted = await refusal(client.callTool({ name: 'secret_admin', arguments: {} }));
if (ungranted.code !== -32040 || ungranted.data?.reason !== 'capability_not_granted') {
  fail('secret_admin: ' + ungranted.code + ' ' + ungranted.message);
}
ok('a tool outside the chain\'s capabilities is an McpError: ' + ungranted.message);

// Progress over SSE arrives as it is sent (every 400 ms), not with the result.
const start = Date.now();
const seen = [];
const report = await client.callTool({ name: 'slow_report', arguments: { steps: 3 } }, undefined,
  { onprogress: (p) => seen.push([p.progress, Date.now() - start]) });
const end = Date.now() - start;
if (seen.length !== 3) fail('progress notifications: ' + JSON.stringify(seen));
if (end - seen[0][1] < 600) fail('progress arrived with the result: ' + JSON.stringify(seen) + ' end ' + end);
if (!report.content[0].text.includes('done')) fail('slow_report: ' + JSON.stringify(report));
ok('a streamed tool result arrives incrementally: progress at ' + seen.map((s) => s[1]).join(', ') +
   ' ms, result at ' + end + ' ms');

const session = transport.sessionId;
const batch = await post(env.EGRESS, env.TARGET, env.TARGET_URL, session, [
  { jsonrpc: '2.0', id: 101, method: 'tools/call', params: { name: 'quote', arguments: { item: 'b' } } },
  { jsonrpc: '2.0', id: 102, method: 'tools/call', params: { name: 'refund', arguments: { amount: 1 } } },
]);
const byId = Object.fromEntries(batch.messages.map((m) => [m.id, m]));
if (batch.status !== 200 || !byId[101]?.result || byId[102]?.error?.data?.reason !== 'policy_denied') {
  fail('batch: ' + batch.status + ' ' + JSON.stringify(batch.messages));
}
ok('a batch of one allowed and one refused call: 101 answered, 102 refused (policy_denied)');

// Attempts to make the server read other calls than the proxy decided.
const utf7 = await post(env.EGRESS, env.TARGET, env.TARGET_URL, session,
  '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"quote","arguments":' +
  '{"item":"x+ACIAfQAsACIAbgBhAG0AZQAiADoAIgBzAGUAYwByAGUAdABfAGEAZABtAGkAbgAiAH0-"}}}',
  { type: 'application/json; charset=utf-7' });
if (utf7.status !== 415 || utf7.messages[0]?.error?.data?.reason !== 'unsupported_media_type') {
  fail('a UTF-7 body: ' + utf7.status + ' ' + JSON.stringify(utf7.messages));
}
// Other ways to name another charset or type than UTF-8 JSON: each is 415.
for (const type of ['application/json;charset="utf-7"', 'application/json; charset=utf-8; charset=utf-7',
  'application/json;charset=utf-8,utf-7', 'application/json\t;charset=utf-7', 'application/json-seq',
  'text/plain', 'application/json;charset=utf-16']) {
  const odd = await post(env.EGRESS, env.TARGET, env.TARGET_URL, session,
    { jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'quote', arguments: { item: 'c' } } },
    { type });
  if (odd.status !== 415 || odd.messages[0]?.error?.data?.reason !== 'unsupported_media_type') {
    fail('Content-Type ' + JSON.stringify(type) + ': ' + odd.status + ' ' + JSON.stringify(odd.messages));
  }
}
const cased = await post(env.EGRESS, env.TARGET, env.TARGET_URL, session,
  { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'quote', arguments: { item: 'd' } } },
  { type: 'Application/JSON ; Charset=UTF-8' });
if (cased.status !== 200 || !cased.messages[0]?.result) {
  fail('Application/JSON ; Charset=UTF-8: ' + cased.status + ' ' + JSON.stringify(cased.messages));
}
ok('a quoted, repeated, listed, tab-separated or UTF-16 charset and other types are 415; ' +
   'Application/JSON ; Charset=UTF-8 is answered');
const put = await post(env.EGRESS, env.TARGET, env.TARGET_URL, session,
  { jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'secret_admin' } },
  { method: 'PUT' });
if (put.status !== 405 || put.messages[0]?.error !== 'method_not_allowed') {
  fail('PUT: ' + put.status + ' ' + JSON.stringify(put.messages));
}
const twins = await post(env.EGRESS, env.TARGET, env.TARGET_URL, session, [
  { jsonrpc: '2.0', id: 7, method: 'tools/list' },
  { jsonrpc: '2.0', id: 7, method: 'prompts/list' },
]);
if (twins.status !== 400 || twins.messages[0]?.error?.code !== -32600) {
  fail('a batch repeating an id: ' + twins.status + ' ' + JSON.stringify(twins.messages));
}
ok('a UTF-7 body (415), a PUT (405) and a batch repeating an id (400, -32600) never reach the server');

// Another caller (the planner, through its own proxy) presenting this session.
const stolen = await post(env.OTHER_EGRESS, env.TARGET, env.TARGET_URL, session,
  { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'quote', arguments: { item: 'x' } } });
if (stolen.status !== 403 || stolen.messages[0]?.error !== 'session_not_owned') {
  fail('another caller\'s session: ' + stolen.status + ' ' + JSON.stringify(stolen.messages));
}
ok('a session id replayed by another caller is refused (403 session_not_owned)');

const made = await post(env.EGRESS, env.TARGET, env.TARGET_URL, 'made-up-session',
  { jsonrpc: '2.0', id: 1, method: 'ping' });
if (made.status !== 404 || made.messages[0]?.error !== 'session_unknown') {
  fail('unknown session: ' + made.status + ' ' + JSON.stringify(made.messages));
}
ok('a session never opened through the proxy is 404 session_unknown');

// Resuming a stream by event id alone, without the session it belongs to.
const resume = await fetch(env.OTHER_EGRESS + '/mcp', {
  headers: { accept: 'text/event-stream', 'last-event-id': 'stream-1_7',
             'mcp-protocol-version': '2025-06-18',
             'Aztp-Target': env.TARGET, 'Aztp-Target-Url': env.TARGET_URL },
});
const resumed = await resume.json();
if (resume.status !== 404 || resumed.error !== 'session_unknown') {
  fail('Last-Event-ID without a session: ' + resume.status + ' ' + JSON.stringify(resumed));
}
ok('resuming a stream by Last-Event-ID without its session is 404 session_unknown');

// Two MCP hops: research -> planner (an MCP server, and a client of payments).
const hop = await connect(env.EGRESS, env.PLANNER, env.PLANNER_URL);
const planned = JSON.parse((await hop.client.callTool({ name: 'plan', arguments: { item: 'hotel' } }))
  .content[0].text);
const path = (planned.path || '').split(',');
if (planned.caller !== env.PLANNER ||
    path.join(',') !== [env.RESEARCH, env.PLANNER, env.TARGET].join(',') ||
    planned.subject !== env.RESEARCH) {
  fail('two hops: ' + JSON.stringify(planned));
}
ok('a chain through two MCP hops verifies at the last one with the whole path: ' + path.join(' -> '));
await hop.transport.terminateSession();
await hop.client.close();

await transport.terminateSession();
const ended = await post(env.EGRESS, env.TARGET, env.TARGET_URL, session,
  { jsonrpc: '2.0', id: 1, method: 'ping' });
if (ended.status !== 404) fail('an ended session: ' + ended.status);
ok('after DELETE the session is gone (404)');
await client.close();
