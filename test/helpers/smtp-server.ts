/**
 * A scriptable SMTP server for tests (smtp-server on 127.0.0.1, a random port).
 *
 *   const smtp = await startTestSmtp({ behaviour: ({ rcpt, attempt }) => (attempt === 1 ? { rcptReply: '451 4.7.1 try later' } : 'accept') });
 *   … send to smtp.url …
 *   expect(smtp.countFor(messageId)).toBe(1);
 *   await smtp.close();
 *
 * `behaviour` is called once per recipient per transaction, when its RCPT TO arrives (before the
 * message, so it cannot see the Message-ID); `attempt` counts the transactions seen for that
 * address (case-insensitive), starting at 1. The behaviour of a transaction's first recipient
 * decides what happens to its data. Nothing here depends on timing.
 */
import { EventEmitter } from 'node:events';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';

export type Behaviour =
  | 'accept'
  /** reply to RCPT TO with this, e.g. '451 4.7.1 try later' or '550 5.1.1 <x@y>: user unknown' */
  | { rcptReply: string }
  /** read the whole message, then reply with this instead of 250, e.g. '554 5.7.1 rejected' */
  | { dataReply: string }
  /** read the whole message, then destroy the socket without replying */
  | 'drop-after-data'
  /** destroy the socket instead of replying to RCPT TO (so before any message data) */
  | 'drop-before-data';

export interface BehaviourContext {
  rcpt: string;
  /** per-recipient count of transactions seen, 1 for the first */
  attempt: number;
}

export interface TestSmtpOptions {
  /** only this user/pass may log in (a wrong one gets 535) and MAIL needs a login; without it any login is accepted and none is needed */
  auth?: { user: string; pass: string };
  behaviour?: (ctx: BehaviourContext) => Behaviour;
  /** the server closes a connection idle this long (with '421 Timeout'); default 60 s */
  socketTimeoutMs?: number;
  /** offer STARTTLS (smtp-server's built-in self-signed certificate); default off */
  starttls?: boolean;
  /** address to listen on; default 127.0.0.1 */
  host?: string;
  /** offer SMTPUTF8 (RFC 6531) in EHLO; default true (smtp-server's default) */
  smtputf8?: boolean;
  /** offer PIPELINING (RFC 2920) in EHLO; default true (smtp-server's default) */
  pipelining?: boolean;
  /** called when a DATA command is accepted, before any byte of its message is read */
  onDataCommand?: () => void;
  /** every RCPT TO waits for this before it is answered (a test's "not before all are ready") */
  gate?: Promise<void>;
}

/** A MAIL FROM or RCPT TO as the server parsed it: the address and its ESMTP parameters. */
export interface EnvelopeCommand {
  command: 'MAIL FROM' | 'RCPT TO';
  address: string;
  /** e.g. { SMTPUTF8: true }; false when the command had none */
  args: Record<string, unknown> | false;
}

export interface ReceivedMessage {
  messageId: string;
  from: string;
  to: string[];
  raw: Buffer;
  /** the session was encrypted (STARTTLS) */
  secure: boolean;
}

export interface TestSmtp {
  port: number;
  /** smtp://127.0.0.1:port (with the host option, that host) */
  url: string;
  /** every message the server answered 250 to, in order */
  received: ReceivedMessage[];
  /** messages read in full and then cut off by 'drop-after-data' (not in `received`) */
  droppedAfterData: ReceivedMessage[];
  /** how many times `received` holds this Message-ID (angle brackets optional) */
  countFor(messageId: string): number;
  /** transactions seen for a recipient (the last `attempt` its behaviour was asked about) */
  attemptsFor(rcpt: string): number;
  /** every MAIL FROM and RCPT TO the server parsed, in order */
  commands: EnvelopeCommand[];
  /** counters of what reached the server */
  stats: { connections: number; closed: number; auths: number; authFailures: number; mailFrom: number; rcptTo: number; dataCommands: number; dataBytes: number };
  /** resolves once `stats.closed` reaches n (connections closed since the start, either side) */
  whenClosed(n: number): Promise<void>;
  /** cuts every open connection (no reply, no QUIT) */
  dropAllConnections(): void;
  close(): Promise<void>;
}

function normalizeId(id: string): string {
  return id.trim().replace(/^<|>$/g, '');
}

/** The Message-ID header of raw RFC 5322 bytes ('' if none). */
export function messageIdOf(raw: Buffer): string {
  const text = raw.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const head = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const m = /^message-id:[ \t]*(.*)$/im.exec(head);
  return m ? m[1]!.trim() : '';
}

/** Splits '451 4.7.1 try later' into code 451 and the text after it. */
function parseReply(reply: string): { code: number; text: string } {
  const m = /^([2-5]\d\d)[ -]?(.*)$/s.exec(reply.trim());
  if (!m) throw new Error(`test SMTP reply must start with a 3-digit code: ${JSON.stringify(reply)}`);
  return { code: Number(m[1]), text: m[2]!.trim() };
}

