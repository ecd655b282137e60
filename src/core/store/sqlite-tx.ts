/**
 * The row primitives of the shared rules, in SQLite. better-sqlite3 is synchronous, so each
 * method does its work at once and returns a resolved promise; the backend runs a whole rule
 * inside BEGIN IMMEDIATE … COMMIT (see sqlite.ts) with nothing else on the connection meanwhile.
 */
import type Database from 'better-sqlite3';
import type { LoggedEvent } from '../events.js';
import { eventData } from '../event-log.js';
import { MARKED_SENT } from '../stored-errors.js';
import type { BatchStats, RecipientQuery } from '../store.js';
import type { Campaign, CampaignSettings, CampaignState, Recipient, Runner, StatusCounts, Suppression } from '../types.js';
import { batchStatsOf, CAMPAIGN_COLUMNS, likeContains, RECENT_ROWS, type Row, STATE_COLUMNS, statusList, toCampaign, toCampaignState, toCounts, toEventRow, toRecipient, toRecorded, toRunner } from './rows.js';
import type { AttemptRow, CampaignPatch, OrphanRow, RecipientResultPatch, RecordedRecipient, StoredEventRow, Tx, UnsafeResend } from './tx.js';

const RECORDED = `id AS recipient_id, campaign_id, email, attempts, batch, last_attempt_at`;
/** SQLite binds a bounded number of parameters; long lists go in chunks. */
function chunks<T>(items: T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

export class SqliteTx implements Tx {
  private readonly cache = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  private q(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) this.cache.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  // ---- campaigns ----------------------------------------------------------------------------
  campaign(id: number, options?: { lock?: boolean }): Promise<Campaign | null>;
  campaign(id: number, options: { lock?: boolean; state: true }): Promise<CampaignState | null>;
  async campaign(id: number, options: { lock?: boolean; state?: boolean } = {}): Promise<Campaign | CampaignState | null> {
    // (no row locks in SQLite: BEGIN IMMEDIATE already made this the only writer)
    const r = this.q(options.state ? `SELECT ${STATE_COLUMNS} FROM campaigns WHERE id = ?` : `SELECT * FROM campaigns WHERE id = ?`).get(id) as Row | undefined;
    return r ? (options.state ? toCampaignState(r) : toCampaign(r)) : null;
  }

  async campaigns(ids?: number[]): Promise<Campaign[]> {
    if (!ids) return (this.q(`SELECT * FROM campaigns ORDER BY id`).all() as Row[]).map(toCampaign);
    const out: Campaign[] = [];
    for (const id of ids) {
      const c = await this.campaign(id);
      if (c) out.push(c);
    }
    return out;
  }

  async insertCampaign(c: CampaignSettings, now: number): Promise<number> {
    const info = this.q(
      `INSERT INTO campaigns (name, subject_tpl, from_addr, reply_to, html_tpl, text_tpl, batch_size,
         interval_s, rate_count, rate_window_s, window_start, window_end, time_zone, unsubscribe,
         max_attempts, retry_delay_s, created_at)
       VALUES (@name, @subject, @from, @replyTo, @html, @text, @batchSize, @intervalSeconds, @rateCount,
         @rateWindow, @windowStart, @windowEnd, @timeZone, @unsubscribe, @maxAttempts, @retryDelaySeconds, @now)`,
    ).run({
      ...c,
      rateCount: c.rate?.count ?? null,
      rateWindow: c.rate?.windowSeconds ?? null,
      windowStart: c.window?.start ?? null,
      windowEnd: c.window?.end ?? null,
      now,
    });
    return Number(info.lastInsertRowid);
  }

  async updateCampaign(id: number, patch: CampaignPatch): Promise<void> {
    const keys = Object.keys(patch) as (keyof CampaignPatch)[];
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${CAMPAIGN_COLUMNS[k]} = @${k}`).join(', ');
    this.q(`UPDATE campaigns SET ${sets} WHERE id = @id`).run({ ...patch, id });
  }

  async addBatchClaims(id: number, delta: number): Promise<void> {
    this.q(`UPDATE campaigns SET batch_claimed = max(batch_claimed + ?, 0) WHERE id = ?`).run(delta, id);
  }

  async counts(campaignId: number): Promise<StatusCounts> {
    return toCounts(this.q(`SELECT status, n FROM campaign_counts WHERE campaign_id = ?`).all(campaignId) as Row[]);
  }

  // ---- runners ------------------------------------------------------------------------------
  async runners(campaignId: number): Promise<Runner[]> {
    return (this.q(`SELECT * FROM runners WHERE campaign_id = ? ORDER BY started_at, token`).all(campaignId) as Row[]).map(toRunner);
  }

  async runner(token: string): Promise<Runner | null> {
    const r = this.q(`SELECT * FROM runners WHERE token = ?`).get(token) as Row | undefined;
    return r ? toRunner(r) : null;
  }

  async insertRunner(r: Runner): Promise<void> {
    this.q(
      `INSERT INTO runners (token, campaign_id, owner, host, pid, started_at, expires_at)
       VALUES (@token, @campaignId, @owner, @host, @pid, @startedAt, @expiresAt)
       ON CONFLICT (token) DO UPDATE SET expires_at = excluded.expires_at`,
    ).run(r);
  }

  async renewRunner(token: string, expiresAt: number): Promise<boolean> {
    return this.q(`UPDATE runners SET expires_at = ? WHERE token = ?`).run(expiresAt, token).changes === 1;
  }

  async deleteRunners(tokens: string[]): Promise<void> {
    for (const part of chunks(tokens)) this.q(`DELETE FROM runners WHERE token IN (${marks(part.length)})`).run(...part);
  }

  async orphans(campaignId: number): Promise<OrphanRow[]> {
    return (
      this.q(
        `SELECT id, claim_token, idempotent_until FROM recipients r
         WHERE campaign_id = ? AND status = 'sending'
           AND NOT EXISTS (SELECT 1 FROM runners x WHERE x.token = r.claim_token)`,
      ).all(campaignId) as Row[]
    ).map((r) => ({ id: r.id, claimToken: r.claim_token, idempotentUntil: r.idempotent_until }));
  }

  async claimedBy(campaignId: number, token: string): Promise<number[]> {
    return (this.q(`SELECT id FROM recipients WHERE campaign_id = ? AND status = 'sending' AND claim_token = ?`).all(campaignId, token) as Row[]).map((r) => r.id);
  }

  async releaseClaims(ids: number[]): Promise<number> {
    let n = 0;
    for (const part of chunks(ids))
      n += this.db
        .prepare(
          `UPDATE recipients SET status = 'pending', attempts = attempts - 1, last_attempt_at = NULL, claim_token = NULL
           WHERE id IN (${marks(part.length)}) AND status = 'sending'`,
        )
        .run(...part).changes;
    return n;
  }

  // ---- claiming -----------------------------------------------------------------------------
  async rateUsage(campaignId: number, since: number, count: number): Promise<{ used: number; edge: number | null }> {
    // Every attempt counts from its claim: those recorded in the log, and those still in flight.
    const used =
      (this.q(`SELECT count(*) AS n FROM events WHERE campaign_id = ? AND claimed_at > ?`).get(campaignId, since) as Row).n +
      (this.q(`SELECT count(*) AS n FROM recipients WHERE campaign_id = ? AND status = 'sending' AND last_attempt_at > ?`).get(campaignId, since) as Row).n;
    if (used < count) return { used, edge: null };
    const edge = this.q(
      `SELECT t FROM (
         SELECT claimed_at AS t FROM events WHERE campaign_id = @c AND claimed_at > @since
         UNION ALL
         SELECT last_attempt_at FROM recipients WHERE campaign_id = @c AND status = 'sending' AND last_attempt_at > @since
       ) ORDER BY t DESC LIMIT 1 OFFSET @offset`,
    ).get({ c: campaignId, since, offset: count - 1 }) as Row | undefined;
    return { used, edge: edge?.t ?? null };
  }

  async nextPendingAt(campaignId: number): Promise<number | null> {
    return (this.q(`SELECT min(next_attempt_at) AS at FROM recipients WHERE campaign_id = ? AND status = 'pending'`).get(campaignId) as Row).at ?? null;
  }

  async claimDue(campaignId: number, token: string, now: number, batch: number, limit: number, idempotentUntil: number | null): Promise<Recipient[]> {
    // Three plain statements instead of one UPDATE … WHERE id IN (SELECT … LIMIT ?) RETURNING *,
    // which cost ~250 µs for one row (bench: a step at pool 1): SQLite re-prepares a statement
    // whose LIMIT is a bound parameter at every run, and RETURNING on a table with an AFTER
    // UPDATE trigger (the status counts) costs ~45 µs a row more. The LIMIT is written into the
    // SQL instead (one cached statement per pool size), and the rows are read back by id.
    const ids = (this.due('id', campaignId, now, limit) as Row[]).map((r) => r.id as number);
    const claim = this.q(
      `UPDATE recipients SET status = 'sending', attempts = attempts + 1, last_attempt_at = ?, claim_token = ?, batch = ?,
         idempotent_until = coalesce(idempotent_until, ?)
       WHERE id = ?`,
    );
    const read = this.q(`SELECT * FROM recipients WHERE id = ?`);
    const out: Recipient[] = [];
    for (const id of ids) {
      claim.run(now, token, batch, idempotentUntil, id);
      out.push(toRecipient(read.get(id) as Row));
    }
    if (out.length > 0) this.q(`UPDATE campaigns SET batch_claimed = batch_claimed + ? WHERE id = ?`).run(out.length, campaignId);
    return out;
  }

  async peekDue(campaignId: number, now: number, limit: number): Promise<Recipient[]> {
    return (this.due('*', campaignId, now, limit) as Row[]).map(toRecipient);
  }

  /** The first `limit` due pending recipients, oldest due first: what a claim takes. The LIMIT is in the SQL (see claimDue). */
  private due(columns: 'id' | '*', campaignId: number, now: number, limit: number): unknown[] {
    const n = Math.max(1, Math.trunc(limit));
    return this.q(
      `SELECT ${columns} FROM recipients WHERE campaign_id = ? AND status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ${n}`,
    ).all(campaignId, now);
  }

  async unsafeResends(campaignId: number, now: number, deduplicates: boolean): Promise<UnsafeResend[]> {
    return (
      this.q(
        `SELECT id, dedupe_until <= @now AS expired FROM recipients
         WHERE campaign_id = @campaignId AND dedupe_until IS NOT NULL AND status = 'pending' AND (dedupe_until <= @now OR @deduplicates = 0)`,
      ).all({ campaignId, now, deduplicates: deduplicates ? 1 : 0 }) as Row[]
    ).map((r) => ({ id: r.id as number, expired: r.expired === 1 }));
  }

  // ---- recipients ---------------------------------------------------------------------------
  async recordResults(token: string, results: Array<{ recipientId: number; patch: RecipientResultPatch }>): Promise<Array<RecordedRecipient | null>> {
    // Read, then update without RETURNING (costly on a table with triggers; see claimDue).
    const read = this.q(`SELECT ${RECORDED} FROM recipients WHERE id = ? AND claim_token = ? AND status IN ('sending', 'in_doubt')`);
    const update = this.q(
      `UPDATE recipients SET status = @status, last_error = @lastError,
         next_attempt_at = coalesce(@nextAttemptAt, next_attempt_at),
         sent_at = coalesce(@sentAt, sent_at), message_id = coalesce(@messageId, message_id),
         provider_id = coalesce(@providerId, provider_id),
         attempts = attempts - @refund,
         last_attempt_at = CASE WHEN @refund THEN NULL ELSE last_attempt_at END,
         dedupe_until = CASE WHEN @status IN ('sent', 'failed') THEN NULL ELSE coalesce(@dedupeUntil, dedupe_until) END,
         claim_token = NULL
       WHERE id = @id`,
    );
    return results.map(({ recipientId, patch: u }) => {
      const r = read.get(recipientId, token) as Row | undefined;
      if (!r) return null;
      update.run({ ...u, refund: u.refund ? 1 : 0, id: recipientId });
      const recorded = toRecorded(r);
      return u.refund ? { ...recorded, attempts: recorded.attempts - 1, claimedAt: null } : recorded;
    });
  }

  async markUnanswered(ids: number[], status: 'in_doubt' | 'pending', lastError: string, now: number): Promise<RecordedRecipient[]> {
    const out: RecordedRecipient[] = [];
    for (const part of chunks(ids)) {
      const sql =
        status === 'in_doubt'
          ? `UPDATE recipients SET status = 'in_doubt', last_error = ?, dedupe_until = NULL WHERE id IN (${marks(part.length)}) RETURNING ${RECORDED}`
          : `UPDATE recipients SET status = 'pending', last_error = ?, next_attempt_at = ${Number(now)}, claim_token = NULL,
               dedupe_until = idempotent_until WHERE id IN (${marks(part.length)}) RETURNING ${RECORDED}`;
      out.push(...(this.db.prepare(sql).all(lastError, ...part) as Row[]).map(toRecorded));
    }
    return out;
  }

  async resolveInDoubt(campaignId: number, mode: 'resend' | 'mark-sent', now: number, emails: string[] | null): Promise<number> {
    let changed = 0;
    for (const part of emails ? chunks(emails) : [null]) {
      const only = part ? ` AND email IN (${marks(part.length)})` : '';
      const sql =
        mode === 'resend'
          ? `UPDATE recipients SET status = 'pending', next_attempt_at = 0, claim_token = NULL, dedupe_until = NULL
             WHERE campaign_id = ? AND status = 'in_doubt'${only}`
          : `UPDATE recipients SET status = 'sent', sent_at = coalesce(sent_at, ${Number(now)}), claim_token = NULL,
               last_error = ?
             WHERE campaign_id = ? AND status = 'in_doubt'${only}`;
      const params = mode === 'resend' ? [campaignId, ...(part ?? [])] : [MARKED_SENT, campaignId, ...(part ?? [])];
      changed += this.db.prepare(sql).run(...params).changes;
    }
    return changed;
  }

  async missingFields(campaignId: number, fields: string[]): Promise<Map<string, number>> {
    const missing = new Map<string, number>();
    for (const f of fields) {
      const n = (
        this.q(
          `SELECT count(*) AS n FROM recipients WHERE campaign_id = ? AND status <> 'suppressed' AND json_type(fields, ?) IS NULL`,
        ).get(campaignId, `$."${f.replace(/"/g, '""')}"`) as Row
      ).n;
      if (n > 0) missing.set(f, n);
    }
    return missing;
  }

  async recipientByEmail(campaignId: number, email: string): Promise<Recipient | null> {
    const r = this.q(`SELECT * FROM recipients WHERE campaign_id = ? AND email = ?`).get(campaignId, email) as Row | undefined;
    return r ? toRecipient(r) : null;
  }

  async firstRecipient(campaignId: number): Promise<Recipient | null> {
    const r = this.q(`SELECT * FROM recipients WHERE campaign_id = ? AND status <> 'suppressed' ORDER BY id LIMIT 1`).get(campaignId) as Row | undefined;
    return r ? toRecipient(r) : null;
  }

  async listRecipients(campaignId: number, query: RecipientQuery): Promise<{ total: number; rows: Recipient[] }> {
    const statuses = query.statuses && query.statuses.length > 0 ? query.statuses : null;
    const where = [`campaign_id = ?`];
    const args: unknown[] = [campaignId];
    // Statuses written as literals (they are checked against the fixed set): a partial index
    // (recipients_trouble) serves only a query whose WHERE names its very statuses.
    if (statuses) where.push(`status IN (${statusList(statuses)})`);
    if (query.search) {
      const errors = [query.search, ...(query.errorPhrases ?? [])];
      where.push(`(email LIKE ? ESCAPE '\\' OR ${errors.map(() => `last_error LIKE ? ESCAPE '\\'`).join(' OR ')})`);
      args.push(likeContains(query.search), ...errors.map(likeContains));
    }
    const cond = where.join(' AND ');
    const total = (this.db.prepare(`SELECT count(*) AS n FROM recipients WHERE ${cond}`).get(...args) as Row).n;
    const rows = this.db
      .prepare(`SELECT * FROM recipients WHERE ${cond} ORDER BY id LIMIT ? OFFSET ?`)
      .all(...args, query.limit, query.offset) as Row[];
    return { total, rows: rows.map(toRecipient) };
  }

  // ---- suppressions -------------------------------------------------------------------------
  async addSuppressions(emails: string[], reason: string, now: number): Promise<number> {
    let added = 0;
    const insert = this.q(`INSERT INTO suppressions (email, reason, created_at) VALUES (?, ?, ?) ON CONFLICT (email) DO NOTHING`);
    // Not yet sent anywhere: honour the suppression in every campaign at once.
    const mark = this.q(`UPDATE recipients SET status = 'suppressed' WHERE email = ? AND status = 'pending'`);
    for (const e of emails) {
      added += insert.run(e, reason, now).changes;
      mark.run(e);
    }
    return added;
  }

  async removeSuppressions(emails: string[]): Promise<number> {
    let removed = 0;
    for (const e of emails) removed += this.q(`DELETE FROM suppressions WHERE email = ?`).run(e).changes;
    return removed;
  }

  async listSuppressions(): Promise<Suppression[]> {
    return (this.q(`SELECT * FROM suppressions ORDER BY email`).all() as Row[]).map((r) => ({ email: r.email, reason: r.reason, createdAt: r.created_at }));
  }

  // ---- the log ------------------------------------------------------------------------------
  async insertEvent(e: LoggedEvent, level: string, message: string): Promise<void> {
    this.q(`INSERT INTO events (campaign_id, at, level, type, message, data) VALUES (?, ?, ?, ?, ?, ?)`).run(
      e.campaignId,
      e.at,
      level,
      e.type,
      message,
      JSON.stringify(eventData(e)),
    );
  }

  async insertAttempts(rows: AttemptRow[]): Promise<void> {
    const insert = this.q(
      `INSERT INTO events (campaign_id, at, level, type, message, data, recipient_id, attempt, batch, claimed_at, detail, provider_id)
       VALUES (@campaignId, @at, @level, @type, '', @data, @recipientId, @attempt, @batch, @claimedAt, @detail, @providerId)`,
    );
    for (const r of rows) {
      insert.run({
        ...r,
        level: r.type === 'sent' ? 'info' : r.type === 'failed' ? 'error' : 'warn',
        data: r.extra ? JSON.stringify(r.extra) : null,
      });
    }
  }

  async events(campaignId: number | null, options: { afterId?: number; limit: number; recipientId?: number }): Promise<StoredEventRow[]> {
    const select = `SELECT e.*, r.email, r.message_id FROM events e LEFT JOIN recipients r ON r.id = e.recipient_id`;
    const where = [campaignId === null ? '1 = 1' : 'e.campaign_id = @campaignId'];
    if (options.recipientId !== undefined) where.push('e.recipient_id = @recipientId');
    const params = { campaignId, recipientId: options.recipientId, afterId: options.afterId, limit: options.limit };
    if (options.afterId !== undefined || options.recipientId !== undefined) {
      if (options.afterId !== undefined) where.push('e.id > @afterId');
      return (this.q(`${select} WHERE ${where.join(' AND ')} ORDER BY e.id LIMIT @limit`).all(params) as Row[]).map(toEventRow);
    }
    const rows = this.q(`${select} WHERE ${where.join(' AND ')} ORDER BY e.id DESC LIMIT @limit`).all(params) as Row[];
    return rows.reverse().map(toEventRow);
  }

  async pruneEvents(before: number, campaignId: number | null): Promise<number> {
    return campaignId === null
      ? this.q(`DELETE FROM events WHERE at < ?`).run(before).changes
      : this.q(`DELETE FROM events WHERE at < ? AND campaign_id = ?`).run(before, campaignId).changes;
  }

  async sentPerMinute(campaignId: number, from: number, minutes: number): Promise<number[]> {
    const out = new Array<number>(minutes).fill(0);
    const rows = this.q(
      `SELECT CAST((claimed_at - @from) / 60000 AS INTEGER) AS m, count(*) AS n FROM events
       WHERE campaign_id = @c AND claimed_at >= @from AND claimed_at < @to AND type = 'sent' GROUP BY m`,
    ).all({ c: campaignId, from, to: from + minutes * 60_000 }) as Row[];
    for (const r of rows) if (r.m >= 0 && r.m < minutes) out[r.m] = r.n;
    return out;
  }

  async batchStats(campaignId: number, limit: number): Promise<BatchStats[]> {
    // The newest batches' attempts are the newest rows of the log: read back from the end, no
    // index of their own (one less B-tree to write per send).
    const rows = this.q(
      `SELECT batch, type FROM events WHERE campaign_id = ? AND batch IS NOT NULL ORDER BY id DESC LIMIT ?`,
    ).all(campaignId, RECENT_ROWS) as Row[];
    return batchStatsOf(rows, limit);
  }
}
