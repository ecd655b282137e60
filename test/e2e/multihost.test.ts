/**
 * Many runners, many hosts, one campaign — the hard way. Three test hosts (network namespaces with
 * host names of their own) run `aremko-mail run` against one PostgreSQL and one SMTP sink on the
 * database host. Runners are SIGKILLed at seeded-random moments and started again; one host's
 * link is cut for longer than the lease (until another runner has taken it over), then restored.
 *
 * At the end every recipient is `sent` — received exactly once by the sink — or `in_doubt`, no
 * more of those than messages could have been in flight at the kills and the cut, and no message
 * was received twice. Chaos is driven by what the runners print (sends, takeovers), not by timers.
 */
import { type ChildProcess } from 'node:child_process';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageIdFor } from '../../src/core/message.js';
import type { Store } from '../../src/core/store.js';
import { openStore } from '../../src/core/store/open.js';
import { CLI, POSTGRES_MODULE, POSTGRES_URL_MODULE } from '../helpers/cli.js';
import { canMakeNetwork, createNetwork, type TestNetwork } from '../helpers/netns.js';
import { startPgServer, type PgServer } from '../helpers/postgres-server.js';
import { startTestSmtp, type TestSmtp } from '../helpers/smtp-server.js';
import { addRecipients, settings } from '../helpers/store.js';
import { prng } from '../helpers/prng.js';

const RECIPIENTS = 2000;
const POOL = 3;
const KILLS = 4;
/** Shorter than in production (60), to keep the test short; longer than the 5 s a stalled transaction can hold the campaign. */
const LEASE_SECONDS = 8;

interface Runner {
  host: string;
  child: ChildProcess;
  events: Record<string, any>[];
  stderr: string;
  exited: Promise<number | null>;
}

