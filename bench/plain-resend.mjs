#!/usr/bin/env node
// The baseline for the Resend benchmark: a plain script that posts the requests the Resend
// transport posts — the same JSON body (from, to, subject, html, text, headers with
// List-Unsubscribe and the Message-ID), the same Idempotency-Key — to the same local server, with
// the same number of requests in flight (one keep-alive agent, `--pool` sockets), and no state.
// It renders each message with the tool's own templates (dist/core/templates.js), as the engine
// does; it does not compose a MIME message (no JSON API needs one).
//   node bench/plain-resend.mjs <baseline.json> <port> [--pool 5]
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { DIST, takeOption } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => takeOption(args, name, dflt);
const pool = Number(opt('--pool', '5'));
const [file, portArg] = args;
const port = Number(portArg);

const { compileTemplates, headerSafe, render } = await import(DIST('core/templates.js'));
const { idempotencyKeyFor, messageIdFor, templateContext, unsubscribeUrlFor } = await import(DIST('core/message.js'));
const { campaign, recipients } = JSON.parse(readFileSync(file, 'utf8'));
const templates = compileTemplates(campaign);
// "Aremko Spa <hola@aremko.cl>" as Resend takes it (the transport formats it the same way).
const from = campaign.from;
const agent = new http.Agent({ keepAlive: true, maxSockets: pool });

function post(body, key) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = http.request(
      { host: '127.0.0.1', port, path: '/emails', method: 'POST', agent, headers: { authorization: 'Bearer re_bench', 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'bench', 'idempotency-key': key, 'content-length': data.length } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

let next = 0;
let sent = 0;
let failed = 0;
async function worker() {
  while (next < recipients.length) {
    const r = recipients[next++];
    const content = render(templates, templateContext(campaign, r));
    const headers = {};
    const unsubscribe = unsubscribeUrlFor(campaign.unsubscribe, r.email);
    if (unsubscribe) {
      headers['List-Unsubscribe'] = `<${headerSafe(unsubscribe)}>`;
      if (/^https:/i.test(unsubscribe)) headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
    }
    const body = { from, to: [r.email], subject: content.subject, html: content.html, text: content.text, headers: { ...headers, 'Message-ID': messageIdFor(campaign, r.id) } };
    if (campaign.replyTo) body.reply_to = [campaign.replyTo];
    const answer = await post(body, idempotencyKeyFor(campaign, r.id)).catch(() => null);
    if (answer?.status === 200 && answer.json.id) sent++;
    else failed++;
  }
}
await Promise.all(Array.from({ length: pool }, worker));
agent.destroy();
process.stdout.write(JSON.stringify({ sent, failed }) + '\n');
