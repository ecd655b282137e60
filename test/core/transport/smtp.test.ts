import { describe, expect, it } from 'vitest';
import { createTransport, parseTransportUrl, type SendOutcome, smtpConnectionOptions } from '../../../src/core/transport/index.js';
import type { TestSmtpOptions } from '../../helpers/smtp-server.js';
import { closedPort, helpers, lineSmtp, message, script, useCleanups } from './fixtures.js';

const cleanup = useCleanups();
const { server, transport } = helpers(cleanup);

describe('SMTP connection options', () => {
  it('requires (verified) TLS before anything goes to a non-loopback smtp:// host', () => {
    const o = smtpConnectionOptions(parseTransportUrl('smtp://u:p@mail.example.com'));
    expect(o).toMatchObject({ host: 'mail.example.com', port: 587, secure: false, requireTLS: true, opportunisticTLS: false, logger: false, debug: false });
    expect(o.tls?.rejectUnauthorized).toBe(true);
  });

  it('allows plaintext only with ?insecure=1 or to loopback (TLS then opportunistic)', () => {
    const insecure = smtpConnectionOptions(parseTransportUrl('smtp://u:p@mail.example.com?insecure=1'));
    expect(insecure).toMatchObject({ requireTLS: false, opportunisticTLS: true });
    expect(insecure.tls?.rejectUnauthorized).toBe(false);
    const loop = smtpConnectionOptions(parseTransportUrl('smtp://127.0.0.1:2525'));
    expect(loop).toMatchObject({ requireTLS: false, opportunisticTLS: true, ignoreTLS: false });
  });

  it('uses TLS from the first byte for smtps://, verified, and passes timeouts, EHLO name and extra TLS options', () => {
    const o = smtpConnectionOptions(parseTransportUrl('smtps://u:p@mail.example.com'), {
      connectionTimeoutMs: 1234,
      socketTimeoutMs: 5678,
      hostname: 'sender.example.com',
      tls: { minVersion: 'TLSv1.2' },
    });
    expect(o).toMatchObject({ secure: true, port: 465, connectionTimeout: 1234, greetingTimeout: 1234, socketTimeout: 5678, name: 'sender.example.com' });
    expect(o.tls).toMatchObject({ rejectUnauthorized: true, minVersion: 'TLSv1.2' });
  });
});

/** lineSmtp's port. */
const fakeSmtp = async (greeting: string, reply: (line: string) => string | null) => (await lineSmtp(cleanup, greeting, reply)).port;

