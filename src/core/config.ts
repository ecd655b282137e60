import { resolve } from 'node:path';
import { ConfigError } from './types.js';

export const DEFAULT_DB_PATH = 'data/aremko-mail.db';

/**
 * `--db` beats `AREMKO_MAIL_DB` beats `data/aremko-mail.db` in the current directory. A
 * `postgres://` or `postgresql://` URL is returned as given; anything else is a SQLite file path,
 * made absolute.
 */
export function resolveDbLocation(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const value = (flag || env.AREMKO_MAIL_DB || DEFAULT_DB_PATH).trim();
  return isPostgresUrl(value) ? value : resolve(value);
}

export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value.trim());
}

/** `--transport` beats `AREMKO_MAIL_TRANSPORT`; a command that must send and has none exits 2. */
export function resolveTransportUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const url = flag || env.AREMKO_MAIL_TRANSPORT;
  if (!url)
    throw new ConfigError(
      'no transport configured: pass --transport <url> or set AREMKO_MAIL_TRANSPORT ' +
        '(smtp://user:pass@host:587, smtps://user:pass@host:465, or outbox:<dir> to write .eml files)',
    );
  return url;
}
