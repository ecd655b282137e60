// `npm start`: the demo, end to end, on the embedded default — a SQLite file and an outbox
// folder of .eml files (nothing leaves the machine). In a terminal it opens the TUI (select the
// demo, press s); without one (a pipe, CI) it sends the demo headless, batch after batch, the way
// the cron line would but without waiting out the 30 s between batches, and prints its status.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The file package.json's `bin` names: what `npx aremko-mail` runs.
const { bin } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const cli = fileURLToPath(new URL(`../${bin['aremko-mail']}`, import.meta.url));
const env = {
  ...process.env,
  AREMKO_MAIL_DB: process.env.AREMKO_MAIL_DB || 'data/demo.db',
  AREMKO_MAIL_TRANSPORT: process.env.AREMKO_MAIL_TRANSPORT || 'outbox:data/outbox',
};

function aremko(args, options = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', ...options });
  if (r.error) throw r.error;
  return r;
}

const demo = aremko(['demo', '--if-missing'], { stdio: ['ignore', 'pipe', 'inherit'] });
if (demo.status !== 0) process.exit(demo.status ?? 1);
const id = demo.stdout.trim();
console.error(`demo campaign ${id} in ${env.AREMKO_MAIL_DB}, sending to ${env.AREMKO_MAIL_TRANSPORT}`);

if (process.stdout.isTTY && process.stdin.isTTY) {
  process.exit(aremko([], { stdio: 'inherit' }).status ?? 0);
}

const status = () => JSON.parse(aremko(['status', id, '--json']).stdout);
if (status().status === 'draft') aremko(['start', id], { stdio: 'inherit' });
for (let s = status(); s.status === 'sending'; s = status()) {
  const run = aremko(['run', '--campaign', id, '--ignore-schedule', '--max-runtime', '5s'], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
aremko(['status', id], { stdio: 'inherit' });
