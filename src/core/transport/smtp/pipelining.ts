/**
 * SMTP PIPELINING (RFC 2920) for the whole envelope: MAIL FROM, RCPT TO and DATA go out in one
 * write, and their three replies come back together — one round trip to the server before the
 * message instead of three. nodemailer pipelines only the RCPT TO commands among themselves,
 * which for our one-recipient messages saves nothing. Over a network each round trip is the
 * server's latency (tens of ms to a remote relay), so a connection sends up to twice as many
 * messages; on loopback it is two wake-ups fewer per message, on both sides.
 *
 * Nothing of the message goes out with the envelope: DATA is a command, and the message itself
 * still waits for the server's 354 (and, in the transport, for the claim to be on disk). When
 * the server refused the sender or every recipient, it must refuse the pipelined DATA too (RFC
 * 2920 §3.1); one that answers 354 all the same gets an empty message's end (".") and its reply
 * is swallowed: nothing is delivered, as the server has no recipient. The replies reach the
 * transport as nodemailer's own errors (the refused command and its reply), so the send is
 * classified as without pipelining.
 *
 * Installed on each connection, wrapping nodemailer's private `_setEnvelope` (nodemailer 7,
 * pinned by the lock file; test/core/smtp-pipelining.test.ts talks to a real smtp-server with
 * and without the extension, and fails if nodemailer's internals move).
 */
import type SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';

type SmtpError = SMTPConnection.SMTPError;
type Callback = (err: SmtpError | null, info?: unknown) => void;

/** The parts of nodemailer's SMTPConnection this relies on (lib/smtp-connection/index.js). */
interface Internals {
  _supportedExtensions: string[];
  _responseActions: Array<(str: string) => void>;
  _envelope: { to: string[]; rcptQueue: string[]; accepted: string[]; rejected: string[]; rejectedErrors: SmtpError[] };
  _socket: { cork(): void; uncork(): void } | null;
  _setEnvelope(envelope: unknown, callback: Callback): void;
  _sendCommand(str: string): void;
  _getDsnRcptToArgs(): string;
  _actionDATA(str: string, callback: Callback): void;
  _formatError(message: string, type: string, response: string | false, command: string): SmtpError & { recipient?: string; rejected?: string[]; rejectedErrors?: SmtpError[] };
}

/** True when this nodemailer still has what `pipelineEnvelopes` wraps. */
function canPipeline(smtp: SMTPConnection): boolean {
  const s = smtp as unknown as Partial<Internals>;
  return (
    typeof s._setEnvelope === 'function' &&
    typeof s._sendCommand === 'function' &&
    typeof s._actionDATA === 'function' &&
    typeof s._formatError === 'function' &&
    typeof s._getDsnRcptToArgs === 'function' &&
    Array.isArray(s._responseActions)
  );
}

/** Makes `smtp` pipeline each envelope when the server offers PIPELINING; a no-op otherwise. */
export function pipelineEnvelopes(smtp: SMTPConnection): void {
  if (!canPipeline(smtp)) return;
  const c = smtp as unknown as Internals;
  const plain = c._setEnvelope;
  c._setEnvelope = function (this: Internals, envelope: unknown, callback: Callback): void {
    if (!this._supportedExtensions.includes('PIPELINING')) return plain.call(this, envelope, callback);
    const queued = this._responseActions.length;
    this._socket?.cork();
    try {
      plain.call(this, envelope, callback);
      // nodemailer queued the reply's handler and sent MAIL FROM, or refused the envelope
      // locally (then nothing was sent and `callback` has its error).
      if (this._responseActions.length !== queued + 1) return;
      let refused: SmtpError | null = null;
      this._responseActions[queued] = (str) => {
        if (!/^2/.test(str)) refused = this._formatError('Mail command failed', 'EENVELOPE', str, 'MAIL FROM');
      };
      const env = this._envelope;
      let lastRefusal = '';
      for (const rcpt of env.rcptQueue.splice(0)) {
        this._responseActions.push((str) => {
          if (/^2/.test(str)) return void env.accepted.push(rcpt);
          const err = this._formatError('Recipient command failed', 'EENVELOPE', str, 'RCPT TO');
          err.recipient = rcpt;
          env.rejected.push(rcpt);
          env.rejectedErrors.push(err);
          lastRefusal = str;
        });
        this._sendCommand(`RCPT TO:<${rcpt}>${this._getDsnRcptToArgs()}`);
      }
      this._responseActions.push((str) => {
        if (!refused && env.rejected.length === env.to.length) {
          const err = this._formatError("Can't send mail - all recipients were rejected", 'EENVELOPE', lastRefusal, 'RCPT TO');
          err.rejected = env.rejected;
          err.rejectedErrors = env.rejectedErrors;
          refused = err;
        }
        if (!refused) return this._actionDATA(str, callback);
        if (/^[23]/.test(str)) {
          // A server that took DATA with nobody to deliver to: end the empty message.
          this._responseActions.push(() => undefined);
          this._sendCommand('.');
        }
        callback(refused);
      });
      this._sendCommand('DATA');
    } finally {
      this._socket?.uncork();
    }
  };
}
