/**
 * The envelope pipelined (RFC 2920): MAIL FROM, RCPT TO and DATA in one write when the server
 * offers PIPELINING, each reply still classified as without it. A recorder between the transport
 * and the server keeps what the client wrote, write by write.
 */
import { createServer, connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { SendOutcome } from '../../../src/core/transport/index.js';
import { helpers, lineSmtp, message, script, useCleanups } from './fixtures.js';

const cleanup = useCleanups();
const { server, transport } = helpers(cleanup);

/** A TCP relay to `port` that keeps each chunk the client sent (latin1), in order. */
async function recorder(port: number): Promise<{ port: number; chunks: string[] }> {
  const chunks: string[] = [];
  const sockets = new Set<Socket>();
  const relay = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => (client.destroy(), upstream.destroy()));
    }
    upstream.setNoDelay(true);
    client.on('data', (d) => {
      chunks.push(d.toString('latin1'));
      upstream.write(d);
    });
    upstream.on('data', (d) => client.write(d));
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  cleanup(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => relay.close(() => r()));
  });
  return { port: (relay.address() as { port: number }).port, chunks };
}

/** Chunks that hold an envelope command, with what else came in the same write. */
const envelopeWrites = (chunks: string[]) => chunks.filter((c) => /^(MAIL FROM|RCPT TO|DATA\r\n)/m.test(c));

/** A server that offers PIPELINING (and nothing else), answering each command with `reply`. */
const pipeliningServer = (reply: (line: string) => string) =>
  lineSmtp(cleanup, '220 scripted ESMTP', (line) => (line.startsWith('EHLO') ? '250-scripted\r\n250 PIPELINING' : line === 'QUIT' ? '221 bye' : reply(line)));

