// The peer: what a team would write with Slack Bolt for the same /aws command.
//
// Bolt's own HTTP receiver (HTTPReceiver, node:http) verifies the v0 signature
// with signingSecret, parses the form and runs the listener. The listener
// answers exactly like slashd does:
//   /aws help   ephemeral JSON ack, then the help text POSTed to response_url
//               (respond()), as slashd's worker does (BOLT_ACK_ONLY=1 skips
//               the reply and only acks)
//   /aws other  ephemeral JSON usage error in the ack, nothing else
// No token is used: botId/botUserId are given so Bolt never calls auth.test.
//
//   BOLT_PORT=3001 BENCH_SECRET=... node bench/bolt/app.js
'use strict';
const path = require('node:path');
const peers = process.env.BOLT_MODULES || path.join(__dirname, '..', '.peers', 'node_modules');
const { App, LogLevel } = require(path.join(peers, '@slack', 'bolt'));

const port = Number(process.env.BOLT_PORT || 3001);
const ackOnly = process.env.BOLT_ACK_ONLY === '1';
const app = new App({
  signingSecret: process.env.BENCH_SECRET,
  token: 'xoxb-bench-not-used',
  botId: 'B0BENCH',
  botUserId: 'U0BENCH',
  tokenVerificationEnabled: false,
  endpoints: '/slack/commands',
  logLevel: LogLevel.ERROR,
});

const HELP = 'Commands you can run (1):\n```\n/aws help [plugin]  List the commands you may run\n```';
let seq = 0;

app.command('/aws', async ({ command, ack, respond }) => {
  const text = (command.text || '').trim();
  if (text === 'help') {
    seq += 1;
    await ack({
      response_type: 'ephemeral',
      text: `:hourglass_flowing_sand: \`/aws ${text}\` is running… (request bolt-${seq})`,
    });
    if (!ackOnly) await respond({ response_type: 'ephemeral', text: HELP });
    return;
  }
  await ack({
    response_type: 'ephemeral',
    text: `Unknown command \`${text.split(/\s+/)[0]}\`. Type \`/aws help\` to see what you can run.`,
  });
});

(async () => {
  await app.start(port);
  process.stderr.write(`bolt listening on ${port}\n`);
})();
