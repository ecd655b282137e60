import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from './types.js';

export const DEFAULT_DB_PATH = 'data/aremko-mail.db';

/**
 * `--db` beats `AREMKO_MAIL_DB` beats `data/aremko-mail.db` in the current directory. A
 * `postgres://` or `postgresql://` URL is returned as given; anything else is a SQLite file path,
 * made absolute.
 */
export function resolveDbLocation(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  // yargs hands over an array when the flag is given twice: which one was meant is not ours to guess
  if (Array.isArray(flag)) throw new ConfigError('--db is given more than once: give one database');
  const value = (flag || env.AREMKO_MAIL_DB || DEFAULT_DB_PATH).trim();
  return isPostgresUrl(value) ? value : resolve(value);
}

export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value.trim());
}

const NO_TRANSPORT =
  'no transport configured: pass --transport <url> or --transport-file <file>, or set AREMKO_MAIL_TRANSPORT or ' +
  'AREMKO_MAIL_TRANSPORT_FILE (smtp://user:pass@host:587, smtps://user:pass@host:465, outbox:<dir> to write .eml files, ' +
  'resend://<api-key>, postmark://<token>, sendgrid://<api-key>, mailgun://<api-key>@<domain>, ses://<key-id>:<secret>@<region>)';

/**
 * The transport URL kept in a file (a container secret such as /run/secrets/transport): the
 * whole file, surrounding whitespace and the trailing newline removed. Never echoes the content.
 */
export function readTransportFile(path: string, source: string): string {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf-8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'permission denied', EISDIR: 'it is a folder' };
    throw new ConfigError(`cannot read the transport URL file ${file} (${source}): ${why[e.code ?? ''] ?? e.message}`);
  }
  const url = text.replace(/^\uFEFF/, '').trim();
  if (!url) throw new ConfigError(`the transport URL file ${file} (${source}) is empty`);
  if (/[\r\n]/.test(url)) throw new ConfigError(`the transport URL file ${file} (${source}) holds more than one line: put the URL alone in it`);
  return url;
}

/**
 * Where mail goes: `--transport` beats `--transport-file` beats `AREMKO_MAIL_TRANSPORT` beats
 * `AREMKO_MAIL_TRANSPORT_FILE` (a flag beats its environment variable; both flags, or both
 * variables, is a usage error). A command that must send and has none exits 2.
 *
 * A URL on the command line (`--transport smtp://user:pass@…`) is visible to every user of the
 * machine in `ps`; the environment and a file are not.
 */
export function resolveTransportUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, fileFlag?: string): string {
  if (Array.isArray(flag)) throw new ConfigError('--transport is given more than once: give one transport');
  if (Array.isArray(fileFlag)) throw new ConfigError('--transport-file is given more than once: give one file');
  if (flag && fileFlag) throw new ConfigError('use either --transport or --transport-file, not both');
  if (flag) return flag;
  if (fileFlag) return readTransportFile(fileFlag, '--transport-file');
  if (env.AREMKO_MAIL_TRANSPORT && env.AREMKO_MAIL_TRANSPORT_FILE) {
    throw new ConfigError('both AREMKO_MAIL_TRANSPORT and AREMKO_MAIL_TRANSPORT_FILE are set: keep one');
  }
  if (env.AREMKO_MAIL_TRANSPORT) return env.AREMKO_MAIL_TRANSPORT;
  if (env.AREMKO_MAIL_TRANSPORT_FILE) return readTransportFile(env.AREMKO_MAIL_TRANSPORT_FILE, 'AREMKO_MAIL_TRANSPORT_FILE');
  throw new ConfigError(NO_TRANSPORT);
}

/**
 * For the commands that send (run, send-test, the TUI): when the URL comes from a file, read it
 * once here so that they find it where they look (`--transport`). Returns the URL to use as
 * `--transport`, or undefined to leave the arguments as they are.
 */
export function transportFromFile(flag: string | undefined, fileFlag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (fileFlag !== undefined) return resolveTransportUrl(flag, env, fileFlag);
  if (!flag && !env.AREMKO_MAIL_TRANSPORT && env.AREMKO_MAIL_TRANSPORT_FILE) return resolveTransportUrl(undefined, env);
  if (!flag && env.AREMKO_MAIL_TRANSPORT && env.AREMKO_MAIL_TRANSPORT_FILE) return resolveTransportUrl(undefined, env);
  return undefined;
}
