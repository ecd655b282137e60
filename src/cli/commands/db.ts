import type { CommandModule } from 'yargs';
import { isPostgresUrl, resolveDbLocation } from '../../core/config.js';
import { displayLocation } from '../../core/store/open.js';
import { ConfigError } from '../../core/types.js';
import { fail, type GlobalArgs, printJson } from '../context.js';

interface CopyArgs extends GlobalArgs {
  to: string;
  from?: string;
}

const copy: CommandModule<GlobalArgs, CopyArgs> = {
  command: 'copy',
  describe: 'copy a whole SQLite database into an empty PostgreSQL schema, and verify the counts',
  builder: (y) =>
    y
      .option('to', { type: 'string', demandOption: true, describe: 'postgres://user:pass@host:5432/db[?schema=…&sslmode=…] (an empty schema)' })
      .option('from', { type: 'string', describe: 'the SQLite file (default: --db / AREMKO_MAIL_DB / data/aremko-mail.db)' })
      .option('json', { type: 'boolean', describe: 'print one JSON document on stdout' })
      .example('$0 db copy --to "$DATABASE_URL"', 'move the default database to PostgreSQL')
      .epilog(
        'Campaigns, recipients (status, attempts, Message-IDs, provider ids), the log and the suppression list are copied in ' +
          'one transaction with COPY, then counted on both sides; anything that differs copies nothing. The target schema ' +
          '(?schema=, default aremko_mail) must be empty; it is created if missing. Stop every run first: a database that a ' +
          'runner is sending from is refused. The URL on the command line shows in `ps`: leave the password out of it ' +
          'and set PGPASSWORD in the environment instead.',
      ) as any,
  handler: async (a) => {
    try {
      if (!isPostgresUrl(a.to)) throw new ConfigError(`--to: "${displayLocation(a.to)}" is not a postgres:// or postgresql:// URL`);
      const from = a.from ? resolveDbLocation(a.from, {}) : resolveDbLocation(a.db);
      if (isPostgresUrl(from)) throw new ConfigError(`--from: ${displayLocation(from)} is PostgreSQL; db copy reads a SQLite file`);
      const [{ copySqliteToPostgres }, { progress, terminalWanted }] = await Promise.all([import('../../core/store/copy.js'), import('../progress.js')]);
      // In a terminal: rows copied, the rate, the time left (a million recipients take a while).
      const line = progress(terminalWanted({ json: a.json }), { label: 'db copy', unit: 'rows' });
      let report;
      try {
        report = await copySqliteToPostgres(from, a.to, {
          onProgress: (p) => {
            line.update(p.done, p.total);
            if (p.verifying) line.phase('counting both sides');
          },
        });
      } finally {
        line.stop();
      }
      if (a.json) return printJson(report);
      const t = report.tables;
      process.stdout.write(
        `copied ${report.from} → ${report.to} (schema ${report.schema}) in ${(report.ms / 1000).toFixed(1)} s: ` +
          `${t.campaigns.copied} campaigns, ${t.recipients.copied} recipients, ${t.events.copied} log rows, ${t.suppressions.copied} suppressions; ` +
          'counts verified on both sides\n',
      );
    } catch (err) {
      fail(err);
    }
  },
};

export const dbCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'db <command>',
  describe: 'move the database (db copy: SQLite → PostgreSQL)',
  builder: (y) => y.command(copy as any).demandCommand(1),
  handler: () => undefined,
};
