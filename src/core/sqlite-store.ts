/**
 * The SQLite implementation of Store (better-sqlite3, WAL, synchronous=FULL).
 * better-sqlite3 is synchronous; methods are async only to honour the Store contract.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import type {
  ClaimResult,
  ImportCounts,
  ImportSession,
  LeaseOwner,
  LeaseResult,
  NewEvent,
  PendingResult,
  ResultUpdate,
  StagedRecipient,
  StepResult,
  Store,
} from './store.js';
import type {
  Campaign,
  CampaignSettings,
  CampaignStatus,
  CampaignSummary,
  EventLevel,
  Lease,
  Recipient,
  RecipientStatus,
  StatusCounts,
  StoredEvent,
  Suppression,
} from './types.js';
import { emptyCounts, UserError } from './types.js';

type Row = Record<string, any>;

export interface OpenOptions {
  /** Open an existing file only (read commands): never create one. */
  mustExist?: boolean;
  busyTimeoutMs?: number;
}

/** Opens (creating if needed) and migrates an aremko-mail database file. */
export function openSqliteStore(path: string, options: OpenOptions = {}): SqliteStore {
  const file = resolve(path);
  const isNew = !existsSync(file);
  if (isNew) {
    if (options.mustExist) throw new UserError(`database ${file} does not exist (create a campaign first, or set --db)`);
    mkdirSync(dirname(file), { recursive: true });
    // Create the file ourselves so it is 0600 from the first byte; SQLite gives -wal/-shm the
    // database file's mode.
    closeSync(openSync(file, 'a', 0o600));
  }
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: options.busyTimeoutMs ?? 10_000 });
  } catch (err) {
    throw new UserError(`cannot open database ${file}: ${(err as Error).message}`);
  }
  try {
    checkIdentity(db, file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(file + suffix)) chmodSync(file + suffix, 0o600);
  }
  return new SqliteStore(db, file);
}

function checkIdentity(db: Database.Database, file: string): void {
  let appId: number;
  let version: number;
  let tables: number;
  try {
    appId = db.pragma('application_id', { simple: true }) as number;
    version = db.pragma('user_version', { simple: true }) as number;
    tables = (db.prepare(`SELECT count(*) AS n FROM sqlite_master`).get() as Row).n;
  } catch (err) {
    throw new UserError(`${file} is not an aremko-mail database (${(err as Error).message}); it was left untouched`);
  }
  if (appId === 0 && tables === 0) return; // empty: new database
  if (appId !== APPLICATION_ID)
    throw new UserError(`${file} is not an aremko-mail database (another application's SQLite file); it was left untouched`);
  if (version > SCHEMA_VERSION)
    throw new UserError(
      `${file} was written by a newer aremko-mail (schema ${version}, this one knows up to ${SCHEMA_VERSION}); upgrade aremko-mail. The file was left untouched`,
    );
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

function toCampaign(r: Row): Campaign {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    subject: r.subject_tpl,
    from: r.from_addr,
    replyTo: r.reply_to,
    html: r.html_tpl,
    text: r.text_tpl,
    batchSize: r.batch_size,
    intervalSeconds: r.interval_s,
    rate: r.rate_count ? { count: r.rate_count, windowSeconds: r.rate_window_s } : null,
    window: r.window_start ? { start: r.window_start, end: r.window_end } : null,
    timeZone: r.time_zone,
    unsubscribe: r.unsubscribe,
    maxAttempts: r.max_attempts,
    retryDelaySeconds: r.retry_delay_s,
    nextBatchAt: r.next_batch_at,
    batchesSent: r.batches_sent,
    batchClaimed: r.batch_claimed,
    lastError: r.last_error,
    createdAt: r.created_at,
    startedAt: r.started_at,
    completedAt: r.completed_at,
  };
}

function toRecipient(r: Row): Recipient {
  return {
    id: r.id,
    campaignId: r.campaign_id,
    email: r.email,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastAttemptAt: r.last_attempt_at,
    lastError: r.last_error,
    messageId: r.message_id,
    providerId: r.provider_id ?? null,
    sentAt: r.sent_at,
    batch: r.batch,
    fields: JSON.parse(r.fields),
  };
}

