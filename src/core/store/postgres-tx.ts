/**
 * The row primitives of the shared rules, in PostgreSQL (postgres.js). Rules that claim or close
 * lock the campaign row (`campaign(id, { lock: true })` is SELECT … FOR UPDATE), so runners on
 * many hosts take those decisions one at a time; claiming itself skips rows another transaction
 * holds (FOR UPDATE SKIP LOCKED), the way graphile-worker and pg-boss take jobs.
 */
import type { Sql } from 'postgres';
import type { LoggedEvent } from '../events.js';
import { eventData } from '../event-log.js';
import { MARKED_SENT } from '../stored-errors.js';
import type { BatchStats, RecipientQuery } from '../store.js';
import type { Campaign, CampaignSettings, CampaignState, Recipient, Runner, StatusCounts, Suppression } from '../types.js';
import { addressKey, batchStatsOf, CAMPAIGN_COLUMNS, likeContains, RECENT_ROWS, type Row, STATE_COLUMNS, statusList, toCampaign, toCampaignState, toCounts, toEventRow, toRecipient, toRecorded, toRunner } from './rows.js';
import type { AttemptRow, CampaignPatch, OrphanRow, RecipientResultPatch, RecordedRecipient, StoredEventRow, Tx, UnsafeResend } from './tx.js';

export class PgTx implements Tx {
  // postgres.js's TransactionSql is callable like Sql; the rules need only queries.
  constructor(private readonly sql: Sql) {}

  // ---- campaigns ----------------------------------------------------------------------------
  campaign(id: number, options?: { lock?: boolean }): Promise<Campaign | null>;
  campaign(id: number, options: { lock?: boolean; state: true }): Promise<CampaignState | null>;
  async campaign(id: number, options: { lock?: boolean; state?: boolean } = {}): Promise<Campaign | CampaignState | null> {
    const sql = this.sql;
    const columns = sql.unsafe(options.state ? STATE_COLUMNS : '*');
    // NO KEY UPDATE: runners' rules still take turns on it, while inserts that only reference
    // the campaign (an import's recipients, a new runner's row) need not wait.
    const [r] = options.lock
      ? await sql`SELECT ${columns} FROM campaigns WHERE id = ${id} FOR NO KEY UPDATE`
      : await sql`SELECT ${columns} FROM campaigns WHERE id = ${id}`;
    return r ? (options.state ? toCampaignState(r) : toCampaign(r)) : null;
  }

  async campaigns(ids?: number[]): Promise<Campaign[]> {
    const sql = this.sql;
    if (!ids) return (await sql`SELECT * FROM campaigns ORDER BY id`).map(toCampaign);
    if (ids.length === 0) return [];
    const rows = (await sql`SELECT * FROM campaigns WHERE id IN ${sql(ids)}`).map(toCampaign);
    // in the order asked for
    return ids.map((id) => rows.find((c) => c.id === id)).filter((c): c is Campaign => !!c);
  }

  async insertCampaign(c: CampaignSettings, now: number): Promise<number> {
    const [r] = await this.sql`
      INSERT INTO campaigns (name, subject_tpl, from_addr, reply_to, html_tpl, text_tpl, batch_size,
        interval_s, rate_count, rate_window_s, window_start, window_end, time_zone, unsubscribe,
        max_attempts, retry_delay_s, created_at)
      VALUES (${c.name}, ${c.subject}, ${c.from}, ${c.replyTo}, ${c.html}, ${c.text}, ${c.batchSize},
        ${c.intervalSeconds}, ${c.rate?.count ?? null}, ${c.rate?.windowSeconds ?? null}, ${c.window?.start ?? null},
        ${c.window?.end ?? null}, ${c.timeZone}, ${c.unsubscribe}, ${c.maxAttempts}, ${c.retryDelaySeconds}, ${now})
      RETURNING id`;
    return r!.id;
  }

