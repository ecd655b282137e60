#!/usr/bin/env node
// Puts a benchmark campaign in the state a finished send leaves: every recipient claimed and
// recorded `sent` through the store's own step() — the engine's unit of work: the same recipient
// updates and the same attempt rows in the log — `per` recipients a step, all at time `at`
// (epoch ms; e.g. 100 days ago, for prune). No SMTP: what is measured afterwards is the database.
//   node bench/send-all.mjs <db file or postgres url> <at> [--per 500] [--nosync]
// --nosync: SQLite's synchronous=OFF on this connection (building a fixture needs no flush).
import { DIST, takeOption } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => takeOption(args, name, dflt);
const per = Number(opt('--per', '500'));
const nosync = args.includes('--nosync') ? (args.splice(args.indexOf('--nosync'), 1), true) : false;
const [db, atArg] = args;
const at = Number(atArg);
const { openStore } = await import(DIST('core/store/open.js'));
const { messageIdFor } = await import(DIST('core/message.js'));
const store = await openStore(db, { mustExist: true });
if (nosync && store.raw) store.raw.pragma('synchronous = OFF');
const t0 = performance.now();
const campaign = await store.getCampaign(1);
const owner = { host: 'bench', pid: process.pid, token: `bench-${process.pid}` };
await store.joinCampaign(1, owner, at, 3600_000, []);
let results = [];
let sent = 0;
for (;;) {
  const r = await store.step(1, owner.token, at, results, per);
  if (r.claim?.kind !== 'claimed') break;
  results = r.claim.recipients.map((rec, i) => ({
    recipientId: rec.id,
    outcome: 'sent',
    at: at + 1,
    detail: `250 2.0.0 Ok: queued as 4Z${(rec.id * 7919).toString(36).toUpperCase().padStart(8, 'X')}`,
    messageId: messageIdFor(campaign, rec.id),
  }));
  sent += results.length;
}
await store.leaveCampaign(1, owner.token, at + 2, []);
await store.close();
process.stdout.write(JSON.stringify({ sent, ms: Math.round(performance.now() - t0) }) + '\n');
