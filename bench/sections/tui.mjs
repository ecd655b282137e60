// The TUI's CPU (issue 6): the built binary in tmux, idle on a paused campaign, then watching
// another process send it at 200 msg/s.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fmt, mb, pctOf } from '../harness.mjs';
import { cpuMsOf, loadAvg, measure, rssOf, sleep } from '../lib.mjs';

export const title = 'TUI';
const TUI_RATE = 200;
const POOL = 5;

export async function run(h, { sink }) {
  if (spawnSync('tmux', ['-V']).status !== 0) {
    h.R.sections.tui = { skipped: 'tmux is not installed' };
    return;
  }
  const S = h.P.tuiSeconds;
  const n = (S + 15) * TUI_RATE;
  const path = h.path('tui.db');
  // Paused to begin with: the idle window comes first, while nothing has ever been sent (for a
  // minute after sends stop, the per-minute rate on screen still changes).
  h.buildDb(path, n, '--rate', `${TUI_RATE}/1`, '--status', 'paused');
  h.log(`tui: ${S} s idle on a paused campaign, then ${S} s watching it sent at ${TUI_RATE} msg/s by another process (--rate ${TUI_RATE}/s)`);
  const socket = `aremko-bench-${process.pid}`;
  const tmux = (...a) => execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...a], { encoding: 'utf8' });
  const sentNow = () => h.counts(path).sent ?? 0;
  const sec = {};
  let sender = null;
  let senderErr = '';
  const senderLog = openSync(path + '.sender.log', 'w');
  try {
    const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
    // As an operator starts it: no NODE_ENV, no CI.
    tmux('new-session', '-d', '-s', 'tui', '-x', '80', '-y', '24', `exec env -u CI -u NODE_ENV LANG=en_US.UTF-8 ${q(h.NODE)} ${q(h.CLI)} --db ${q(path)} --lang en`);
    const pid = Number(tmux('display-message', '-p', '-t', 'tui', '#{pane_pid}').trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes(basename(h.CLI))) throw new Error(`tmux pane runs ${cmdline}, not the TUI`);
    const waitFor = async (text, ms = 15_000) => {
      const end = Date.now() + ms;
      for (;;) {
        const screen = tmux('capture-pane', '-p', '-t', 'tui');
        if (screen.includes(text)) return screen;
        if (Date.now() > end) throw new Error(`TUI: no "${text}" on screen:\n${screen}`);
        await sleep(100);
      }
    };
    const measureWindow = async () => {
      const c0 = cpuMsOf(pid);
      const s0 = sentNow();
      const t0 = process.hrtime.bigint();
      await sleep(S * 1000);
      const c1 = cpuMsOf(pid);
      const s1 = sentNow();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      return { cpuMs: c1 - c0, wallMs: ms, pctCore: pctOf(c1 - c0, ms), rate: ((s1 - s0) / ms) * 1000, rssKb: rssOf(pid).rssKb, load: loadAvg() };
    };
    await waitFor('#1 bench');
    tmux('send-keys', '-t', 'tui', 'Enter');
    await waitFor('aremko-mail › #1 bench');
    await sleep(2000); // start-up and first renders are not what is measured
    h.noteLoad('tui idle');
    sec.idle = await measureWindow();
    sec.idle.screen = tmux('capture-pane', '-p', '-t', 'tui');
    h.log(`  idle (paused): ${fmt(sec.idle.pctCore, 2)} % of a core, RSS ${fmt(mb(sec.idle.rssKb))} MB`);
    h.check(await measure(h.NODE, h.cli('--db', path, 'resume', '1'), { timeV: false }), 'resume');
    sender = spawn(h.NODE, h.cli('--db', path, 'run', '--campaign', '1', '--transport', `smtp://127.0.0.1:${sink.port}?pool=${POOL}`), { stdio: ['ignore', senderLog, 'pipe'] });
    sender.stderr.on('data', (d) => (senderErr += d));
    while (sentNow() === 0) await sleep(100);
    await waitFor('sending');
    await sleep(2000);
    h.noteLoad('tui busy');
    sec.busy = await measureWindow();
    sec.busy.screen = tmux('capture-pane', '-p', '-t', 'tui');
    h.log(`  busy: ${fmt(sec.busy.pctCore, 2)} % of a core (sender at ${fmt(sec.busy.rate)} msg/s), RSS ${fmt(mb(sec.busy.rssKb))} MB`);
  } finally {
    if (sender && sender.exitCode === null) {
      const done = new Promise((res) => sender.on('close', res));
      sender.kill('SIGTERM');
      await done;
    }
    closeSync(senderLog);
    spawnSync('tmux', ['-L', socket, 'kill-server']);
  }
  if (sender && sender.exitCode !== 0) throw new Error(`sender: exit ${sender.exitCode}: ${senderErr}`);
  h.R.sections.tui = { seconds: S, rate: TUI_RATE, recipients: n, ...sec };
}

export function summary(u) {
  if (u.skipped) return [{ goal: 'I6', what: 'TUI CPU', target: '—', measured: `skipped: ${u.skipped}`, met: null, load: '' }];
  return [
    { goal: 'I6', what: `TUI CPU watching ${fmt(u.busy.rate)} msg/s, ${u.seconds} s`, target: '< 10 % of a core', measured: `${fmt(u.busy.pctCore, 2)} %`, met: u.busy.pctCore < 10, load: u.busy.load },
    { goal: 'I6', what: `TUI CPU idle (paused), ${u.seconds} s`, target: '< 1 %', measured: `${fmt(u.idle.pctCore, 2)} %`, met: u.idle.pctCore < 1, load: u.idle.load },
  ];
}

export function body(u) {
  if (u.skipped) return [`Skipped: ${u.skipped}.`, ''];
  const L = [];
  L.push(`The built binary in tmux (80×24, \`aremko-mail --db … --lang en\`, started as an operator would: no NODE_ENV), the campaign opened (Enter: detail view with its log). Idle: the campaign is paused and nothing has been sent yet. Busy: then \`aremko-mail resume 1\`, and another process sends it: \`aremko-mail run\` on a campaign created with \`--rate ${u.rate}/s\` (${u.recipients.toLocaleString('en')} recipients), pool ${POOL}, to the sink. CPU time of the TUI process from /proc/<pid>/stat before and after each ${u.seconds} s window; the sender's rate from the database over the same window.`, '');
  L.push('| window | TUI CPU ms | % of one core | sender rate | TUI RSS MB | load |', '|---|---:|---:|---:|---:|---|');
  L.push(`| idle: the campaign paused | ${fmt(u.idle.cpuMs)} | ${fmt(u.idle.pctCore, 2)} | ${fmt(u.idle.rate)} msg/s | ${fmt(mb(u.idle.rssKb))} | ${u.idle.load} |`);
  L.push(`| watching the campaign send | ${fmt(u.busy.cpuMs)} | ${fmt(u.busy.pctCore, 2)} | ${fmt(u.busy.rate)} msg/s | ${fmt(mb(u.busy.rssKb))} | ${u.busy.load} |`);
  L.push('', 'The screen at the end of the busy window:', '', '```', u.busy.screen.replace(/\s+$/, ''), '```', '');
  return L;
}
