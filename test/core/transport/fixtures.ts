/** Fixtures the transport tests share (not a test file: no .test. in its name). */
import { createServer } from 'node:net';
import { afterEach, expect } from 'vitest';
import { createTransport, type OutgoingEnvelope, parseTransportUrl, type Transport } from '../../../src/core/transport/index.js';
import { ConfigError } from '../../../src/core/types.js';
import { type Behaviour, startTestSmtp, type TestSmtp, type TestSmtpOptions } from '../../helpers/smtp-server.js';

let n = 0;
/** Hand-made RFC 5322 bytes (CRLF), with a line starting with '.' to exercise dot-stuffing. */
export function message(to: string, body = 'Hello.\r\n.a line that starts with a dot\r\n..and two\r\nbye\r\n'): OutgoingEnvelope {
  const messageId = `<t.${process.pid}.${++n}@example.test>`;
  const raw = Buffer.from(
    `From: "Aremko" <news@example.test>\r\nTo: ${to}\r\nSubject: test ${n}\r\nMessage-ID: ${messageId}\r\n` +
      `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}`,
  );
  return { from: '"Aremko" <news@example.test>', to, raw, messageId };
}

/** Registers an afterEach that runs what `cleanup()` was given, last first. Call once per test file. */
export function useCleanups(): (fn: () => Promise<void> | void) => void {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return (fn) => void cleanups.push(fn);
}

export function helpers(cleanup: (fn: () => Promise<void> | void) => void) {
  return {
    async server(options: TestSmtpOptions = {}): Promise<TestSmtp> {
      const s = await startTestSmtp(options);
      cleanup(() => s.close());
      return s;
    },
    transport(url: string, options: Parameters<typeof createTransport>[1] = {}): Transport {
      const t = createTransport(parseTransportUrl(url), options);
      cleanup(() => t.close());
      return t;
    },
  };
}

export function script(map: Record<string, (attempt: number) => Behaviour>): TestSmtpOptions['behaviour'] {
  return ({ rcpt, attempt }) => map[rcpt]?.(attempt) ?? 'accept';
}

/**
 * A line-based SMTP server for replies smtp-server will not give. It greets with `greeting` (any
 * other than a 220 ends the connection there), then `reply` answers each command line (null: end
 * the connection). After a 3xx to DATA the message's lines are kept, not answered, up to the "."
 * that ends it, which `reply` answers. `lines` keeps every line the client sent.
 */
export async function lineSmtp(
  cleanup: (fn: () => Promise<void> | void) => void,
  greeting: string,
  reply: (line: string) => string | null,
): Promise<{ port: number; lines: string[] }> {
  const lines: string[] = [];
  const s = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write(greeting + '\r\n');
    if (!greeting.startsWith('220')) return void socket.end();
    let buf = '';
    let inData = false;
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        lines.push(line);
        if (inData && line !== '.') continue;
        const r = reply(line);
        if (r === null) return void socket.end();
        inData = /^DATA$/i.test(line) && r.startsWith('3');
        socket.write(r + '\r\n');
      }
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  cleanup(() => new Promise<void>((r) => s.close(() => r())));
  return { port: (s.address() as { port: number }).port, lines };
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export function expectConfigError(fn: () => unknown, secret?: string): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const e = caught as ConfigError;
  expect(e.exitCode).toBe(2);
  if (secret) expect(e.message).not.toContain(secret);
  return e;
}

/** An envelope for the HTTPS APIs: the MIME bytes and the rendered parts, as the engine passes them. */
export function apiMessage(to: string, extra: Partial<OutgoingEnvelope> = {}): OutgoingEnvelope {
  const base = message(to, 'Hola Ana.\r\n');
  return {
    ...base,
    parts: {
      from: '"Aremko Spa" <news@example.test>',
      to,
      replyTo: 'reservas@example.test',
      subject: 'Una tarde de tinajas, Ana',
      text: 'Hola Ana.',
      html: '<p>Hola Ana.</p>',
      headers: { 'List-Unsubscribe': '<https://example.test/baja?e=ana>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
    },
    ...extra,
  };
}

/** A key the provider still deduplicates: the engine's idempotencyKey + idempotentUntil. */
export function withKey(key: string, now = Date.now(), windowMs = 24 * 3600_000): Partial<OutgoingEnvelope> {
  return { idempotencyKey: key, idempotentUntil: now + windowMs };
}

/** Outcome as JSON: for "no secret anywhere in it" assertions. */
export const text = (v: unknown) => JSON.stringify(v);