describe('SMTP sends against a real server', () => {
  it('sent: the server gets the exact bytes, once', async () => {
    const smtp = await server();
    const t = transport(smtp.url);
    const m = message('ana@example.test');
    const outcome = await t.send(m);
    expect(outcome).toEqual({ kind: 'sent', response: expect.stringMatching(/^250 /) });
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]!.raw.equals(m.raw)).toBe(true);
    expect(smtp.received[0]!.to).toEqual(['ana@example.test']);
    expect(smtp.received[0]!.from).toBe('news@example.test');
    expect(smtp.countFor(m.messageId)).toBe(1);
  });

  it('sends several messages in a row on one connection (no RSET needed), and after refusals (RSET)', async () => {
    const smtp = await server({ behaviour: script({ 'bad@example.test': () => ({ rcptReply: '550 5.1.1 <bad@example.test>: user unknown' }) }) });
    const t = transport(smtp.url);
    const outcomes: SendOutcome[] = [];
    for (const to of ['a@example.test', 'b@example.test', 'bad@example.test', 'c@example.test', 'bad@example.test', 'd@example.test']) {
      outcomes.push(await t.send(message(to)));
    }
    expect(outcomes.map((o) => o.kind)).toEqual(['sent', 'sent', 'failed', 'sent', 'failed', 'sent']);
    expect(smtp.received.map((m) => m.to[0])).toEqual(['a@example.test', 'b@example.test', 'c@example.test', 'd@example.test']);
    expect(smtp.stats.connections).toBe(1);
  });

  it('451 at RCPT TO → retry, with the reply', async () => {
    const smtp = await server({ behaviour: () => ({ rcptReply: '451 4.7.1 try later' }) });
    const outcome = await transport(smtp.url).send(message('ana@example.test'));
    expect(outcome).toEqual({ kind: 'retry', error: '451 4.7.1 try later' });
    expect(smtp.received).toHaveLength(0);
  });

  it('550 5.1.1 at RCPT TO → failed + unknownMailbox; a 550 without 5.1.1 is not an unknown mailbox', async () => {
    const smtp = await server({
      behaviour: script({
        'gone@example.test': () => ({ rcptReply: '550 5.1.1 <gone@example.test>: user unknown' }),
        'other@example.test': () => ({ rcptReply: '550 user unknown' }),
      }),
    });
    const t = transport(smtp.url);
    expect(await t.send(message('gone@example.test'))).toEqual({ kind: 'failed', error: '550 5.1.1 <gone@example.test>: user unknown', unknownMailbox: true });
    expect(await t.send(message('other@example.test'))).toEqual({ kind: 'failed', error: '550 user unknown', unknownMailbox: false });
    // a multi-line reply, as Gmail gives it
    const port = await fakeSmtp('220 fake ESMTP', (line) => {
      if (/^EHLO/i.test(line)) return '250 fake';
      if (/^MAIL FROM/i.test(line)) return '250 ok';
      if (/^RCPT TO/i.test(line)) return '550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Please check the address.';
      if (/^RSET/i.test(line)) return '250 ok';
      return null;
    });
    expect(await transport(`smtp://127.0.0.1:${port}`).send(message('multi@example.test'))).toEqual({
      kind: 'failed',
      error: '550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1 Please check the address.',
      unknownMailbox: true,
    });
    expect(smtp.received).toHaveLength(0);
  });

  it('554 after the data → failed, with the reply kept', async () => {
    const smtp = await server({ behaviour: () => ({ dataReply: '554 5.7.1 rejected as spam' }) });
    const outcome = await transport(smtp.url).send(message('ana@example.test'));
    expect(outcome).toEqual({ kind: 'failed', error: '554 5.7.1 rejected as spam', unknownMailbox: false });
    expect(smtp.received).toHaveLength(0);
    expect(smtp.attemptsFor('ana@example.test')).toBe(1);
  });

  it('530 (a login required) at MAIL FROM or RCPT TO → unavailable, not a failed recipient', async () => {
    const smtp = await server({ auth: { user: 'u', pass: 'p' } }); // MAIL without login gets 530
    const outcome = await transport(smtp.url).send(message('ana@example.test'));
    expect(outcome).toEqual({ kind: 'unavailable', error: expect.stringMatching(/^the server requires a login: 530 /) });
    const other = await server({ behaviour: () => ({ rcptReply: '530 5.7.0 Authentication required' }) });
    expect(await transport(other.url).send(message('ana@example.test'))).toEqual({
      kind: 'unavailable',
      error: 'the server requires a login: 530 5.7.0 Authentication required',
    });
  });

  it('a 5xx to MAIL FROM (the sender refused, e.g. a sending quota) → unavailable', async () => {
    const port = await fakeSmtp('220 fake ESMTP', (line) => {
      if (/^EHLO/i.test(line)) return '250 fake';
      if (/^MAIL FROM/i.test(line)) return '550 5.4.5 Daily sending quota exceeded';
      if (/^RSET/i.test(line)) return '250 ok';
      if (/^QUIT/i.test(line)) return null;
      return '500 unexpected';
    });
    expect(await transport(`smtp://127.0.0.1:${port}`).send(message('ana@example.test'))).toEqual({
      kind: 'unavailable',
      error: 'the server refused the sender news@example.test: 550 5.4.5 Daily sending quota exceeded',
    });
  });

  it('connection cut after the data → in_doubt, and nothing is sent again', async () => {
    const smtp = await server({ behaviour: script({ 'ana@example.test': () => 'drop-after-data' }) });
    const t = transport(smtp.url);
    const m = message('ana@example.test');
    const outcome = await t.send(m);
    expect(outcome.kind).toBe('in_doubt');
    expect((outcome as { error: string }).error).toMatch(/after the message data went out/);
    expect(smtp.droppedAfterData).toHaveLength(1);
    expect(smtp.droppedAfterData[0]!.raw.equals(m.raw)).toBe(true);
    // the transport carries on with a fresh connection, and never re-sent the lost one
    expect(await t.send(message('bob@example.test'))).toMatchObject({ kind: 'sent' });
    expect(smtp.attemptsFor('ana@example.test')).toBe(1);
    expect(smtp.stats.rcptTo).toBe(2);
    expect(smtp.countFor(m.messageId)).toBe(0);
  });

  it('connection cut before the data on a fresh connection → retry (no second try)', async () => {
    const smtp = await server({ behaviour: () => 'drop-before-data' });
    const outcome = await transport(smtp.url).send(message('ana@example.test'));
    expect(outcome.kind).toBe('retry');
    expect((outcome as { error: string }).error).toMatch(/before the message data went out/);
    expect(smtp.attemptsFor('ana@example.test')).toBe(1);
    expect(smtp.stats.connections).toBe(1);
    expect(smtp.droppedAfterData).toHaveLength(0);
  });

  it('a reused connection that fails before the data → reconnects once and sends: one copy', async () => {
    const smtp = await server({ behaviour: script({ 'bob@example.test': (a) => (a === 1 ? 'drop-before-data' : 'accept') }) });
    const t = transport(smtp.url);
    expect(await t.send(message('ana@example.test'))).toMatchObject({ kind: 'sent' });
    const m = message('bob@example.test');
    expect(await t.send(m)).toMatchObject({ kind: 'sent' });
    expect(smtp.attemptsFor('bob@example.test')).toBe(2);
    expect(smtp.countFor(m.messageId)).toBe(1);
    expect(smtp.stats.connections).toBe(2);
  });

  it('a reused connection answered with 421 before the data → reconnects once and sends', async () => {
    const smtp = await server({ behaviour: script({ 'bob@example.test': (a) => (a === 1 ? { rcptReply: '421 4.4.2 idle too long, closing' } : 'accept') }) });
    const t = transport(smtp.url);
    expect(await t.send(message('ana@example.test'))).toMatchObject({ kind: 'sent' });
    const m = message('bob@example.test');
    expect(await t.send(m)).toMatchObject({ kind: 'sent' });
    expect(smtp.countFor(m.messageId)).toBe(1);
    expect(smtp.stats.connections).toBe(2);
  });

  it('the reconnect is only once: a reused connection that fails twice → retry', async () => {
    const smtp = await server({ behaviour: script({ 'bob@example.test': () => 'drop-before-data' }) });
    const t = transport(smtp.url);
    expect(await t.send(message('ana@example.test'))).toMatchObject({ kind: 'sent' });
    expect(await t.send(message('bob@example.test'))).toMatchObject({ kind: 'retry' });
    expect(smtp.attemptsFor('bob@example.test')).toBe(2);
  });

  it('a pooled connection the server closed while idle (421 timeout) → a fresh one, one copy', async () => {
    const smtp = await server({ socketTimeoutMs: 300 });
    const t = transport(smtp.url); // idleReconnectMs 30 s: the stale connection is really reused
    const first = message('ana@example.test');
    expect(await t.send(first)).toMatchObject({ kind: 'sent' });
    await smtp.whenClosed(1); // the server timed the idle connection out and closed it
    const second = message('bob@example.test');
    expect(await t.send(second)).toMatchObject({ kind: 'sent' });
    expect(smtp.countFor(first.messageId)).toBe(1);
    expect(smtp.countFor(second.messageId)).toBe(1);
    expect(smtp.received).toHaveLength(2);
    expect(smtp.stats.connections).toBe(2);
  });

  it('a connection cut by the server while idle, without any reply → a fresh one, one copy', async () => {
    const smtp = await server();
    const t = transport(smtp.url);
    expect(await t.send(message('ana@example.test'))).toMatchObject({ kind: 'sent' });
    smtp.dropAllConnections();
    await smtp.whenClosed(1);
    const m = message('bob@example.test');
    expect(await t.send(m)).toMatchObject({ kind: 'sent' });
    expect(smtp.countFor(m.messageId)).toBe(1);
    expect(smtp.attemptsFor('bob@example.test')).toBe(1);
  });

  it('replaces a connection idle for idleReconnectMs before using it (0: never reuse)', async () => {
    const smtp = await server();
    const t = transport(smtp.url, { idleReconnectMs: 0 });
    for (const to of ['a@example.test', 'b@example.test', 'c@example.test']) expect(await t.send(message(to))).toMatchObject({ kind: 'sent' });
    expect(smtp.stats.connections).toBe(3);
    expect(smtp.received).toHaveLength(3);
  });

  it('pool=3: 30 concurrent sends, at most 3 connections, each message received once', async () => {
    const smtp = await server();
    const t = transport(`${smtp.url}?pool=3`);
    expect(t.pool).toBe(3);
    const messages = Array.from({ length: 30 }, (_, i) => message(`r${i}@example.test`));
    const outcomes = await Promise.all(messages.map((m) => t.send(m)));
    expect(outcomes.every((o) => o.kind === 'sent')).toBe(true);
    expect(smtp.received).toHaveLength(30);
    for (const m of messages) expect(smtp.countFor(m.messageId)).toBe(1);
    expect(smtp.stats.connections).toBe(3);
  });

  it('server down (a closed port) → unavailable, from send and from verify', async () => {
    const port = await closedPort();
    const t = transport(`smtp://u:pw-SECRET@127.0.0.1:${port}`);
    const outcome = await t.send(message('ana@example.test'));
    expect(outcome.kind).toBe('unavailable');
    expect((outcome as { error: string }).error).toMatch(/ECONNREFUSED/);
    expect((outcome as { error: string }).error).toContain(`smtp://u:***@127.0.0.1:${port}`);
    expect(JSON.stringify(outcome)).not.toContain('pw-SECRET');
    expect(await t.verify()).toMatchObject({ kind: 'unavailable' });
  });

  it('login refused → unavailable, and the password appears nowhere in the outcome', async () => {
    const pass = 'Wr0ng p@ss/wörd';
    const smtp = await server({ auth: { user: 'ana', pass: 'right' } });
    const t = transport(`smtp://ana:${encodeURIComponent(pass)}@127.0.0.1:${smtp.port}`);
    for (const outcome of [await t.verify(), await t.send(message('bob@example.test'))]) {
      expect(outcome?.kind).toBe('unavailable');
      const text = JSON.stringify(outcome);
      expect(text).toMatch(/login refused .*535/);
      for (const form of [pass, encodeURIComponent(pass), Buffer.from(pass).toString('base64'), Buffer.from(`\0ana\0${pass}`).toString('base64')]) {
        expect(text).not.toContain(form);
      }
    }
    expect(smtp.stats.authFailures).toBe(2);
    expect(smtp.stats.mailFrom).toBe(0);
  });

  it('scrubs the password (raw, URL-encoded, base64 AUTH payloads) even from a server reply that echoes it', async () => {
    const pass = 'Echo-Me-pw/1';
    const port = await fakeSmtp('220 fake ESMTP', (line) => {
      if (/^EHLO/i.test(line)) return '250-fake\r\n250 AUTH PLAIN LOGIN';
      const m = /^AUTH PLAIN (\S+)/i.exec(line);
      if (m) return `535 5.7.8 bad credentials ${m[1]} (password ${pass}, ${encodeURIComponent(pass)})`;
      return '500 what';
    });
    const outcome = await transport(`smtp://ana:${encodeURIComponent(pass)}@127.0.0.1:${port}`).send(message('bob@example.test'));
    expect(outcome.kind).toBe('unavailable');
    const text = JSON.stringify(outcome);
    expect(text).toMatch(/login refused .*535 5\.7\.8 bad credentials \*\*\* \(password \*\*\*, \*\*\*\)/);
    for (const form of [pass, encodeURIComponent(pass), Buffer.from(`\0ana\0${pass}`).toString('base64')]) expect(text).not.toContain(form);
  });

  it('a greeting of 421 or 554 → unavailable', async () => {
    for (const greeting of ['421 4.3.2 too busy, try later', '554 5.7.1 no SMTP service here']) {
      const port = await fakeSmtp(greeting, () => null);
      const outcome = await transport(`smtp://127.0.0.1:${port}`).send(message('bob@example.test'));
      expect(outcome.kind, greeting).toBe('unavailable');
      expect((outcome as { error: string }).error).toContain(greeting);
    }
  });

  it('logs in with a percent-encoded password, verify() keeps the connection for the send', async () => {
    const pass = 'p@ss w/rd#1';
    const smtp = await server({ auth: { user: 'ana@aremko.cl', pass } });
    const t = transport(`smtp://${encodeURIComponent('ana@aremko.cl')}:${encodeURIComponent(pass)}@127.0.0.1:${smtp.port}`);
    expect(await t.verify()).toBeNull();
    expect(await t.send(message('bob@example.test'))).toMatchObject({ kind: 'sent' });
    expect(smtp.stats.connections).toBe(1);
    expect(smtp.received).toHaveLength(1);
  });

  it('close(): a send still waiting for a connection → retry; nothing reaches the server', async () => {
    const smtp = await server();
    const t = createTransport(parseTransportUrl(smtp.url));
    const a = t.send(message('a@example.test'));
    const b = t.send(message('b@example.test'));
    await t.close();
    expect(await a).toMatchObject({ kind: 'retry' });
    expect(await b).toMatchObject({ kind: 'retry' });
    expect(await t.send(message('c@example.test'))).toMatchObject({ kind: 'retry' });
    expect(smtp.stats.mailFrom).toBe(0);
  });
});

