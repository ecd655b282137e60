/**
 * What a send's outcome means for its recipient, the log and the run's counters (interpretOutcome):
 * every kind the transports report, including the ones that are no attempt at all.
 */
import { describe, expect, it } from 'vitest';
import { interpretOutcome, type OutcomeContext } from '../../src/core/outcome.js';

const AT = Date.UTC(2026, 11, 1, 12);
const context = (attempts: number, maxAttempts = 3): OutcomeContext => ({
  campaign: { id: 7, maxAttempts, retryDelaySeconds: 60 },
  recipient: { id: 42, email: 'ana@example.cl', attempts },
  batch: 2,
  messageId: '<m-42@aremko.cl>',
  at: AT,
  random: () => 0.5,
});
const base = { at: AT, campaignId: 7, recipientId: 42, email: 'ana@example.cl', batch: 2 };

describe('interpretOutcome', () => {
  it('sent: recorded with the reply and the provider id, logged, counted', () => {
    const r = interpretOutcome({ kind: 'sent', response: '250 OK', providerId: 'p-1' }, context(1));
    expect(r).toEqual({
      result: { recipientId: 42, at: AT, messageId: '<m-42@aremko.cl>', outcome: 'sent', detail: '250 OK', providerId: 'p-1' },
      event: { ...base, attempt: 1, type: 'sent', response: '250 OK', messageId: '<m-42@aremko.cl>', providerId: 'p-1' },
      count: 'sent',
    });
  });

  it('retry: due again after the base delay doubled per attempt made', () => {
    const r = interpretOutcome({ kind: 'retry', error: '451 later' }, context(2));
    // 60 s × 2^(2−1), jitter 0.9 + 0.2 × 0.5 = 1
    expect(r.result).toMatchObject({ outcome: 'retry', retryAt: AT + 120_000, dedupeUntil: null, detail: '451 later' });
    expect(r.event).toMatchObject({ type: 'retry_scheduled', retryAt: AT + 120_000, attempt: 2 });
    expect(r.count).toBe('retried');
  });

  it('retry at the last attempt: failed, or in doubt when the request may have reached the provider', () => {
    const failed = interpretOutcome({ kind: 'retry', error: '451 later' }, context(3));
    expect(failed.result).toMatchObject({ outcome: 'failed', detail: '451 later (gave up after 3 attempts)' });
    expect(failed.event).toMatchObject({ type: 'failed', suppressed: false });
    expect(failed.count).toBe('failed');
    const doubt = interpretOutcome({ kind: 'retry', error: 'answer lost', dedupeUntil: AT + 1000 }, context(3));
    expect(doubt.result).toMatchObject({ outcome: 'in_doubt', detail: 'answer lost (gave up after 3 attempts)' });
    expect(doubt.count).toBe('inDoubt');
  });

  it('failed: a dead mailbox is suppressed as bounced, another refusal is not', () => {
    const dead = interpretOutcome({ kind: 'failed', error: '550 no such user', unknownMailbox: true }, context(1));
    expect(dead.result).toMatchObject({ outcome: 'failed', suppress: 'bounced' });
    expect(dead.event).toMatchObject({ type: 'failed', suppressed: true });
    const refused = interpretOutcome({ kind: 'failed', error: '554 spam', unknownMailbox: false }, context(1));
    expect(refused.result).toMatchObject({ outcome: 'failed', suppress: null });
    expect(refused.event).toMatchObject({ suppressed: false });
  });

  it('in doubt: recorded and logged as such', () => {
    const r = interpretOutcome({ kind: 'in_doubt', error: 'connection lost after the data' }, context(1));
    expect(r.result.outcome).toBe('in_doubt');
    expect(r.event).toMatchObject({ type: 'in_doubt', error: 'connection lost after the data' });
    expect(r.count).toBe('inDoubt');
  });

  it('no attempt at all (nothing sent, server unusable, provider throttling): refunded, not logged, not counted', () => {
    const notSent = interpretOutcome({ kind: 'retry', error: 'connect refused', notSent: true }, context(3));
    const unavailable = interpretOutcome({ kind: 'unavailable', error: 'login refused' }, context(1));
    const throttled = interpretOutcome({ kind: 'throttled', until: AT + 5000, error: '429' }, context(1));
    for (const r of [notSent, unavailable, throttled]) {
      expect(r.result.outcome).toBe('refunded');
      expect(r.event).toBeNull();
      expect(r.count).toBeNull();
    }
    expect(throttled.result.throttleUntil).toBe(AT + 5000);
    expect(unavailable.result.throttleUntil).toBeUndefined();
  });
});
