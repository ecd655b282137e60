/**
 * The password file libpq reads when no password is given (`~/.pgpass`, or the file PGPASSFILE
 * names), so that a machine set up for psql needs nothing more for this tool, and the password is
 * in neither the URL, the environment nor `ps`. Read as libpq documents it: lines
 * `host:port:database:user:password`, `*` matching anything in the first four fields, `\:` and
 * `\\` escaping, `#` starting a comment, the first line that matches wins; a file other users may
 * read or write is not read (its name is given in the error a refused login then reports).
 *
 * Written here rather than taken from the `pgpass` package: that one reports problems by writing
 * to the process's stderr itself, and with HOME unset reads `.pgpass` from the working directory.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What a connection is matched on (libpq's host, port, dbname and user). */
export interface PassfileKey {
  host: string;
  port: number;
  database: string;
  user: string;
}

export type PassfileLookup =
  | { kind: 'found'; password: string; file: string }
  | { kind: 'none' } // no file, or no line matches
  | { kind: 'ignored'; file: string; why: string };

/** The file libpq would read: PGPASSFILE, else .pgpass in the user's home. */
export function passfilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PGPASSFILE || join(env.HOME || homedir(), '.pgpass');
}

/** The fields of one line, unescaped; null for a comment, a blank line or one with fewer than five fields. */
export function parsePassfileLine(line: string): [string, string, string, string, string] | null {
  if (line.startsWith('#') || line.trim() === '') return null;
  const fields: string[] = [];
  let field = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '\\' && i + 1 < line.length) field += line[++i];
    else if (ch === ':' && fields.length < 4) {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields.length === 5 ? (fields as [string, string, string, string, string]) : null;
}

/** The password of the first line that matches `key` in `text` (a password file's content). */
export function passwordFor(text: string, key: PassfileKey): string | null {
  const wanted = [key.host, String(key.port), key.database, key.user];
  for (const line of text.split(/\r?\n/)) {
    const fields = parsePassfileLine(line);
    if (fields && wanted.every((value, i) => fields[i] === '*' || fields[i] === value)) return fields[4];
  }
  return null;
}

export function lookUpPassword(key: PassfileKey, file = passfilePath()): PassfileLookup {
  let mode: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return { kind: 'ignored', file, why: 'it is not a plain file' };
    mode = stat.mode;
  } catch {
    return { kind: 'none' };
  }
  if (mode & 0o077) return { kind: 'ignored', file, why: `other users may read or write it (mode ${(mode & 0o777).toString(8).padStart(4, '0')}; chmod 600 it)` };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { kind: 'ignored', file, why: `it cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const password = passwordFor(text, key);
  return password === null ? { kind: 'none' } : { kind: 'found', password, file };
}