describe.skipIf(!canMakeNetwork() && process.env.CI !== 'true')('runners on three hosts share one campaign on PostgreSQL', () => {
  let net: TestNetwork;
  let pg: PgServer;
  let smtp: TestSmtp;
  let store: Store;
  const all: Runner[] = [];
  let sentLines = 0;
  const waiters: { test: () => boolean; resolve: () => void }[] = [];
  const poke = () => {
    for (const w of [...waiters]) if (w.test()) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  };
  /** Where every runner stands: what a wait that never ends must say (no log of its own in CI). */
  const standing = () =>
    all
      .map((r) => {
        const last = r.events.slice(-2).map((e) => `${e.type}${e.recipientId ? ` #${e.recipientId}` : ''}`);
        return `  ${r.host} pid ${r.child.pid}: ${r.child.signalCode ?? (r.child.exitCode === null ? 'running' : `exit ${r.child.exitCode}`)}, ${r.events.length} events, last ${last.join(', ') || '-'}; stderr ${JSON.stringify(r.stderr.slice(-300))}`;
      })
      .join('\n');
  /**
   * What the database's sessions are doing (who holds a transaction open, who waits for a lock,
   * from which host): a runner stuck behind a lock is stuck behind one of these.
   */
  const sessions = async (): Promise<string> => {
    const sql = postgres(pg.url, { max: 1, onnotice: () => undefined });
    try {
      const rows = await sql`
        SELECT pid, client_addr::text AS host, state, wait_event_type AS wait_type, wait_event AS wait,
          round(extract(epoch FROM now() - xact_start)::numeric, 1) AS xact_s,
          round(extract(epoch FROM now() - state_change)::numeric, 1) AS state_s,
          pg_blocking_pids(pid) AS blocked_by, left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 100) AS query
        FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`;
      return rows.map((r) => `  ${JSON.stringify(r)}`).join('\n') || '  (none)';
    } catch (err) {
      return `  (could not read them: ${(err as Error).message})`;
    } finally {
      await sql.end({ timeout: 1 });
    }
  };
  /**
   * Resolves when `test` holds, checked on every line a runner prints and every exit. A wait that
   * lasts past `withinMs` fails naming itself and where each runner stands, instead of running
   * into the test's time-out with nothing to go on.
   */
  const until = (what: string, test: () => boolean, withinMs = 90_000) =>
    test()
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            waiters.splice(waiters.indexOf(waiter), 1);
            void sessions().then((db) =>
              reject(new Error(`still waiting after ${withinMs / 1000} s for ${what} (${sentLines} sent lines):\n${standing()}\ndatabase sessions:\n${db}`)),
            );
          }, withinMs);
          const waiter = { test, resolve: () => (clearTimeout(timer), resolve()) };
          waiters.push(waiter);
        });

  beforeAll(async () => {
    net = createNetwork(['h1', 'h2', 'h3']);
    pg = await startPgServer({ listen: ['127.0.0.1', net.gateway], allow: [net.cidr] });
    smtp = await startTestSmtp({ host: net.gateway });
  });
  afterAll(async () => {
    for (const r of all) r.child.kill('SIGKILL');
    await store?.close();
    await smtp?.close();
    pg?.stop();
    net?.destroy();
  });

  it('every recipient sent exactly once or in doubt, through kills and a cut link', async () => {
    const local = `${pg.url}&schema=multi`;
    const remote = local.replace('127.0.0.1', net.gateway);
    store = await openStore(local);
    const c = await store.createCampaign(settings({ batchSize: 100, intervalSeconds: 0 }), Date.now());
    await addRecipients(store, c.id, RECIPIENTS);
    await store.transition(c.id, ['draft'], 'sending', Date.now());
    const transport = `smtp://${net.gateway}:${smtp.port}?pool=${POOL}&insecure=1`;

    const start = (host: string): Runner => {
      const child = net.spawn(host, process.execPath, [CLI, 'run', '--campaign', String(c.id), '--db', remote, '--transport', transport, '--log-format', 'json'], {
        env: { ...process.env, NO_COLOR: '1', AREMKO_MAIL_LEASE_SECONDS: String(LEASE_SECONDS) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const r: Runner = { host, child, events: [], stderr: '', exited: new Promise((resolve) => child.on('close', (code) => (resolve(code), poke()))) };
      let partial = '';
      child.stdout!.on('data', (d: Buffer) => {
        const parts = (partial + d.toString()).split('\n');
        partial = parts.pop()!;
        for (const line of parts) {
          const e = JSON.parse(line);
          r.events.push(e);
          if (e.type === 'sent') sentLines++;
        }
        poke();
      });
      child.stderr!.on('data', (d: Buffer) => (r.stderr += d.toString()));
      child.on('close', (code) => { if (process.env.MH_DEBUG) console.error(`[${host} exit ${code}] ${r.stderr.slice(-500)} last: ${JSON.stringify(r.events.slice(-3))}`); });
      all.push(r);
      return r;
    };

    const live = new Map(net.hosts.map((h) => [h, start(h)]));
    const random = prng(20261201);
    let kills = 0;
    let cut = false;
    for (let step = 0; step < KILLS + 1; step++) {
      // the next moment: some more sends by anyone
      const target = sentLines + 60 + Math.floor(random() * 120);
      if (process.env.MH_DEBUG) console.error(`step ${step} sent ${sentLines} target ${target}`);
      await until(`${target} sent lines`, () => sentLines >= target || [...live.values()].every((r) => r.child.exitCode !== null));
      if ([...live.values()].every((r) => r.child.exitCode !== null)) break;
      if (step === 2 && !cut) {
        // h2 drops off the network for longer than its lease: the others take its recipients over
        const victim = live.get('h2')!;
        const owner = () => victim.events.find((e) => e.type === 'runner_joined')?.owner as string | undefined;
        await until('h2 to join', () => owner() !== undefined || victim.child.exitCode !== null);
        if (process.env.MH_DEBUG) console.error(`cut h2 (${owner()}) at ${sentLines}`);
        net.cut('h2');
        cut = true;
        // (unless the others finish the whole campaign first: then nobody needs to look)
        await until(
          `another runner to reap h2 (${owner()})`,
          () =>
            all.some((r) => r !== victim && r.events.some((e) => e.type === 'runner_reaped' && e.owner === owner())) ||
            [...live.values()].every((r) => r === victim || r.child.exitCode !== null),
        );
        if (process.env.MH_DEBUG) console.error(`restore h2 at ${sentLines}`);
        net.restore('h2');
        continue;
      }
      const host = net.hosts[Math.floor(random() * net.hosts.length)]!;
      const victim = live.get(host)!;
      if (victim.child.exitCode !== null) continue;
      victim.child.kill('SIGKILL');
      await victim.exited;
      kills++;
      live.set(host, start(host));
    }
    expect(cut).toBe(true);
    expect(kills).toBeGreaterThanOrEqual(2);
    await until('every runner to exit', () => [...live.values()].every((r) => r.child.exitCode !== null || r.child.signalCode !== null));
    // whatever the chaos left (a runner that lost its lease leaves at once): one clean run ends it
    const last = start('h1');
    await until('the last run to exit', () => last.child.exitCode !== null);
    expect(last.child.exitCode, standing()).toBe(0);

    const [summary] = await store.summaries([c.id]);
    expect(summary!.campaign.status).toBe('completed');
    const rows: { id: number; email: string; status: string }[] = [];
    for await (const r of store.iterateRecipients(c.id)) rows.push({ id: r.id, email: r.email, status: r.status });
    expect(rows.filter((r) => r.status !== 'sent' && r.status !== 'in_doubt')).toEqual([]);

    const received = new Map<string, number>();
    for (const m of smtp.received) received.set(m.messageId, (received.get(m.messageId) ?? 0) + 1);
    expect([...received].filter(([, n]) => n > 1)).toEqual([]); // nothing twice
    const campaign = summary!.campaign;
    for (const r of rows.filter((x) => x.status === 'sent')) expect(received.get(messageIdFor(campaign, r.id)), r.email).toBe(1);
    const inDoubt = rows.filter((r) => r.status === 'in_doubt').length;
    expect(inDoubt).toBeLessThanOrEqual(POOL * (kills + 1));
    expect(summary!.counts).toMatchObject({ total: RECIPIENTS, sent: rows.length - inDoubt, in_doubt: inDoubt, sending: 0, pending: 0 });
    const hostsThatSent = new Set(all.filter((r) => r.events.some((e) => e.type === 'sent')).map((r) => r.host));
    expect(hostsThatSent.size).toBe(3);
    console.log(`multi-host: ${kills} kills, 1 cut, ${rows.length - inDoubt} sent, ${inDoubt} in_doubt (bound ${POOL * (kills + 1)}), ${smtp.received.length} at the sink`);
  }, 240_000);

  it('a runner cut off in the middle of a pipeline does not hold the campaign: the server lets go within about 11 s', async () => {
    // What the chaos above once caught (and a wait of 90 s showed): a session whose link was cut
    // after a statement ran but before the Sync behind it arrived stays `active`, waiting for its
    // client — not idle in a transaction, so idle_in_transaction_session_timeout never ends it —
    // with the campaign row locked. Here a process on h3 opens the tool's own connection, takes
    // the campaign's lock with the Sync held back, and its link is cut.
    const local = `${pg.url}&schema=cut`;
    const cutStore = await openStore(local);
    const c = await cutStore.createCampaign(settings(), Date.now());
    await cutStore.close();
    const script = `
      import net from 'node:net';
      const { connect } = await import(${JSON.stringify(POSTGRES_MODULE)});
      const { parsePostgresUrl } = await import(${JSON.stringify(POSTGRES_URL_MODULE)});
      let armed = false, cut = false;
      const types = (b) => { const t = []; let i = 0; while (i + 5 <= b.length) { t.push(String.fromCharCode(b[i])); i += 1 + b.readInt32BE(i + 1); } return i === b.length ? t : []; };
      const write = net.Socket.prototype.write;
      net.Socket.prototype.write = function (chunk, ...rest) {
        if (this === process.stdout || this === process.stderr) return write.call(this, chunk, ...rest);
        if (cut) return true;
        if (armed && Buffer.isBuffer(chunk)) {
          const t = types(chunk);
          if (t.includes('E') && t[t.length - 1] === 'S') {
            cut = true;
            write.call(this, chunk.subarray(0, chunk.length - 5), ...rest);
            process.stdout.write('sent\\n');
            return true;
          }
        }
        return write.call(this, chunk, ...rest);
      };
      const sql = connect(parsePostgresUrl(process.argv[1]), { max: 1 });
      const lock = (tx) => tx\`SELECT id FROM campaigns WHERE id = \${${c.id}} FOR NO KEY UPDATE\`;
      await sql.begin(lock); // prepared: the next one is a Bind, an Execute and a Sync
      await sql.begin((tx) => { armed = true; return lock(tx); });`;
    const child = net.spawn('h3', process.execPath, ['--input-type=module', '-e', script, local.replace('127.0.0.1', net.gateway)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const admin = postgres(pg.url, { max: 1, onnotice: () => undefined });
    try {
      const deadline = Date.now() + 30_000;
      let holder: { state: string; wait: string } | undefined;
      while (!holder || !out.includes('sent')) {
        if (Date.now() > deadline) throw new Error(`the process on h3 never took the lock: ${out}`);
        [holder] = await admin`
          SELECT a.state, a.wait_event AS wait FROM pg_locks l JOIN pg_stat_activity a USING (pid)
          WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND a.client_addr = ${net.gateway.replace(/\.1$/, '.12')}::inet
            AND a.query LIKE '%FOR NO KEY UPDATE%'`;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(holder).toEqual({ state: 'active', wait: 'ClientRead' });
      net.cut('h3');
      const started = Date.now();
      // The campaign's lock, as another runner's step takes it: granted once the server ended h3's session.
      await admin
        .begin(async (tx) => {
          await tx`SET LOCAL lock_timeout = '40s'`;
          await tx.unsafe(`SELECT id FROM cut.campaigns WHERE id = ${c.id} FOR NO KEY UPDATE`);
        })
        .catch((err: { code?: string }) => {
          if (err.code !== '55P03') throw err;
          throw new Error("the campaign was still held 40 s after the cut: the server kept h3's session, and with it the row's lock");
        });
      const waited = (Date.now() - started) / 1000;
      expect(waited, `the campaign was held ${waited} s after the cut`).toBeLessThan(25);
    } finally {
      net.restore('h3');
      child.kill('SIGKILL');
      await admin.end({ timeout: 5 });
    }
  }, 90_000);
});