describe('SMTP envelope pipelining', () => {
  it('a server that offers PIPELINING gets MAIL FROM, RCPT TO and DATA in one write, the message after its 354', async () => {
    const smtp = await server();
    const wire = await recorder(smtp.port);
    const t = transport(`smtp://127.0.0.1:${wire.port}`);
    const a = message('ana@example.test');
    const b = message('bruno@example.test');
    expect(await t.send(a)).toMatchObject({ kind: 'sent' });
    expect(await t.send(b)).toMatchObject({ kind: 'sent' });
    const writes = envelopeWrites(wire.chunks);
    expect(writes).toEqual([
      'MAIL FROM:<news@example.test>\r\nRCPT TO:<ana@example.test>\r\nDATA\r\n',
      'MAIL FROM:<news@example.test>\r\nRCPT TO:<bruno@example.test>\r\nDATA\r\n',
    ]);
    expect(smtp.countFor(a.messageId)).toBe(1);
    expect(smtp.countFor(b.messageId)).toBe(1);
    expect(smtp.received[0]!.raw.toString()).toBe(a.raw!.toString());
    expect(smtp.stats.connections).toBe(1);
  });

  it('a server that does not offer it gets one command at a time, as before', async () => {
    const smtp = await server({ pipelining: false });
    const wire = await recorder(smtp.port);
    const t = transport(`smtp://127.0.0.1:${wire.port}`);
    const a = message('ana@example.test');
    expect(await t.send(a)).toMatchObject({ kind: 'sent' });
    expect(envelopeWrites(wire.chunks).map((c) => c.split(/[:\r]/)[0])).toEqual(['MAIL FROM', 'RCPT TO', 'DATA']);
    expect(smtp.countFor(a.messageId)).toBe(1);
  });

  it('a recipient refused in the pipeline: failed (5.1.1 kept), no message, and the connection goes on', async () => {
    const smtp = await server({ behaviour: script({ 'gone@example.test': () => ({ rcptReply: '550 5.1.1 <gone@example.test>: user unknown' }) }) });
    const t = transport(`smtp://127.0.0.1:${smtp.port}`);
    const gone = message('gone@example.test');
    const later = message('ana@example.test');
    const outcome = await t.send(gone);
    expect(outcome).toMatchObject({ kind: 'failed', unknownMailbox: true });
    expect((outcome as Extract<SendOutcome, { kind: 'failed' }>).error).toContain('550 5.1.1 <gone@example.test>: user unknown');
    expect(await t.send(later)).toMatchObject({ kind: 'sent' });
    expect(smtp.countFor(gone.messageId)).toBe(0);
    expect(smtp.countFor(later.messageId)).toBe(1);
    expect(smtp.stats.dataBytes).toBe(later.raw!.length); // nothing of `gone`
    expect(smtp.stats.connections).toBe(1);
  });

  it('a 451 to the recipient in the pipeline → retry with the reply', async () => {
    const smtp = await server({ behaviour: script({ 'later@example.test': () => ({ rcptReply: '451 4.7.1 greylisted, try later' }) }) });
    const t = transport(`smtp://127.0.0.1:${smtp.port}`);
    const outcome = await t.send(message('later@example.test'));
    expect(outcome).toMatchObject({ kind: 'retry' });
    expect((outcome as Extract<SendOutcome, { kind: 'retry' }>).error).toContain('451 4.7.1 greylisted, try later');
    expect(smtp.received).toHaveLength(0);
  });

  it('a server that answers 354 to the pipelined DATA after refusing the recipient gets an empty message end, nothing else', async () => {
    let transactions = 0;
    const s = await pipeliningServer((line) => {
      if (line.startsWith('MAIL FROM')) return (transactions++, '250 ok');
      if (line.startsWith('RCPT TO')) return transactions === 1 ? '550 5.1.1 no such user' : '250 ok';
      if (line === 'DATA') return '354 go ahead'; // wrong after a refused recipient (RFC 2920 §3.1), but seen
      if (line === '.') return transactions === 1 ? '554 5.5.1 no valid recipients' : '250 2.0.0 queued';
      if (line === 'RSET') return '250 reset';
      return '500 unexpected';
    });
    const t = transport(`smtp://127.0.0.1:${s.port}`);
    const refused = message('gone@example.test');
    const outcome = await t.send(refused);
    expect(outcome).toMatchObject({ kind: 'failed', unknownMailbox: true });
    expect((outcome as Extract<SendOutcome, { kind: 'failed' }>).error).toContain('550 5.1.1 no such user');
    // Between the DATA and the RSET, only the empty message's end.
    const first = s.lines.slice(s.lines.indexOf('DATA'), s.lines.indexOf('RSET'));
    expect(first).toEqual(['DATA', '.']);
    expect(s.lines.join('\n')).not.toContain(refused.messageId);
    // The connection is in step for the next transaction.
    const next = message('ana@example.test');
    expect(await t.send(next)).toMatchObject({ kind: 'sent', response: '250 2.0.0 queued' });
    expect(s.lines.join('\n')).toContain(next.messageId);
  });

  it('the sender refused in the pipeline → unavailable with its reply, though RCPT TO and DATA were already out', async () => {
    const s = await pipeliningServer((line) => {
      if (line.startsWith('MAIL FROM')) return '553 5.7.1 sender not allowed';
      if (line.startsWith('RCPT TO') || line === 'DATA') return '503 5.5.1 need MAIL first';
      if (line === 'RSET') return '250 reset';
      return '500 unexpected';
    });
    const t = transport(`smtp://127.0.0.1:${s.port}`);
    const outcome = await t.send(message('ana@example.test'));
    expect(outcome).toMatchObject({ kind: 'unavailable' });
    expect((outcome as Extract<SendOutcome, { kind: 'unavailable' }>).error).toContain('553 5.7.1 sender not allowed');
    expect(s.lines.filter((l) => /^(MAIL|RCPT|DATA|RSET)/.test(l)).map((l) => l.split(/[: ]/)[0])).toEqual(['MAIL', 'RCPT', 'DATA', 'RSET']);
  });
});
