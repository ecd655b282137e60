/**
 * outbox:<dir> — each message is written to <dir> as an .eml file instead of being sent: the demo,
 * and a way to look at exactly what would go out. Files are 0600, like the database: they hold
 * recipients' addresses and data.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NO_MIME, type OutgoingEnvelope, type SendOutcome, type Transport, type TransportConfig } from './types.js';

/** A file-name-safe form of a Message-ID. */
function fileStem(messageId: string): string {
  const stem = messageId
    .trim()
    .replace(/^<|>$/g, '')
    .replace(/[^A-Za-z0-9._@+=-]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 150);
  return stem || 'message';
}

export class OutboxTransport implements Transport {
  readonly pool: number;
  readonly idempotencyWindowMs = null;
  readonly takes = 'mime';
  private readonly dir: string;
  private ready: Promise<void> | null = null;
  private counter = 0;

  constructor(readonly config: TransportConfig) {
    this.pool = config.pool;
    this.dir = config.dir!;
  }

  private ensureDir(): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true }).then(
      () => undefined,
      (err) => {
        this.ready = null;
        throw err;
      },
    );
    return this.ready;
  }

  async verify(): Promise<SendOutcome | null> {
    try {
      await this.ensureDir();
      await access(this.dir, fsConstants.W_OK);
      return null;
    } catch (err) {
      return { kind: 'unavailable', error: `cannot write to the outbox ${this.dir}: ${(err as Error).message}` };
    }
  }

  async send(message: OutgoingEnvelope): Promise<SendOutcome> {
    const raw = message.raw;
    if (!raw) return NO_MIME;
    const unique = `${Date.now().toString(36)}-${process.pid.toString(36)}-${(this.counter++).toString(36)}-${randomBytes(4).toString('hex')}`;
    const name = `${fileStem(message.messageId)}.${unique}.eml`;
    const final = join(this.dir, name);
    // a dot-file without the .eml extension until complete: a kill leaves no half .eml behind
    const temp = join(this.dir, `.${name}.tmp`);
    try {
      await this.ensureDir();
      const fh = await open(temp, 'wx', 0o600);
      try {
        await fh.writeFile(raw);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(temp, final);
      return { kind: 'sent', response: `written to ${final}` };
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      return { kind: 'unavailable', error: `cannot write to the outbox ${this.dir}: ${(err as Error).message}` };
    }
  }

  async close(): Promise<void> {}
}
