import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { describe, expect, it } from 'vitest';
import { helpers, message, useCleanups } from './fixtures.js';

const cleanup = useCleanups();
const { transport } = helpers(cleanup);

describe('outbox', () => {
  function outboxDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'aremko-outbox-'));
    cleanup(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'nested', 'outbox'); // created on first use
  }

  async function composed(to: string, messageId: string): Promise<Buffer> {
    const mc = new MailComposer({
      from: '"Aremko Spa" <news@aremko.cl>',
      to,
      subject: 'Ofertas de invierno ☃',
      text: 'Hola',
      html: '<p>Hola</p>',
      messageId,
    });
    return new Promise((resolve, reject) => mc.compile().build((err, buf) => (err ? reject(err) : resolve(buf))));
  }

  it('writes each message as a parseable .eml, a resend as a second file, nothing else left behind', async () => {
    const dir = outboxDir();
    const t = transport(`outbox:${dir}`);
    expect(await t.verify()).toBeNull();
    const ids = ['<aremko.1.1.x@aremko.cl>', '<aremko.1.2.x@aremko.cl>'];
    const raws = await Promise.all(ids.map((id, i) => composed(`r${i}@example.test`, id)));
    const outcomes = await Promise.all(raws.map((raw, i) => t.send({ from: 'news@aremko.cl', to: `r${i}@example.test`, raw, messageId: ids[i]! })));
    expect(outcomes.map((o) => o.kind)).toEqual(['sent', 'sent']);
    // a deliberate resend of the first is a second file
    expect(await t.send({ from: 'news@aremko.cl', to: 'r0@example.test', raw: raws[0]!, messageId: ids[0]! })).toMatchObject({ kind: 'sent' });

    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(3);
    expect(files.every((f) => f.endsWith('.eml') && !f.startsWith('.'))).toBe(true);
    expect(files.filter((f) => f.startsWith('aremko.1.1.x@aremko.cl.'))).toHaveLength(2);
    for (const f of files) {
      const bytes = readFileSync(join(dir, f));
      const parsed = await simpleParser(bytes);
      expect(ids).toContain(parsed.messageId);
      expect(parsed.subject).toBe('Ofertas de invierno ☃');
      expect(parsed.text?.trim()).toBe('Hola');
      expect(raws.some((r) => r.equals(bytes))).toBe(true);
    }
    expect((outcomes[0] as { response: string }).response).toMatch(/\.eml$/);
    // private like the database: the files hold recipients' addresses and data
    for (const f of files) expect((statSync(join(dir, f)).mode & 0o777).toString(8), f).toBe('600');
  });

  it('an outbox that cannot be written → unavailable, and no partial file', async () => {
    const base = mkdtempSync(join(tmpdir(), 'aremko-outbox-'));
    cleanup(() => rmSync(base, { recursive: true, force: true }));
    const blocker = join(base, 'not-a-dir');
    rmSync(blocker, { force: true });
    // a FILE where the folder should be: even root cannot create the folder
    await import('node:fs/promises').then((fs) => fs.writeFile(blocker, 'x'));
    const t = transport(`outbox:${join(blocker, 'outbox')}`);
    expect(await t.verify()).toMatchObject({ kind: 'unavailable' });
    expect(await t.send(message('a@example.test'))).toMatchObject({ kind: 'unavailable' });
    expect(readdirSync(base)).toEqual(['not-a-dir']);
  });
});
