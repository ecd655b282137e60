/**
 * The five store reads and writes the TUI's new views use (src/ui/store-extras.ts), answered by
 * the test's own real SQLite file — plain queries on its recipients and events tables — until
 * the Store itself has them. Nothing here is made up: every answer is what the database holds.
 * Recipients are read back through the store's own `getRecipient`, so rows look exactly as the
 * store shapes them.
 */
import type { SqliteStore } from '../../src/core/sqlite-store.js';
import type { Recipient, StoredEvent } from '../../src/core/types.js';
import type { BatchStat, RecipientQuery, UiStoreExtras } from '../../src/ui/store-extras.js';

const ATTEMPT_TYPES = ['sent', 'failed', 'retry_scheduled', 'in_doubt', 'requeued'];

export function viewStore(store: SqliteStore): UiStoreExtras {
  const db = store.raw;
  return {
    async listRecipients(campaignId, q: RecipientQuery) {
      const where = [`campaign_id = ?`, `status IN (${q.statuses.map(() => '?').join(',')})`];
      const args: unknown[] = [campaignId, ...q.statuses];
      if (q.search) {
        where.push(`(email LIKE ? ESCAPE '\\' OR coalesce(last_error, '') LIKE ? ESCAPE '\\')`);
        const like = `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        args.push(like, like);
      }
      const sql = `FROM recipients WHERE ${where.join(' AND ')}`;
      const total = (db.prepare(`SELECT count(*) AS n ${sql}`).get(...args) as { n: number }).n;
      const emails = db.prepare(`SELECT email ${sql} ORDER BY id LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as { email: string }[];
      const rows: Recipient[] = [];
      for (const { email } of emails) rows.push((await store.getRecipient(campaignId, email))!);
      return { total, rows };
    },

    async recipientHistory(campaignId, recipientId) {
      const rows = db
        .prepare(
          `SELECT * FROM events WHERE campaign_id = ? AND json_extract(data, '$.recipientId') = ?
             AND type IN (${ATTEMPT_TYPES.map(() => '?').join(',')}) ORDER BY id`,
        )
        .all(campaignId, recipientId, ...ATTEMPT_TYPES) as Record<string, any>[];
      return rows.map(
        (r): StoredEvent => ({
          id: r.id,
          campaignId: r.campaign_id,
          at: r.at,
          level: r.level,
          type: r.type,
          message: r.message,
          data: r.data ? JSON.parse(r.data) : null,
        }),
      );
    },

    async activity(campaignId, now, minutes) {
      const start = now - minutes * 60_000;
      const out = new Array<number>(minutes).fill(0);
      const ats = db
        .prepare(`SELECT at FROM events WHERE campaign_id = ? AND type = 'sent' AND at > ? AND at <= ?`)
        .all(campaignId, start, now) as { at: number }[];
      for (const { at } of ats) out[Math.min(minutes - 1, Math.floor((at - start) / 60_000))]!++;
      return out;
    },

    async batchStats(campaignId, limit) {
      return db
        .prepare(
          `SELECT batch, sum(status = 'sent') AS sent, sum(status = 'failed') AS failed,
                  sum(status = 'in_doubt') AS inDoubt, sum(attempts > 1) AS retried
             FROM recipients WHERE campaign_id = ? AND batch IS NOT NULL
             GROUP BY batch ORDER BY batch DESC LIMIT ?`,
        )
        .all(campaignId, limit) as BatchStat[];
    },

    async resolveInDoubt(campaignId, mode, now, emails) {
      if (!emails) return store.resolveInDoubt(campaignId, mode, now);
      return db
        .transaction(() => {
          const list = `(${emails.map(() => '?').join(',')})`;
          const info =
            mode === 'resend'
              ? db
                  .prepare(
                    `UPDATE recipients SET status = 'pending', next_attempt_at = 0, claim_token = NULL
                     WHERE campaign_id = ? AND status = 'in_doubt' AND email IN ${list}`,
                  )
                  .run(campaignId, ...emails)
              : db
                  .prepare(
                    `UPDATE recipients SET status = 'sent', sent_at = coalesce(sent_at, ?), claim_token = NULL,
                       last_error = 'marked sent by the operator'
                     WHERE campaign_id = ? AND status = 'in_doubt' AND email IN ${list}`,
                  )
                  .run(now, campaignId, ...emails);
          if (mode === 'resend' && info.changes > 0)
            db.prepare(
              `UPDATE campaigns SET status = 'sending', completed_at = NULL, next_batch_at = coalesce(next_batch_at, ?)
               WHERE id = ? AND status = 'completed'`,
            ).run(now, campaignId);
          if (info.changes > 0)
            db.prepare(`INSERT INTO events (campaign_id, at, level, type, message, data) VALUES (?, ?, 'info', 'resolve', ?, ?)`).run(
              campaignId,
              now,
              `${info.changes} in-doubt recipient(s) ${mode === 'resend' ? 'queued to send again' : 'marked sent'}`,
              JSON.stringify({ mode, count: info.changes, emails }),
            );
          return info.changes;
        })
        .immediate();
    },
  };
}
