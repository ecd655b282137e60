#!/usr/bin/env node
// The baseline for the throughput benchmark: plain nodemailer with no state at all. It renders
// every recipient's message with the same MessageBuilder the engine uses (same bytes, same
// Message-ID), and sends them through nodemailer's pool (pool: true, maxConnections N), keeping
// 2 × N messages queued so that no connection ever waits for the next message.
//   node bench/plain-nodemailer.mjs <baseline.json> <port> [--pool 5] [--nodelay 1|0] [--window 10]
//
// --window: messages handed to nodemailer at once (default 2 × pool, so that each connection has
// its next message ready when an answer comes: how nodemailer's pool is normally used).
//
// --nodelay 1 (the default) gives nodemailer's sockets TCP_NODELAY, as the engine's transport
// and the sink have: nodemailer's pool does not set it, and against loopback's delayed ACKs that
// costs ~40 ms a message, which would turn the comparison into a measure of Nagle's algorithm.
// It is done with nodemailer's public `getSocket` option: we open the socket ourselves, set
// TCP_NODELAY, and hand it over as an already-connected `connection`.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import nodemailer from 'nodemailer';
import { DIST, takeOption } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => takeOption(args, name, dflt);
const pool = Number(opt('--pool', '5'));
const nodelay = opt('--nodelay', '1') === '1';
const windowSize = Number(opt('--window', String(pool * 2)));
const [file, portArg] = args;
const port = Number(portArg);

const { MessageBuilder } = await import(DIST('core/message.js'));
const { campaign, recipients } = JSON.parse(readFileSync(file, 'utf8'));
const builder = new MessageBuilder(campaign);
const from = /<([^>]+)>/.exec(campaign.from)?.[1] ?? campaign.from;

const transporter = nodemailer.createTransport({
  pool: true,
  maxConnections: pool,
  maxMessages: Infinity,
  host: '127.0.0.1',
  port,
  secure: false,
  ignoreTLS: true,
  ...(nodelay && {
    getSocket(options, callback) {
      const socket = net.connect({ host: options.host, port: options.port });
      socket.setNoDelay(true);
      socket.once('error', callback);
      socket.once('connect', () => {
        socket.off('error', callback);
        callback(null, { connection: socket });
      });
    },
  }),
});

let next = 0;
let sent = 0;
let failed = 0;
async function worker() {
  while (next < recipients.length) {
    const r = recipients[next++];
    const m = await builder.build(r);
    try {
      await transporter.sendMail({ envelope: { from, to: [r.email] }, raw: m.raw });
      sent++;
    } catch {
      failed++;
    }
  }
}
await Promise.all(Array.from({ length: windowSize }, worker));
transporter.close();
process.stdout.write(JSON.stringify({ sent, failed }) + '\n');
