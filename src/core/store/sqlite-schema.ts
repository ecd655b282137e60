/**
 * The SQLite schema, versioned. Each entry upgrades the database from version i to i+1 and runs
 * in one transaction with the `user_version` bump. Never edit a released entry: append a new one.
 * (postgres-schema.ts holds the same design for PostgreSQL.)
 *
 * Times are epoch milliseconds (INTEGER): cheap to compare and index; the CLI formats them.
 */
export const APPLICATION_ID = 0x41524d4d; // "ARMM": marks a file as an aremko-mail database

export const MIGRATIONS: readonly string[] = [
  // 1: campaigns, recipients (+ counts kept by triggers), suppressions, events, leases
  `
  CREATE TABLE campaigns (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL,
    status              TEXT    NOT NULL DEFAULT 'draft'
                        CHECK (status IN ('draft','sending','paused','completed','cancelled')),
    subject_tpl         TEXT    NOT NULL,
    from_addr           TEXT    NOT NULL,
    reply_to            TEXT,
    html_tpl            TEXT    NOT NULL,
    text_tpl            TEXT,
    batch_size          INTEGER NOT NULL CHECK (batch_size > 0),
    interval_s          INTEGER NOT NULL CHECK (interval_s >= 0),
    rate_count          INTEGER,
    rate_window_s       INTEGER,
    window_start        TEXT,
    window_end          TEXT,
    time_zone           TEXT,
    unsubscribe         TEXT,
    max_attempts        INTEGER NOT NULL CHECK (max_attempts > 0),
    retry_delay_s       INTEGER NOT NULL CHECK (retry_delay_s >= 0),
    next_batch_at       INTEGER,
    batches_sent        INTEGER NOT NULL DEFAULT 0,
    batch_claimed       INTEGER NOT NULL DEFAULT 0,
    last_error          TEXT,
    created_at          INTEGER NOT NULL,
    started_at          INTEGER,
    completed_at        INTEGER
  );

  CREATE TABLE recipients (
    id               INTEGER PRIMARY KEY,
    campaign_id      INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    email            TEXT    NOT NULL COLLATE NOCASE, -- trimmed; compared without case
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending','sending','sent','failed','suppressed','in_doubt')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    last_attempt_at  INTEGER,
    claim_token      TEXT,                         -- lease token of the runner that claimed it
    last_error       TEXT,
    message_id       TEXT,
    sent_at          INTEGER,
    batch            INTEGER,
    fields           TEXT    NOT NULL DEFAULT '{}', -- JSON object of CSV columns
    UNIQUE (campaign_id, email)
  );
  -- "next due pending recipient of campaign X": one index seek.
  CREATE INDEX recipients_due ON recipients (campaign_id, status, next_attempt_at, id);
  -- rate limiting counts recent attempts of a campaign.
  CREATE INDEX recipients_recent ON recipients (campaign_id, last_attempt_at)
    WHERE last_attempt_at IS NOT NULL;

  -- Status counts kept in step by triggers, in the same transaction as every change, so that
  -- "status" reads 7 rows instead of scanning a million.
  CREATE TABLE campaign_counts (
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    status      TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, status)
  ) WITHOUT ROWID;

  CREATE TRIGGER recipients_count_insert AFTER INSERT ON recipients BEGIN
    INSERT INTO campaign_counts (campaign_id, status, n) VALUES (NEW.campaign_id, NEW.status, 1)
      ON CONFLICT (campaign_id, status) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER recipients_count_update AFTER UPDATE OF status ON recipients
    WHEN OLD.status <> NEW.status BEGIN
    UPDATE campaign_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id AND status = OLD.status;
    INSERT INTO campaign_counts (campaign_id, status, n) VALUES (NEW.campaign_id, NEW.status, 1)
      ON CONFLICT (campaign_id, status) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER recipients_count_delete AFTER DELETE ON recipients BEGIN
    UPDATE campaign_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id AND status = OLD.status;
  END;

  CREATE TABLE suppressions (
    email      TEXT    PRIMARY KEY COLLATE NOCASE,
    reason     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER REFERENCES campaigns(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    level       TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    data        TEXT
  );
  CREATE INDEX events_campaign ON events (campaign_id, id);

  CREATE TABLE leases (
    campaign_id INTEGER PRIMARY KEY REFERENCES campaigns(id) ON DELETE CASCADE,
    owner       TEXT    NOT NULL,                  -- host:pid
    host        TEXT    NOT NULL,
    pid         INTEGER NOT NULL,
    token       TEXT    NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
  );
  `,
  // 2: many runners per campaign (one lease each), attempts in the log (rate over every attempt,
  //    a recipient's history), HTTPS-API fields (provider id, idempotency), provider throttling.
  `
  CREATE TABLE runners (
    token       TEXT    PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    owner       TEXT    NOT NULL,                  -- host:pid
    host        TEXT    NOT NULL,
    pid         INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX runners_campaign ON runners (campaign_id);
  INSERT INTO runners (token, campaign_id, owner, host, pid, started_at, expires_at)
    SELECT token, campaign_id, owner, host, pid, acquired_at, expires_at FROM leases;
  DROP TABLE leases;

  ALTER TABLE campaigns ADD COLUMN throttled_until INTEGER;

  ALTER TABLE recipients ADD COLUMN provider_id TEXT;
  ALTER TABLE recipients ADD COLUMN idempotent_until INTEGER;
  ALTER TABLE recipients ADD COLUMN dedupe_until INTEGER;
  CREATE INDEX recipients_dedupe ON recipients (campaign_id, dedupe_until) WHERE dedupe_until IS NOT NULL;
  -- a suppression reaches the address's pending recipients in every campaign (NOCASE, like the column)
  CREATE INDEX recipients_email ON recipients (email);
  -- a takeover looks for the in-flight recipients of runners that are gone
  CREATE INDEX recipients_sending ON recipients (campaign_id, claim_token) WHERE status = 'sending';
  -- "the next due recipients" over the pending ones only: a send touches this index once (the
  -- claim) instead of twice per status change, as (campaign_id, status, …) did
  DROP INDEX recipients_due;
  CREATE INDEX recipients_pending ON recipients (campaign_id, next_attempt_at, id) WHERE status = 'pending';
  -- the operator's list of failed and in-doubt recipients; and a campaign's recipients in order
  CREATE INDEX recipients_trouble ON recipients (campaign_id, id) WHERE status IN ('failed', 'in_doubt');
  CREATE INDEX recipients_campaign ON recipients (campaign_id, id);
  -- the rate limit now counts attempts in the log (every attempt, not each recipient's last)
  DROP INDEX recipients_recent;

  -- One row per attempt (sent, failed, retry, in doubt, requeued): the message is worded when read.
  ALTER TABLE events ADD COLUMN recipient_id INTEGER;
  ALTER TABLE events ADD COLUMN attempt INTEGER;
  ALTER TABLE events ADD COLUMN batch INTEGER;
  ALTER TABLE events ADD COLUMN claimed_at INTEGER;
  ALTER TABLE events ADD COLUMN detail TEXT;
  ALTER TABLE events ADD COLUMN provider_id TEXT;
  UPDATE events SET
      recipient_id = json_extract(data, '$.recipientId'),
      attempt = json_extract(data, '$.attempt'),
      batch = json_extract(data, '$.batch'),
      claimed_at = at,
      detail = coalesce(json_extract(data, '$.response'), json_extract(data, '$.error'), '')
    WHERE type IN ('sent', 'failed', 'retry_scheduled', 'in_doubt') AND json_valid(data)
      AND json_extract(data, '$.recipientId') IS NOT NULL;
  UPDATE events SET type = 'runner_joined' WHERE type = 'lease_acquired';
  CREATE INDEX events_rate ON events (campaign_id, claimed_at) WHERE claimed_at IS NOT NULL;
  CREATE INDEX events_recipient ON events (recipient_id, id) WHERE recipient_id IS NOT NULL;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
