import { resolve } from 'node:path';
import { ConfigError } from './types.js';

export const DEFAULT_DB_PATH = 'data/aremko-mail.db';

/** `--db` beats `AREMKO_MAIL_DB` beats `data/aremko-mail.db` in the current directory. */
export function resolveDbPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag || env.AREMKO_MAIL_DB || DEFAULT_DB_PATH);
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
