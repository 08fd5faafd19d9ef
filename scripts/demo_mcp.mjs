// The demo's MCP client (scripts/demo.sh): the research agent uses the
// payments agent's MCP tools with the official TypeScript SDK, through its
// own aztp-proxy. Prints one JSON object: the tools it is shown, the quote
// tool's answer and how the refund tool's call was refused.
//   node demo_mcp.mjs EGRESS_URL TARGET_ID TARGET_URL
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [egress, target, targetUrl] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(egress + '/mcp'), {
  requestInit: { headers: { 'Aztp-Target': target, 'Aztp-Target-Url': targetUrl } },
});
const client = new Client({ name: 'research', version: '1.0.0' });
await client.connect(transport);
const tools = (await client.listTools()).tools.map((t) => t.name);
const quote = JSON.parse((await client.callTool({ name: 'quote', arguments: { item: 'hotel' } }))
  .content[0].text);
let refund;
try {
  await client.callTool({ name: 'refund', arguments: { amount: 120 } });
  refund = { refused: false };
} catch (e) {
  refund = { refused: true, code: e.code, reason: e.data?.reason, message: e.message };
}
await transport.terminateSession();
await client.close();
console.log(JSON.stringify({ tools, quote, refund }));
