// A real MCP server (the official TypeScript SDK, streamable HTTP transport,
// stateful sessions) for the tests of aztp-proxy's MCP routes.
//   node mcp_agent.mjs payments PORT_FILE
//     tools: quote, refund, secret_admin, slow_report (progress over SSE)
//   node mcp_agent.mjs planner PORT_FILE EGRESS_URL TARGET TARGET_URL
//     tool: plan, which calls payments' quote through the planner's own
//     aztp-proxy (egress), continuing the transaction it was called in
// quote's answer names the chain the payments proxy verified (the
// Aztp-Caller, Aztp-Path and Aztp-Subject it forwarded). payments also
// answers plain HTTP, as the demo's payments agent (scripts/demo.sh):
// POST /quote (a price, and the Aztp-* fields it received) and POST
// /refund.
import http from 'node:http';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [role, portFile, egress, target, targetUrl] = process.argv.slice(2);
const text = (value) => ({ content: [{ type: 'text', text: JSON.stringify(value) }] });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function paymentsTools(server) {
  server.registerTool('quote', {
    description: 'Quote a price',
    inputSchema: { item: z.string() },
  }, async ({ item }, extra) => {
    const h = extra.requestInfo?.headers ?? {};
    return text({ item, price: 42, caller: h['aztp-caller'], path: h['aztp-path'],
                  subject: h['aztp-subject'] });
  });
  server.registerTool('refund', {
    description: 'Refund an amount',
    inputSchema: { amount: z.number() },
  }, async ({ amount }) => text({ refunded: amount }));
  server.registerTool('secret_admin', { description: 'Administer' },
    async () => text({ admin: true }));
  server.registerTool('slow_report', {
    description: 'A report streamed with progress',
    inputSchema: { steps: z.number() },
  }, async ({ steps }, extra) => {
    const token = extra._meta?.progressToken;
    for (let i = 1; i <= steps; i++) {
      await sleep(400);
      if (token !== undefined) {
        await extra.sendNotification({ method: 'notifications/progress',
          params: { progressToken: token, progress: i, total: steps } });
      }
    }
    return text({ report: 'done', steps });
  });
}

function plannerTools(server) {
  server.registerTool('plan', {
    description: 'Plan a purchase (asks payments for a quote)',
    inputSchema: { item: z.string() },
  }, async ({ item }, extra) => {
    const h = extra.requestInfo?.headers ?? {};
    const transport = new StreamableHTTPClientTransport(new URL(egress + '/mcp'), {
      requestInit: { headers: { 'Aztp-Target': target, 'Aztp-Target-Url': targetUrl,
                                'Aztp-Txn': h['aztp-txn'], 'Aztp-Origin': h['aztp-origin'] } },
    });
    const client = new Client({ name: 'planner', version: '1.0.0' });
    await client.connect(transport);
    try {
      const quote = await client.callTool({ name: 'quote', arguments: { item } });
      return { content: quote.content };
    } finally {
      await transport.terminateSession().catch(() => {});
      await client.close();
    }
  });
}

const sessions = new Map();
async function handle(req, res) {
  const id = req.headers['mcp-session-id'];
  let transport = id ? sessions.get(id) : undefined;
  if (!transport) {
    if (id || req.method !== 'POST') {
      res.writeHead(id ? 404 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null,
        error: { code: -32001, message: 'Session not found' } }));
      return;
    }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => sessions.set(sid, transport),
      onsessionclosed: (sid) => sessions.delete(sid),
    });
    const server = new McpServer({ name: role, version: '1.0.0' });
    (role === 'planner' ? plannerTools : paymentsTools)(server);
    await server.connect(transport);
  }
  await transport.handleRequest(req, res);
}

// plainHttp answers the payments agent's HTTP routes; false for others.
function plainHttp(req, res) {
  if (role !== 'payments' || req.method !== 'POST' ||
      (req.url !== '/quote' && req.url !== '/refund')) {
    return false;
  }
  const seen = {};
  for (const name of ['Caller', 'Subject', 'Txn', 'Origin', 'Capabilities', 'Path']) {
    const value = req.headers['aztp-' + name.toLowerCase()];
    if (value !== undefined) seen['Aztp-' + name] = value;
  }
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.url === '/quote'
      ? { seen, price: 42.5, currency: 'EUR' } : { refunded: true }));
  });
  return true;
}

const httpServer = http.createServer((req, res) => {
  if (plainHttp(req, res)) return;
  if (!req.url.startsWith('/mcp')) { res.writeHead(404); res.end(); return; }
  handle(req, res).catch((e) => {
    if (!res.headersSent) res.writeHead(500);
    res.end(String(e));
  });
});
httpServer.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', String(httpServer.address().port));
  fs.renameSync(portFile + '.tmp', portFile);
});