  async updateCampaign(id: number, patch: CampaignPatch): Promise<void> {
    const row: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(patch)) row[CAMPAIGN_COLUMNS[k as keyof CampaignPatch]] = v;
    if (Object.keys(row).length === 0) return;
    await this.sql`UPDATE campaigns SET ${this.sql(row)} WHERE id = ${id}`;
  }

  async addBatchClaims(id: number, delta: number): Promise<void> {
    await this.sql`UPDATE campaigns SET batch_claimed = greatest(batch_claimed + ${delta}, 0) WHERE id = ${id}`;
  }

  async counts(campaignId: number): Promise<StatusCounts> {
    return toCounts(await this.sql`SELECT status, n FROM campaign_counts WHERE campaign_id = ${campaignId}`);
  }

  // ---- runners ------------------------------------------------------------------------------
  async runners(campaignId: number): Promise<Runner[]> {
    return (await this.sql`SELECT * FROM runners WHERE campaign_id = ${campaignId} ORDER BY started_at, token`).map(toRunner);
  }

  async runner(token: string): Promise<Runner | null> {
    const [r] = await this.sql`SELECT * FROM runners WHERE token = ${token}`;
    return r ? toRunner(r) : null;
  }

  async insertRunner(r: Runner): Promise<void> {
    await this.sql`
      INSERT INTO runners (token, campaign_id, owner, host, pid, started_at, expires_at)
      VALUES (${r.token}, ${r.campaignId}, ${r.owner}, ${r.host}, ${r.pid}, ${r.startedAt}, ${r.expiresAt})
      ON CONFLICT (token) DO UPDATE SET expires_at = excluded.expires_at`;
  }

  async renewRunner(token: string, expiresAt: number): Promise<boolean> {
    return (await this.sql`UPDATE runners SET expires_at = ${expiresAt} WHERE token = ${token}`).count === 1;
  }

  async deleteRunners(tokens: string[]): Promise<void> {
    if (tokens.length > 0) await this.sql`DELETE FROM runners WHERE token IN ${this.sql(tokens)}`;
  }

  async orphans(campaignId: number): Promise<OrphanRow[]> {
    const rows = await this.sql`
      SELECT id, claim_token, idempotent_until FROM recipients r
      WHERE campaign_id = ${campaignId} AND status = 'sending'
        AND NOT EXISTS (SELECT 1 FROM runners x WHERE x.token = r.claim_token)`;
    return rows.map((r) => ({ id: r.id, claimToken: r.claim_token, idempotentUntil: r.idempotent_until }));
  }

  async claimedBy(campaignId: number, token: string): Promise<number[]> {
    return (await this.sql`SELECT id FROM recipients WHERE campaign_id = ${campaignId} AND status = 'sending' AND claim_token = ${token}`).map(
      (r) => r.id,
    );
  }

  async releaseClaims(ids: number[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (
      await this.sql`
        UPDATE recipients SET status = 'pending', attempts = attempts - 1, last_attempt_at = NULL, claim_token = NULL
        WHERE id IN ${this.sql(ids)} AND status = 'sending'`
    ).count;
  }

  // ---- claiming -----------------------------------------------------------------------------
  /**
   * A LIMIT written into the statement, not bound: each step's claim and read-ahead are then one
   * of a few prepared statements (one per limit: the claim's at most the pool, the read-ahead's
   * twice the pool) that PostgreSQL plans once. With the limit a parameter, its plan cache
   * estimated the generic plan for a tenth of the table and kept planning each execution anew:
   * 0.23 ms of server CPU a claim, as much as running it (pg_stat_statements with track_planning,
   * bench's 3,000-message campaign at pool 5).
   */
  private limit(n: number) {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`a claim's limit must be a whole number (got ${n})`);
    return this.sql.unsafe(String(n));
  }

  async rateUsage(campaignId: number, since: number, count: number): Promise<{ used: number; edge: number | null }> {
    // Every attempt counts from its claim: those recorded in the log, and those still in flight.
    const [u] = await this.sql`
      SELECT (SELECT count(*) FROM events WHERE campaign_id = ${campaignId} AND claimed_at > ${since})
           + (SELECT count(*) FROM recipients WHERE campaign_id = ${campaignId} AND status = 'sending' AND last_attempt_at > ${since}) AS n`;
    const used = Number(u!.n);
    if (used < count) return { used, edge: null };
    const [edge] = await this.sql`
      SELECT t FROM (
        SELECT claimed_at AS t FROM events WHERE campaign_id = ${campaignId} AND claimed_at > ${since}
        UNION ALL
        SELECT last_attempt_at FROM recipients WHERE campaign_id = ${campaignId} AND status = 'sending' AND last_attempt_at > ${since}
      ) recent ORDER BY t DESC LIMIT 1 OFFSET ${count - 1}`;
    return { used, edge: edge?.t ?? null };
  }

  async nextPendingAt(campaignId: number): Promise<number | null> {
    const [r] = await this.sql`SELECT min(next_attempt_at) AS at FROM recipients WHERE campaign_id = ${campaignId} AND status = 'pending'`;
    return r?.at ?? null;
  }

  async claimDue(campaignId: number, token: string, now: number, batch: number, limit: number, idempotentUntil: number | null): Promise<Recipient[]> {
    const rows = await this.sql`
      WITH claimed AS (
        UPDATE recipients r SET status = 'sending', attempts = r.attempts + 1, last_attempt_at = ${now},
          claim_token = ${token}, batch = ${batch}, idempotent_until = coalesce(r.idempotent_until, ${idempotentUntil}::bigint)
        FROM (SELECT id FROM recipients
              WHERE campaign_id = ${campaignId} AND status = 'pending' AND next_attempt_at <= ${now}
              ORDER BY next_attempt_at, id LIMIT ${this.limit(limit)}
              FOR UPDATE SKIP LOCKED) due
        WHERE r.id = due.id
        RETURNING r.*
      ), counted AS (
        UPDATE campaigns SET batch_claimed = batch_claimed + (SELECT count(*) FROM claimed)
        WHERE id = ${campaignId} AND EXISTS (SELECT 1 FROM claimed)
      )
      SELECT * FROM claimed`;
    return rows.map(toRecipient).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.id - b.id);
  }

  async peekDue(campaignId: number, now: number, limit: number): Promise<Recipient[]> {
    const rows = await this.sql`
      SELECT * FROM recipients WHERE campaign_id = ${campaignId} AND status = 'pending' AND next_attempt_at <= ${now}
      ORDER BY next_attempt_at, id LIMIT ${this.limit(limit)}`;
    return rows.map(toRecipient);
  }

  async unsafeResends(campaignId: number, now: number, deduplicates: boolean): Promise<UnsafeResend[]> {
    return (
      await this.sql`
        SELECT id, dedupe_until <= ${now} AS expired FROM recipients
        WHERE campaign_id = ${campaignId} AND dedupe_until IS NOT NULL AND status = 'pending' AND (dedupe_until <= ${now} OR NOT ${deduplicates}::boolean)`
    ).map((r) => ({ id: r.id as number, expired: r.expired as boolean }));
  }

  // ---- recipients ---------------------------------------------------------------------------
  async recordResults(token: string, results: Array<{ recipientId: number; patch: RecipientResultPatch }>): Promise<Array<RecordedRecipient | null>> {
    if (results.length === 0) return [];
    // One statement for all the answers of a step (one round trip, not one per answer). The ids
    // are also listed as such: joined to the JSON rows alone, a small table was read whole (a
    // hash join: 10 ms a step at 10,000 recipients) where the primary key finds each row.
    const values = results.map(({ recipientId, patch: u }) => ({
      id: recipientId,
      status: u.status,
      last_error: u.lastError,
      next_attempt_at: u.nextAttemptAt,
      sent_at: u.sentAt,
      message_id: u.messageId,
      provider_id: u.providerId,
      refund: u.refund ? 1 : 0,
      dedupe_until: u.dedupeUntil,
    }));
    const rows = await this.sql`
      UPDATE recipients r SET status = v.status, last_error = v.last_error,
        next_attempt_at = coalesce(v.next_attempt_at, r.next_attempt_at),
        sent_at = coalesce(v.sent_at, r.sent_at), message_id = coalesce(v.message_id, r.message_id),
        provider_id = coalesce(v.provider_id, r.provider_id),
        attempts = r.attempts - v.refund,
        last_attempt_at = CASE WHEN v.refund = 1 THEN NULL ELSE r.last_attempt_at END,
        dedupe_until = CASE WHEN v.status IN ('sent', 'failed') THEN NULL ELSE coalesce(v.dedupe_until, r.dedupe_until) END,
        claim_token = NULL
      FROM jsonb_to_recordset(${this.sql.json(values as never)}::jsonb) AS v(id bigint, status text, last_error text,
        next_attempt_at bigint, sent_at bigint, message_id text, provider_id text, refund int, dedupe_until bigint)
      WHERE r.id IN ${this.sql(results.map((r) => r.recipientId))} AND r.id = v.id AND r.claim_token = ${token} AND r.status IN ('sending', 'in_doubt')
      RETURNING r.id AS recipient_id, r.campaign_id, r.email, r.attempts, r.batch, r.last_attempt_at`;
    const byId = new Map(rows.map((row) => [Number(row.recipient_id), toRecorded(row)]));
    return results.map((r) => byId.get(r.recipientId) ?? null);
  }

  async markUnanswered(ids: number[], status: 'in_doubt' | 'pending', lastError: string, now: number): Promise<RecordedRecipient[]> {
    if (ids.length === 0) return [];
    const sql = this.sql;
    const rows =
      status === 'in_doubt'
        ? await sql`UPDATE recipients SET status = 'in_doubt', last_error = ${lastError}, dedupe_until = NULL
                    WHERE id IN ${sql(ids)} RETURNING id AS recipient_id, campaign_id, email, attempts, batch, last_attempt_at`
        : await sql`UPDATE recipients SET status = 'pending', last_error = ${lastError}, next_attempt_at = ${now}, claim_token = NULL,
                      dedupe_until = idempotent_until
                    WHERE id IN ${sql(ids)} RETURNING id AS recipient_id, campaign_id, email, attempts, batch, last_attempt_at`;
    return rows.map(toRecorded);
  }

  async resolveInDoubt(campaignId: number, mode: 'resend' | 'mark-sent', now: number, emails: string[] | null): Promise<number> {
    const sql = this.sql;
    const only = emails ? sql`AND lower(email) IN ${sql(emails.map(addressKey))}` : sql``;
    const result =
      mode === 'resend'
        ? await sql`UPDATE recipients SET status = 'pending', next_attempt_at = 0, claim_token = NULL, dedupe_until = NULL
                    WHERE campaign_id = ${campaignId} AND status = 'in_doubt' ${only}`
        : await sql`UPDATE recipients SET status = 'sent', sent_at = coalesce(sent_at, ${now}), claim_token = NULL,
                      last_error = ${MARKED_SENT}
                    WHERE campaign_id = ${campaignId} AND status = 'in_doubt' ${only}`;
    return result.count;
  }

  async missingFields(campaignId: number, fields: string[]): Promise<Map<string, number>> {
    const missing = new Map<string, number>();
    for (const f of fields) {
      const [r] = await this.sql`
        SELECT count(*) AS n FROM recipients WHERE campaign_id = ${campaignId} AND status <> 'suppressed' AND NOT (fields ? ${f})`;
      const n = Number(r!.n);
      if (n > 0) missing.set(f, n);
    }
    return missing;
  }

  async recipientByEmail(campaignId: number, email: string): Promise<Recipient | null> {
    const [r] = await this.sql`SELECT * FROM recipients WHERE campaign_id = ${campaignId} AND lower(email) = ${addressKey(email)}`;
    return r ? toRecipient(r) : null;
  }

  async firstRecipient(campaignId: number): Promise<Recipient | null> {
    const [r] = await this.sql`SELECT * FROM recipients WHERE campaign_id = ${campaignId} AND status <> 'suppressed' ORDER BY id LIMIT 1`;
    return r ? toRecipient(r) : null;
  }

  async listRecipients(campaignId: number, query: RecipientQuery): Promise<{ total: number; rows: Recipient[] }> {
    const sql = this.sql;
    // Literals (checked against the fixed set): the planner can then use recipients_trouble.
    const statuses = query.statuses && query.statuses.length > 0 ? sql.unsafe(`AND status IN (${statusList(query.statuses)})`) : sql``;
    const like = query.search ? likeContains(query.search) : null;
    const errors = like ? [like, ...(query.errorPhrases ?? []).map(likeContains)] : [];
    const search = like
      ? sql`AND (email ILIKE ${like} OR last_error ILIKE ANY (SELECT jsonb_array_elements_text(${sql.json(errors as never)}::jsonb)))`
      : sql``;
    const [t] = await sql`SELECT count(*) AS n FROM recipients WHERE campaign_id = ${campaignId} ${statuses} ${search}`;
    const rows = await sql`
      SELECT * FROM recipients WHERE campaign_id = ${campaignId} ${statuses} ${search}
      ORDER BY id LIMIT ${query.limit} OFFSET ${query.offset}`;
    return { total: Number(t!.n), rows: rows.map(toRecipient) };
  }

  // ---- suppressions -------------------------------------------------------------------------
  async addSuppressions(emails: string[], reason: string, now: number): Promise<number> {
    let added = 0;
    for (const e of emails) {
      added += (await this.sql`INSERT INTO suppressions (email, reason, created_at) VALUES (${e}, ${reason}, ${now}) ON CONFLICT ((lower(email))) DO NOTHING`).count;
      // Not yet sent anywhere: honour the suppression in every campaign at once.
      await this.sql`UPDATE recipients SET status = 'suppressed' WHERE lower(email) = ${addressKey(e)} AND status = 'pending'`;
    }
    return added;
  }

  async removeSuppressions(emails: string[]): Promise<number> {
    let removed = 0;
    for (const e of emails) removed += (await this.sql`DELETE FROM suppressions WHERE lower(email) = ${addressKey(e)}`).count;
    return removed;
  }

  async listSuppressions(): Promise<Suppression[]> {
    return (await this.sql`SELECT * FROM suppressions ORDER BY lower(email)`).map((r) => ({ email: r.email, reason: r.reason, createdAt: r.created_at }));
  }

  // ---- the log ------------------------------------------------------------------------------
  async insertEvent(e: LoggedEvent, level: string, message: string): Promise<void> {
    await this.sql`
      INSERT INTO events (campaign_id, at, level, type, message, data)
      VALUES (${e.campaignId}, ${e.at}, ${level}, ${e.type}, ${message}, ${this.sql.json(eventData(e) as never)})`;
  }

  async insertAttempts(rows: AttemptRow[]): Promise<void> {
    if (rows.length === 0) return;
    const values = rows.map((r) => ({
      campaign_id: r.campaignId,
      at: r.at,
      level: r.type === 'sent' ? 'info' : r.type === 'failed' ? 'error' : 'warn',
      type: r.type,
      message: '',
      data: r.extra ? (this.sql.json(r.extra as never) as unknown) : null,
      recipient_id: r.recipientId,
      attempt: r.attempt,
      batch: r.batch,
      claimed_at: r.claimedAt,
      detail: r.detail,
      provider_id: r.providerId,
    }));
    await this.sql`INSERT INTO events ${this.sql(values as never[])}`;
  }

  async events(campaignId: number | null, options: { afterId?: number; limit: number; recipientId?: number }): Promise<StoredEventRow[]> {
    const sql = this.sql;
    const campaign = campaignId === null ? sql`` : sql`AND e.campaign_id = ${campaignId}`;
    const recipient = options.recipientId !== undefined ? sql`AND e.recipient_id = ${options.recipientId}` : sql``;
    const select = sql`SELECT e.*, r.email, r.message_id FROM events e LEFT JOIN recipients r ON r.id = e.recipient_id`;
    if (options.afterId !== undefined || options.recipientId !== undefined) {
      const after = options.afterId !== undefined ? sql`AND e.id > ${options.afterId}` : sql``;
      return (await sql`${select} WHERE true ${campaign} ${recipient} ${after} ORDER BY e.id LIMIT ${options.limit}`).map(toEventRow);
    }
    const rows = await sql`${select} WHERE true ${campaign} ORDER BY e.id DESC LIMIT ${options.limit}`;
    return [...rows].reverse().map(toEventRow);
  }

  async pruneEvents(before: number, campaignId: number | null): Promise<number> {
    const sql = this.sql;
    return (campaignId === null ? await sql`DELETE FROM events WHERE at < ${before}` : await sql`DELETE FROM events WHERE at < ${before} AND campaign_id = ${campaignId}`)
      .count;
  }

  async sentPerMinute(campaignId: number, from: number, minutes: number): Promise<number[]> {
    const out = new Array<number>(minutes).fill(0);
    const rows = await this.sql`
      SELECT div(claimed_at - ${from}::bigint, 60000) AS m, count(*) AS n FROM events
      WHERE campaign_id = ${campaignId} AND claimed_at >= ${from} AND claimed_at < ${from + minutes * 60_000} AND type = 'sent'
      GROUP BY 1`;
    for (const r of rows) {
      const m = Number(r.m);
      if (m >= 0 && m < minutes) out[m] = Number(r.n);
    }
    return out;
  }

  async batchStats(campaignId: number, limit: number): Promise<BatchStats[]> {
    // The newest batches' attempts are the newest rows of the log (see the SQLite version).
    const rows = await this.sql`
      SELECT batch, type FROM events WHERE campaign_id = ${campaignId} AND batch IS NOT NULL
      ORDER BY id DESC LIMIT ${RECENT_ROWS}`;
    return batchStatsOf(rows, limit);
  }
}
