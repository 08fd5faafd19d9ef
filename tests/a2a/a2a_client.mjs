// The A2A client side of tests/integration/a2a_test.sh: the official
// JavaScript SDK's client, sending through the research agent's aztp-proxy
// (egress) to the planner agent behind its own. It fetches the planner's
// Agent Card, checks that the card is signed by the planner's X.509-SVID
// (the certificate chains to the trust bundle and names the SPIFFE ID the
// client means to talk to; the SDK's verifier checks the signature), then
// calls. Prints one "ok ..." line per case; any failure exits 1.
import fs from 'node:fs';
import crypto from 'node:crypto';
import { verifyAgentCardSignature } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory } from '@a2a-js/sdk/client';

const env = process.env;
const fail = (what) => { console.error('FAIL: ' + what); process.exit(1); };
const ok = (what) => console.log('ok ' + what);

// viaEgress is the fetch an agent uses behind its proxy: every request to
// the planner goes to the egress listener, naming the target.
const viaEgress = (input, init = {}) => {
  const url = new URL(typeof input === 'string' ? input : input.url);
  const headers = new Headers(init.headers || (typeof input === 'string' ? {} : input.headers));
  headers.set('Aztp-Target', env.PLANNER);
  headers.set('Aztp-Target-Url', env.PLANNER_URL);
  return fetch(env.EGRESS + url.pathname + url.search, { ...init, headers });
};

// checkSigner returns the public key of the card's signature when its x5c
// is an SVID of `expected` issued under the bundle's CA, and throws
// otherwise.
function checkSigner(card, expected) {
  const header = JSON.parse(Buffer.from(card.signatures[0].protected, 'base64url').toString());
  const leaf = new crypto.X509Certificate(Buffer.from(header.x5c[0], 'base64'));
  const cas = fs.readFileSync(env.BUNDLE_PEM, 'utf8').split(/(?=-----BEGIN CERTIFICATE-----)/)
    .filter((p) => p.includes('BEGIN')).map((p) => new crypto.X509Certificate(p));
  if (!cas.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))) {
    throw new Error('the signing certificate is not issued by the trust bundle');
  }
  const now = Date.now();
  if (now < Date.parse(leaf.validFrom) || now > Date.parse(leaf.validTo)) {
    throw new Error('the signing certificate is not valid now');
  }
  if (leaf.subjectAltName !== 'URI:' + expected) {
    throw new Error('the card is signed by ' + leaf.subjectAltName + ', not ' + expected);
  }
  return { kid: header.kid, key: leaf.publicKey };
}

async function verify(card, expected) {
  const signer = checkSigner(card, expected);
  await verifyAgentCardSignature(async (kid) => {
    if (kid !== signer.kid) throw new Error('unknown kid');
    return signer.key;
  })(card);
}

async function rejects(promise, what) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  fail(what + ' was accepted');
}

const res = await viaEgress('https://planner/.well-known/agent-card.json');
if (res.status !== 200) fail('card: ' + res.status + ' ' + await res.text());
const card = await res.json();
await verify(card, env.PLANNER);
ok('the Agent Card the planner\'s proxy serves is signed by the planner\'s SVID (' +
   JSON.parse(Buffer.from(card.signatures[0].protected, 'base64url')).alg + ', x5c) and verifies');

const forged = structuredClone(card);
forged.supportedInterfaces[0].url = 'https://attacker.example:9443/a2a';
const e1 = await rejects(verify(forged, env.PLANNER), 'a forged card');
const e2 = await rejects(verify(card, env.RESEARCH), 'the card as another agent\'s');
ok('a forged card fails (' + e1.message + '); the card checked as another SPIFFE ID\'s fails (' +
   e2.message + ')');

const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
  transports: [new JsonRpcTransportFactory({ fetchImpl: viaEgress })],
}));
const client = await factory.createFromAgentCard(card);
const message = (text) => ({
  message: { messageId: crypto.randomUUID(), contextId: '', taskId: '', role: 'ROLE_USER',
             parts: [{ content: { $case: 'text', value: text } }], metadata: undefined,
             extensions: [], referenceTaskIds: [] },
});
const answer = await client.sendMessage(message('a trip to Lisbon'));
const text = JSON.stringify(answer);
if (!text.includes('planned: a trip to Lisbon')) fail('SendMessage: ' + text);
ok('SendMessage through both proxies: ' + text.match(/planned: [^"]*/)[0]);

const cancel = await rejects(client.cancelTask({ id: 'task-1', tenant: '', metadata: undefined }),
  'CancelTask without the capability');
if (!cancel.message.includes('capability_not_granted') && !cancel.message.includes('not covered')) {
  fail('CancelTask: ' + cancel.message);
}
ok('CancelTask, outside the chain\'s capabilities, is refused: ' + cancel.message);

const events = [];
for await (const ev of client.sendMessageStream(message('stream it'))) events.push(ev);
if (events.length < 1 || !JSON.stringify(events).includes('planned: stream it')) {
  fail('SendStreamingMessage: ' + JSON.stringify(events));
}
ok('SendStreamingMessage through both proxies: ' + events.length + ' event(s) over the stream');

const read = await rejects(client.getTask({ id: 'task-1', historyLength: undefined, tenant: '' }),
  'GetTask denied by policy');
if (!read.message.includes('NoTaskReads')) fail('GetTask: ' + read.message);
ok('GetTask, denied by policy, is refused: ' + read.message);

// The v0.3 spelling is an action of its own.
const old = await viaEgress('https://planner/a2a', {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'message/send', params: {} }),
});
const oldBody = await old.json();
if (old.status !== 200 || oldBody.error?.data?.reason !== 'capability_not_granted' ||
    !oldBody.error.message.includes('planner:a2a:message:send')) {
  fail('message/send: ' + old.status + ' ' + JSON.stringify(oldBody));
}
ok('the v0.3 spelling message/send is its own action (planner:a2a:message:send), refused here');