function toLease(r: Row | undefined): Lease | null {
  if (!r) return null;
  return {
    campaignId: r.campaign_id,
    owner: r.owner,
    host: r.host,
    pid: r.pid,
    token: r.token,
    acquiredAt: r.acquired_at,
    expiresAt: r.expires_at,
  };
}

function toEvent(r: Row): StoredEvent {
  return {
    id: r.id,
    campaignId: r.campaign_id,
    at: r.at,
    level: r.level as EventLevel,
    type: r.type,
    message: r.message,
    data: r.data ? JSON.parse(r.data) : null,
  };
}

export class SqliteStore implements Store {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    readonly location: string,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      campaign: p(`SELECT * FROM campaigns WHERE id = ?`),
      campaigns: p(`SELECT * FROM campaigns ORDER BY id`),
      counts: p(`SELECT status, n FROM campaign_counts WHERE campaign_id = ?`),
      lease: p(`SELECT * FROM leases WHERE campaign_id = ?`),
      insertEvent: p(
        `INSERT INTO events (campaign_id, at, level, type, message, data) VALUES (@campaignId, @at, @level, @type, @message, @data)`,
      ),
      nextDue: p(
        `SELECT * FROM recipients WHERE campaign_id = ? AND status = 'pending' AND next_attempt_at <= ?
         ORDER BY next_attempt_at, id LIMIT ?`,
      ),
      recentCount: p(`SELECT count(*) AS n FROM recipients WHERE campaign_id = ? AND last_attempt_at > ?`),
      nextRetry: p(
        `SELECT min(next_attempt_at) AS at FROM recipients WHERE campaign_id = ? AND status = 'pending'`,
      ),
      claim: p(
        `UPDATE recipients SET status = 'sending', attempts = attempts + 1, last_attempt_at = @now,
           claim_token = @token, batch = @batch WHERE id = @id AND status = 'pending'`,
      ),
      countBatch: p(`UPDATE campaigns SET batch_claimed = batch_claimed + ? WHERE id = ?`),
      uncountBatch: p(
        `UPDATE campaigns SET batch_claimed = max(batch_claimed - 1, 0)
         WHERE id = (SELECT campaign_id FROM recipients WHERE id = ?)`,
      ),
      // the oldest attempt among the newest `n` inside the window: when it leaves, one more may go.
      rateEdge: p(
        `SELECT last_attempt_at AS at FROM recipients WHERE campaign_id = ? AND last_attempt_at > ?
         ORDER BY last_attempt_at DESC LIMIT 1 OFFSET ?`,
      ),
      recipientById: p(`SELECT * FROM recipients WHERE id = ?`),
      recordResult: p(
        `UPDATE recipients SET status = @status, last_error = @lastError, next_attempt_at = @nextAttemptAt,
           sent_at = coalesce(@sentAt, sent_at), message_id = coalesce(@messageId, message_id),
           attempts = attempts - @refund, claim_token = NULL,
           last_attempt_at = CASE WHEN @refund THEN NULL ELSE last_attempt_at END
         WHERE id = @id AND claim_token = @token AND status IN ('sending', 'in_doubt')`,
      ),
      suppress: p(
        `INSERT INTO suppressions (email, reason, created_at) VALUES (?, ?, ?) ON CONFLICT (email) DO NOTHING`,
      ),
      unsuppress: p(`DELETE FROM suppressions WHERE email = ?`),
      markInDoubt: p(
        `UPDATE recipients SET status = 'in_doubt',
           last_error = 'its runner stopped before the server answered: may or may not have been delivered'
         WHERE campaign_id = ? AND status = 'sending'`,
      ),
    };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** The underlying connection, for benchmarks and tests that inspect the file. */
  get raw(): Database.Database {
    return this.db;
  }

  private campaignRow(id: number): Campaign | null {
    const r = this.s.campaign.get(id) as Row | undefined;
    return r ? toCampaign(r) : null;
  }

  private countsOf(id: number): StatusCounts {
    const counts = emptyCounts();
    for (const r of this.s.counts.all(id) as Row[]) {
      counts[r.status as RecipientStatus] = r.n;
      counts.total += r.n;
    }
    return counts;
  }

  private event(e: NewEvent): number {
    const info = this.s.insertEvent.run({
      campaignId: e.campaignId,
      at: e.at,
      level: e.level,
      type: e.type,
      message: e.message,
      data: e.data ? JSON.stringify(e.data) : null,
    });
    return Number(info.lastInsertRowid);
  }

  async createCampaign(c: CampaignSettings, now: number): Promise<Campaign> {
    const info = this.db
      .prepare(
        `INSERT INTO campaigns (name, subject_tpl, from_addr, reply_to, html_tpl, text_tpl, batch_size,
           interval_s, rate_count, rate_window_s, window_start, window_end, time_zone, unsubscribe,
           max_attempts, retry_delay_s, created_at)
         VALUES (@name, @subject, @from, @replyTo, @html, @text, @batchSize, @intervalSeconds, @rateCount,
           @rateWindow, @windowStart, @windowEnd, @timeZone, @unsubscribe, @maxAttempts, @retryDelaySeconds, @now)`,
      )
      .run({
        ...c,
        rateCount: c.rate?.count ?? null,
        rateWindow: c.rate?.windowSeconds ?? null,
        windowStart: c.window?.start ?? null,
        windowEnd: c.window?.end ?? null,
        now,
      });
    return this.campaignRow(Number(info.lastInsertRowid))!;
  }

  async getCampaign(id: number): Promise<Campaign | null> {
    return this.campaignRow(id);
  }

  async listCampaigns(): Promise<Campaign[]> {
    return (this.s.campaigns.all() as Row[]).map(toCampaign);
  }

  async summaries(ids?: number[]): Promise<CampaignSummary[]> {
    // One read transaction: counts, campaign and lease are seen at the same instant.
    return this.db.transaction(() => {
      const campaigns = ids
        ? ids.map((id) => this.campaignRow(id)).filter((c): c is Campaign => c !== null)
        : (this.s.campaigns.all() as Row[]).map(toCampaign);
      return campaigns.map((campaign) => ({
        campaign,
        counts: this.countsOf(campaign.id),
        lease: toLease(this.s.lease.get(campaign.id) as Row | undefined),
      }));
    })();
  }

  async transition(id: number, from: readonly CampaignStatus[], to: CampaignStatus, now: number) {
    return this.db
      .transaction(() => {
        const c = this.campaignRow(id);
        if (!c || !from.includes(c.status)) return { ok: false as const, status: c?.status ?? null };
        const starting = c.status === 'draft' && to === 'sending';
        this.db
          .prepare(
            `UPDATE campaigns SET status = @to,
               started_at = CASE WHEN @starting THEN @now ELSE started_at END,
               next_batch_at = CASE WHEN @starting THEN @now ELSE next_batch_at END,
               completed_at = CASE WHEN @to IN ('completed','cancelled') THEN @now ELSE NULL END
             WHERE id = @id`,
          )
          .run({ id, to, now, starting: starting ? 1 : 0 });
        this.event({
          campaignId: id,
          at: now,
          level: 'info',
          type: 'status',
          message: `campaign ${c.status} → ${to}`,
          data: { from: c.status, to },
        });
        return { ok: true as const, campaign: this.campaignRow(id)! };
      })
      .immediate();
  }

  async setLastError(id: number, message: string | null): Promise<void> {
    this.db.prepare(`UPDATE campaigns SET last_error = ? WHERE id = ?`).run(message, id);
  }

  async makeBatchDue(id: number, now: number): Promise<void> {
    this.db
      .prepare(`UPDATE campaigns SET next_batch_at = ? WHERE id = ? AND (next_batch_at IS NULL OR next_batch_at > ?)`)
      .run(now, id, now);
  }

  async beginImport(campaignId: number): Promise<ImportSession> {
    const db = this.db;
    // TEMP tables live in this connection only: staging takes no lock a runner would wait on.
    db.exec(`DROP TABLE IF EXISTS temp.import_stage;
      CREATE TEMP TABLE import_stage (line INTEGER PRIMARY KEY, email TEXT NOT NULL, fields TEXT NOT NULL)`);
    const stage = db.prepare(`INSERT INTO temp.import_stage (line, email, fields) VALUES (?, ?, ?)`);
    const stageMany = db.transaction((rows: StagedRecipient[]) => {
      for (const r of rows) stage.run(r.line, r.email, JSON.stringify(r.fields));
    });
    let staged = 0;
    const drop = () => db.exec(`DROP TABLE IF EXISTS temp.import_stage`);
    return {
      add: async (rows) => {
        stageMany(rows);
        staged += rows.length;
      },
      commit: async (): Promise<ImportCounts> => {
        try {
          return db
            .transaction(() => {
              const before = this.countsOf(campaignId);
              // Line order: the first occurrence of an address in the file wins; later ones and
              // addresses already in the campaign hit the unique key and are counted duplicates.
              db.prepare(
                `INSERT INTO recipients (campaign_id, email, status, fields)
                 SELECT ?, s.email,
                   CASE WHEN EXISTS (SELECT 1 FROM suppressions x WHERE x.email = s.email) THEN 'suppressed' ELSE 'pending' END,
                   s.fields
                 FROM temp.import_stage s WHERE true ORDER BY s.line
                 ON CONFLICT (campaign_id, email) DO NOTHING`,
              ).run(campaignId);
              const after = this.countsOf(campaignId);
              const imported = after.pending - before.pending;
              const suppressed = after.suppressed - before.suppressed;
              return { imported, suppressed, duplicates: staged - imported - suppressed };
            })
            .immediate();
        } finally {
          drop();
        }
      },
      abort: async () => {
        drop();
      },
    };
  }

  async missingFields(campaignId: number, fields: string[]): Promise<Map<string, number>> {
    const missing = new Map<string, number>();
    for (const f of fields) {
      const n = (
        this.db
          .prepare(
            `SELECT count(*) AS n FROM recipients WHERE campaign_id = ? AND status <> 'suppressed'
             AND json_type(fields, ?) IS NULL`,
          )
          .get(campaignId, `$."${f.replace(/"/g, '""')}"`) as Row
      ).n;
      if (n > 0) missing.set(f, n);
    }
    return missing;
  }

  async getRecipient(campaignId: number, email: string): Promise<Recipient | null> {
    const r = this.db.prepare(`SELECT * FROM recipients WHERE campaign_id = ? AND email = ?`).get(campaignId, email.trim());
    return r ? toRecipient(r as Row) : null;
  }

  async firstRecipient(campaignId: number): Promise<Recipient | null> {
    const r = this.db
      .prepare(`SELECT * FROM recipients WHERE campaign_id = ? AND status <> 'suppressed' ORDER BY id LIMIT 1`)
      .get(campaignId);
    return r ? toRecipient(r as Row) : null;
  }

  async *iterateRecipients(campaignId: number, status?: RecipientStatus): AsyncIterable<Recipient> {
    // Keyset pages over the rowid range the campaign spans: no statement stays open across
    // awaits, memory stays flat, and each page is a range read already in id order. (The unary
    // `+` keeps SQLite off the (campaign_id, …) indexes, with which it sorted the whole campaign
    // for every page: minutes for 1M rows.) Rows added after the start are not visited.
    const span = this.db.prepare(`SELECT min(id) AS lo, max(id) AS hi FROM recipients WHERE campaign_id = ?`).get(campaignId) as Row;
    if (span.lo === null) return;
    const page = status
      ? this.db.prepare(
          `SELECT * FROM recipients WHERE id > ? AND id <= ? AND +campaign_id = ? AND +status = ? ORDER BY id LIMIT 1000`,
        )
      : this.db.prepare(`SELECT * FROM recipients WHERE id > ? AND id <= ? AND +campaign_id = ? ORDER BY id LIMIT 1000`);
    let after = span.lo - 1;
    for (;;) {
      const rows = (status ? page.all(after, span.hi, campaignId, status) : page.all(after, span.hi, campaignId)) as Row[];
      if (rows.length === 0) return;
      for (const r of rows) yield toRecipient(r);
      after = rows[rows.length - 1]!.id;
    }
  }

  async resolveInDoubt(campaignId: number, mode: 'resend' | 'mark-sent', now: number): Promise<number> {
    return this.db
      .transaction(() => {
        const info =
          mode === 'resend'
            ? this.db
                .prepare(
                  `UPDATE recipients SET status = 'pending', next_attempt_at = 0, claim_token = NULL
                   WHERE campaign_id = ? AND status = 'in_doubt'`,
                )
                .run(campaignId)
            : this.db
                .prepare(
                  `UPDATE recipients SET status = 'sent', sent_at = coalesce(sent_at, ?), claim_token = NULL,
                     last_error = 'marked sent by the operator'
                   WHERE campaign_id = ? AND status = 'in_doubt'`,
                )
                .run(now, campaignId);
        if (mode === 'resend' && info.changes > 0) {
          this.db
            .prepare(
              `UPDATE campaigns SET status = 'sending', completed_at = NULL, next_batch_at = coalesce(next_batch_at, ?)
               WHERE id = ? AND status = 'completed'`,
            )
            .run(now, campaignId);
        }
        this.event({
          campaignId,
          at: now,
          level: 'info',
          type: 'resolve',
          message: `${info.changes} in-doubt recipient(s) ${mode === 'resend' ? 'queued to send again' : 'marked sent'}`,
          data: { mode, count: info.changes },
        });
        return info.changes;
      })
      .immediate();
  }

  async addSuppressions(emails: string[], reason: string, now: number): Promise<number> {
    return this.db
      .transaction(() => {
        let added = 0;
        const mark = this.db.prepare(
          `UPDATE recipients SET status = 'suppressed' WHERE email = ? AND status = 'pending'`,
        );
        for (const e of emails) {
          added += this.s.suppress.run(e.trim(), reason, now).changes;
          // Not yet sent anywhere: honour the suppression in every campaign at once.
          mark.run(e.trim());
        }
        return added;
      })
      .immediate();
  }

  async removeSuppressions(emails: string[]): Promise<number> {
    return this.db
      .transaction(() => {
        let removed = 0;
        for (const e of emails) removed += this.s.unsuppress.run(e.trim()).changes;
        return removed;
      })
      .immediate();
  }

  async listSuppressions(): Promise<Suppression[]> {
    return (this.db.prepare(`SELECT * FROM suppressions ORDER BY email`).all() as Row[]).map((r) => ({
      email: r.email,
      reason: r.reason,
      createdAt: r.created_at,
    }));
  }

  async changeMarker(): Promise<number> {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  async addEvent(e: NewEvent): Promise<number> {
    return this.event(e);
  }

  async listEvents(campaignId: number | null, options: { afterId?: number; limit?: number } = {}): Promise<StoredEvent[]> {
    const limit = options.limit ?? 100;
    const where = campaignId === null ? `1 = 1` : `campaign_id = @campaignId`;
    if (options.afterId !== undefined) {
      return (
        this.db
          .prepare(`SELECT * FROM events WHERE ${where} AND id > @afterId ORDER BY id LIMIT @limit`)
          .all({ campaignId, afterId: options.afterId, limit }) as Row[]
      ).map(toEvent);
    }
    const rows = this.db
      .prepare(`SELECT * FROM events WHERE ${where} ORDER BY id DESC LIMIT @limit`)
      .all({ campaignId, limit }) as Row[];
    return rows.reverse().map(toEvent);
  }

  async getLease(campaignId: number): Promise<Lease | null> {
    return toLease(this.s.lease.get(campaignId) as Row | undefined);
  }

  async acquireLease(
    campaignId: number,
    owner: LeaseOwner,
    now: number,
    ttlMs: number,
    canTakeOver: (holder: Lease) => boolean,
  ): Promise<LeaseResult> {
    return this.db
      .transaction((): LeaseResult => {
        const holder = toLease(this.s.lease.get(campaignId) as Row | undefined);
        if (holder && holder.token !== owner.token && holder.expiresAt > now && !canTakeOver(holder)) {
          return { acquired: false, holder };
        }
        this.db
          .prepare(
            `INSERT INTO leases (campaign_id, owner, host, pid, token, acquired_at, expires_at)
             VALUES (@campaignId, @owner, @host, @pid, @token, @now, @expires)
             ON CONFLICT (campaign_id) DO UPDATE SET owner = excluded.owner, host = excluded.host,
               pid = excluded.pid, token = excluded.token, acquired_at = excluded.acquired_at,
               expires_at = excluded.expires_at`,
          )
          .run({ campaignId, owner: `${owner.host}:${owner.pid}`, ...owner, now, expires: now + ttlMs });
        // Only a lease holder claims, so any `sending` row now belongs to a runner that is gone.
        const markedInDoubt = holder?.token === owner.token ? 0 : this.s.markInDoubt.run(campaignId).changes;
        return {
          acquired: true,
          lease: toLease(this.s.lease.get(campaignId) as Row)!,
          tookOverFrom: holder && holder.token !== owner.token ? holder : null,
          markedInDoubt,
        };
      })
      .immediate();
  }

  async renewLease(campaignId: number, token: string, now: number, ttlMs: number): Promise<boolean> {
    return (
      this.db.prepare(`UPDATE leases SET expires_at = ? WHERE campaign_id = ? AND token = ?`).run(now + ttlMs, campaignId, token)
        .changes === 1
    );
  }

  async releaseLease(campaignId: number, token: string): Promise<void> {
    this.db.prepare(`DELETE FROM leases WHERE campaign_id = ? AND token = ?`).run(campaignId, token);
  }

  /** Claims up to `max` due recipients; every rule (status, lease, batch, rate) checked here. */
  private claimSync(campaignId: number, token: string, now: number, max: number): ClaimResult {
    const c = this.campaignRow(campaignId);
    if (!c) return { kind: 'stopped', status: 'cancelled' };
    if (c.status !== 'sending') return { kind: 'stopped', status: c.status };
    const lease = toLease(this.s.lease.get(campaignId) as Row | undefined);
    if (!lease || lease.token !== token || lease.expiresAt <= now) return { kind: 'lost_lease' };
    if (c.batchClaimed === 0 && c.nextBatchAt !== null && c.nextBatchAt > now)
      return { kind: 'wait', until: c.nextBatchAt, reason: 'interval' };
    if (c.batchClaimed >= c.batchSize) return { kind: 'batch_full' };
    let room = Math.min(max, c.batchSize - c.batchClaimed);
    if (c.rate) {
      const since = now - c.rate.windowSeconds * 1000;
      const used = (this.s.recentCount.get(campaignId, since) as Row).n as number;
      if (used >= c.rate.count) {
        // The oldest of the newest `count` attempts: when it leaves the window, one more may go.
        const edge = this.s.rateEdge.get(campaignId, since, c.rate.count - 1) as Row;
        return { kind: 'wait', until: edge.at + c.rate.windowSeconds * 1000 + 1, reason: 'rate' };
      }
      room = Math.min(room, c.rate.count - used);
    }
    const due = this.s.nextDue.all(campaignId, now, room) as Row[];
    if (due.length === 0) {
      const counts = this.countsOf(campaignId);
      if (counts.pending > 0) {
        const at = (this.s.nextRetry.get(campaignId) as Row).at as number;
        return { kind: 'wait', until: at, reason: 'retry' };
      }
      return counts.sending > 0 ? { kind: 'draining' } : { kind: 'done' };
    }
    const batch = c.batchesSent + 1;
    const recipients = due.map((r) => {
      this.s.claim.run({ id: r.id, now, token, batch });
      return toRecipient({ ...r, status: 'sending', attempts: r.attempts + 1, last_attempt_at: now, batch });
    });
    this.s.countBatch.run(recipients.length, campaignId);
    return {
      kind: 'claimed',
      recipient: recipients[0]!,
      recipients,
      batch,
      batchStarted: c.batchClaimed === 0,
      campaign: { ...c, batchClaimed: c.batchClaimed + recipients.length },
    };
  }

  private recordSync(r: PendingResult, token: string): boolean {
    const u = r.update;
    const changed = this.s.recordResult.run({
      id: r.recipientId,
      token,
      status: u.status,
      lastError: u.lastError ?? null,
      nextAttemptAt: u.nextAttemptAt ?? 0,
      sentAt: u.sentAt ?? null,
      messageId: u.messageId ?? null,
      refund: u.refundAttempt ? 1 : 0,
    }).changes;
    if (changed === 0) return false;
    // A claim that never reached the server does not use up a place in its batch either.
    if (u.refundAttempt) this.s.uncountBatch.run(r.recipientId);
    if (u.suppress) {
      const row = this.s.recipientById.get(r.recipientId) as Row;
      this.s.suppress.run(row.email, u.suppress, r.event.at);
    }
    this.event(r.event);
    return true;
  }

  async step(campaignId: number, token: string, now: number, results: PendingResult[], max: number): Promise<StepResult> {
    return this.db
      .transaction((): StepResult => {
        const recorded = results.map((r) => this.recordSync(r, token));
        return { recorded, claim: max > 0 ? this.claimSync(campaignId, token, now, max) : null };
      })
      .immediate();
  }

  async claimNext(campaignId: number, token: string, now: number): Promise<ClaimResult> {
    return this.db.transaction(() => this.claimSync(campaignId, token, now, 1)).immediate();
  }

  async recordResult(recipientId: number, token: string, update: ResultUpdate, event: NewEvent): Promise<boolean> {
    return this.db.transaction(() => this.recordSync({ recipientId, update, event }, token)).immediate();
  }

  async closeBatch(campaignId: number, token: string, now: number): Promise<Campaign> {
    return this.db
      .transaction(() => {
        const c = this.campaignRow(campaignId)!;
        const lease = toLease(this.s.lease.get(campaignId) as Row | undefined);
        if (lease?.token !== token || c.batchClaimed === 0) return c;
        this.db
          .prepare(
            `UPDATE campaigns SET batches_sent = batches_sent + 1, batch_claimed = 0, next_batch_at = ? WHERE id = ?`,
          )
          .run(now + c.intervalSeconds * 1000, campaignId);
        this.completeIfDoneSync(campaignId, now);
        return this.campaignRow(campaignId)!;
      })
      .immediate();
  }

  private completeIfDoneSync(campaignId: number, now: number): void {
    const c = this.campaignRow(campaignId)!;
    const counts = this.countsOf(campaignId);
    if (c.status !== 'sending' || counts.pending > 0 || counts.sending > 0) return;
    this.db
      .prepare(
        `UPDATE campaigns SET status = 'completed', completed_at = ?, next_batch_at = NULL,
           batches_sent = batches_sent + (batch_claimed > 0), batch_claimed = 0 WHERE id = ?`,
      )
      .run(now, campaignId);
    this.event({
      campaignId,
      at: now,
      level: 'info',
      type: 'completed',
      message: `campaign completed: ${counts.sent} sent, ${counts.failed} failed, ${counts.in_doubt} in doubt, ${counts.suppressed} suppressed`,
      data: { counts },
    });
  }

  async completeIfDone(campaignId: number, now: number): Promise<Campaign> {
    return this.db
      .transaction(() => {
        this.completeIfDoneSync(campaignId, now);
        return this.campaignRow(campaignId)!;
      })
      .immediate();
  }
}