// A real server on a non-loopback address, only when one is named explicitly (for example a
// test host in a network namespace the operator made). Test traffic never goes anywhere but
// loopback on its own.
const outside = process.env.AREMKO_TEST_NONLOOPBACK_HOST || undefined;

describe.skipIf(!outside)(`non-loopback host (${outside ?? 'none'})`, () => {
  it('without STARTTLS: unavailable, and neither the login nor MAIL FROM reached the server', async () => {
    const smtp = await server({ host: outside! });
    const t = transport(`smtp://ana:pw-SECRET@${outside}:${smtp.port}`);
    const outcome = await t.send(message('bob@example.test'));
    expect(outcome.kind).toBe('unavailable');
    expect((outcome as { error: string }).error).toMatch(/STARTTLS/);
    expect(JSON.stringify(outcome)).not.toContain('pw-SECRET');
    expect(smtp.stats.auths).toBe(0);
    expect(smtp.stats.mailFrom).toBe(0);
    expect(smtp.received).toHaveLength(0);
  });

  it('with ?insecure=1 plaintext is allowed', async () => {
    const smtp = await server({ host: outside! });
    const t = transport(`smtp://ana:pw@${outside}:${smtp.port}?insecure=1`);
    expect(await t.send(message('bob@example.test'))).toMatchObject({ kind: 'sent' });
    expect(smtp.received[0]!.secure).toBe(false);
  });

  it('with STARTTLS offered: the session is encrypted before the login and the message', async () => {
    const smtp = await server({ host: outside!, starttls: true, auth: { user: 'ana', pass: 'pw' } });
    // the test server's certificate is self-signed: trust it for this test only
    const t = transport(`smtp://ana:pw@${outside}:${smtp.port}`, { tls: { rejectUnauthorized: false } });
    expect(await t.send(message('bob@example.test'))).toMatchObject({ kind: 'sent' });
    expect(smtp.received[0]!.secure).toBe(true);
  });

  it('with STARTTLS offered but an unverifiable certificate: unavailable, nothing sent', async () => {
    const smtp = await server({ host: outside!, starttls: true });
    const t = transport(`smtp://ana:pw@${outside}:${smtp.port}`);
    expect(await t.send(message('bob@example.test'))).toMatchObject({ kind: 'unavailable' });
    expect(smtp.stats.auths).toBe(0);
    expect(smtp.stats.mailFrom).toBe(0);
  });
});

