// A real A2A agent (the official JavaScript SDK, @a2a-js/sdk 1.3.0, A2A
// v1.0 over JSON-RPC) for tests/integration/a2a_test.sh: answers every
// message with "planned: <text>".
//   node a2a_agent.mjs CARD_FILE PORT_FILE
// CARD_FILE is the card the agent's aztp-proxy serves (it names the
// proxy's URL); the SDK checks the A2A-Version of each call against it.
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import express from 'express';
import { DefaultRequestHandler, InMemoryTaskStore, AgentEvent } from '@a2a-js/sdk/server';
import { jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';

const [cardFile, portFile] = process.argv.slice(2);
const card = JSON.parse(fs.readFileSync(cardFile, 'utf8'));

const executor = {
  async execute(context, bus) {
    const text = context.userMessage.parts.map((p) => p.content?.value ?? '').join(' ');
    bus.publish(AgentEvent.message({
      messageId: randomUUID(), contextId: context.contextId, taskId: '', role: 'ROLE_AGENT',
      parts: [{ content: { $case: 'text', value: 'planned: ' + text } }],
      metadata: undefined, extensions: [], referenceTaskIds: [],
    }));
    bus.finished();
  },
  async cancelTask() {},
};

const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
const app = express();
app.use('/a2a', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
const server = app.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', String(server.address().port));
  fs.renameSync(portFile + '.tmp', portFile);
});
