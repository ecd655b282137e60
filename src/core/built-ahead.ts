/**
 * Messages built ahead of their claim. While a runner's messages are in flight, it reads (without
 * claiming) the recipients its next claim will likely take and composes their messages, as
 * plain nodemailer's pool keeps its next message ready: an answer is then followed by the next
 * message at once, not after composing it. Nothing is claimed or sent here; a guess that proves
 * wrong (another runner claimed those recipients, a retry became due first) costs only the CPU.
 * The read rides in a claim's own transaction (ClaimOptions.peek: `wanted` says how many, `fill`
 * takes the answer), right after the claim, so it costs no round trip of its own on PostgreSQL.
 * It reads when fewer than `pool` built messages would be left after the claim, and then the
 * next 2 × `pool`: a read every `pool` or so claims rather than one per claim. Where most of what
 * it builds goes unused — several runners on one campaign, each peeking at the same next
 * recipients and each claiming only some of them — it mostly stops guessing (one read in
 * PROBE_EVERY) until its guesses come right again. (Counting only the claims that found their
 * message built let 4 runners keep guessing: building ahead then cost them 1.3 ms of CPU a
 * message sent, against not building ahead at all.)
 */
import type { MessageBuilder, OutgoingMessage } from './message.js';
import type { Recipient } from './types.js';

/** How often a BuiltAhead whose guesses keep failing still makes one, to notice when they would come right again. */
const PROBE_EVERY = 16;

export class BuiltAhead {
  private readonly messages = new Map<number, Promise<OutgoingMessage>>();
  private reading: Promise<void> | null = null;
  /** Share of recent messages built ahead that a claim used, rather than threw away (a moving average, 0..1). */
  private useRate = 1;
  private skipped = 0;

  constructor(
    private readonly builder: MessageBuilder,
    private readonly pool: number,
    private readonly mime: boolean,
  ) {}

  /**
   * How many recipients a claim of up to `claiming` should read ahead (ClaimOptions.peek): 0 for
   * none, unless fewer than `pool` built messages would be left once it took its own.
   */
  wanted(claiming: number): number {
    if (this.reading || this.messages.size - claiming >= this.pool) return 0;
    if (this.useRate < 0.5 && ++this.skipped % PROBE_EVERY !== 0) return 0;
    return 2 * this.pool;
  }

  /**
   * Starts composing the messages of `next`, the recipients due after a claim (what `wanted`
   * asked for), on a later turn of the event loop: the claim's own messages, released by the same
   * commit, go out first.
   */
  fill(next: Promise<Recipient[]>): void {
    if (this.reading) return;
    this.reading = next
      .then(async (due) => {
        await new Promise((resolve) => setImmediate(resolve));
        return due;
      })
      .then(
        (due) => {
          const wanted = new Set(due.map((r) => r.id));
          for (const id of this.messages.keys()) if (!wanted.has(id)) this.discard(id);
          for (const r of due) {
            if (this.messages.has(r.id)) continue;
            const message = this.builder.build(r, r.email, { mime: this.mime });
            message.catch(() => undefined); // a template problem is reported by the send that uses it
            this.messages.set(r.id, message);
          }
        },
        () => undefined, // only a guess: the claim reads the database again anyway
      )
      .finally(() => (this.reading = null));
  }

  /** The message for a claimed recipient: built ahead if it was, else now. */
  take(recipient: Recipient): Promise<OutgoingMessage> {
    const ahead = this.messages.get(recipient.id);
    if (ahead) {
      this.useRate = this.useRate * 0.9 + 0.1;
      this.messages.delete(recipient.id);
      return ahead;
    }
    // A claim it did not foresee (another runner took those, a retry came due first): what is
    // kept is likely stale too, and would hold off the next read. Guess again.
    for (const id of [...this.messages.keys()]) this.discard(id);
    return this.builder.build(recipient, recipient.email, { mime: this.mime });
  }

  /** Throws a message built ahead away unused. */
  private discard(id: number): void {
    this.messages.delete(id);
    this.useRate *= 0.9;
  }
}