function replyError(reply: string): Error & { responseCode: number } {
  const { code, text } = parseReply(reply);
  return Object.assign(new Error(text), { responseCode: code });
}

export async function startTestSmtp(options: TestSmtpOptions = {}): Promise<TestSmtp> {
  const behaviour = options.behaviour ?? (() => 'accept' as const);
  const attempts = new Map<string, number>();
  /** what the first recipient's behaviour decided for the data of the session's transaction */
  const decisions = new WeakMap<SMTPServerSession, Behaviour>();
  const received: ReceivedMessage[] = [];
  const receivedCounts = new Map<string, number>();
  const droppedAfterData: ReceivedMessage[] = [];
  const commands: EnvelopeCommand[] = [];
  const stats = { connections: 0, closed: 0, auths: 0, authFailures: 0, mailFrom: 0, rcptTo: 0, dataCommands: 0, dataBytes: 0 };
  const events = new EventEmitter();
  const answerRcpt = (address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void): void => {
    stats.rcptTo++;
    commands.push({ command: 'RCPT TO', address: address.address, args: address.args });
    const key = address.address.toLowerCase();
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    const b = behaviour({ rcpt: address.address, attempt });
    if (b === 'drop-before-data') {
      destroySocketOf(session);
      return; // no reply: the socket is gone
    }
    if (typeof b === 'object' && 'rcptReply' in b) return cb(replyError(b.rcptReply));
    if (!decisions.has(session)) decisions.set(session, b);
    cb();
  };

  // eslint-disable-next-line prefer-const
  let server: SMTPServer;
  const destroySocketOf = (session: SMTPServerSession) => {
    for (const c of server.connections as Set<{ id: string; _socket?: { destroy(): void } }>) {
      if (c.id === session.id) c._socket?.destroy();
    }
  };

  server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    secure: false,
    disabledCommands: options.starttls ? [] : ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: !options.auth,
    hideENHANCEDSTATUSCODES: true,
    hideSMTPUTF8: options.smtputf8 === false,
    hidePIPELINING: options.pipelining === false,
    socketTimeout: options.socketTimeoutMs ?? 60_000,
    closeTimeout: 1_000,
    onConnect(_session, cb) {
      stats.connections++;
      cb();
    },
    onClose() {
      stats.closed++;
      events.emit('closed');
    },
    onAuth(auth, _session, cb) {
      stats.auths++;
      if (options.auth && (auth.username !== options.auth.user || auth.password !== options.auth.pass)) {
        stats.authFailures++;
        return cb(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
      }
      cb(null, { user: auth.username ?? 'anonymous' });
    },
    onMailFrom(address, session, cb) {
      stats.mailFrom++;
      commands.push({ command: 'MAIL FROM', address: address.address, args: address.args });
      decisions.delete(session);
      cb();
    },
    onRcptTo(address, session, cb) {
      // held until the gate opens, then answered in arrival order (an open gate: a microtask later)
      if (options.gate) void options.gate.then(() => answerRcpt(address, session, cb));
      else answerRcpt(address, session, cb);
    },
    onData(stream, session, cb) {
      stats.dataCommands++;
      options.onDataCommand?.();
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => {
        stats.dataBytes += c.length;
        chunks.push(c);
      });
      stream.on('error', () => undefined);
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const msg: ReceivedMessage = {
          messageId: messageIdOf(raw),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          secure: !!session.secure,
        };
        const b = decisions.get(session) ?? 'accept';
        decisions.delete(session);
        if (b === 'drop-after-data') {
          droppedAfterData.push(msg);
          destroySocketOf(session);
          return; // no reply
        }
        if (typeof b === 'object' && 'dataReply' in b) return cb(replyError(b.dataReply));
        received.push(msg);
        const id = normalizeId(msg.messageId);
        receivedCounts.set(id, (receivedCounts.get(id) ?? 0) + 1);
        cb(null, 'OK: message queued');
      });
    },
  });
  // connection errors (a client that vanished) must not crash the test process
  server.on('error', () => undefined);

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const address = server.server.address();
  if (!address || typeof address === 'string') throw new Error('test SMTP server has no port');
  const port = address.port;

  const dropAllConnections = () => {
    for (const c of server.connections as Set<{ _socket?: { destroy(): void } }>) c._socket?.destroy();
  };

  return {
    port,
    url: `smtp://${host.includes(':') ? `[${host}]` : host}:${port}`,
    received,
    droppedAfterData,
    commands,
    stats,
    countFor: (messageId) => receivedCounts.get(normalizeId(messageId)) ?? 0,
    attemptsFor: (rcpt) => attempts.get(rcpt.toLowerCase()) ?? 0,
    whenClosed: (n) =>
      new Promise<void>((resolve) => {
        if (stats.closed >= n) return resolve();
        const check = () => {
          if (stats.closed >= n) {
            events.off('closed', check);
            resolve();
          }
        };
        events.on('closed', check);
      }),
    dropAllConnections,
    close: () =>
      new Promise<void>((resolve) => {
        dropAllConnections();
        server.close(() => resolve());
      }),
  };
}
