/**
 * What one send's outcome means: the recipient's update the next step records, the line of the
 * log that goes with it, and which of the run's counters it adds to. Pure: the campaign loop
 * applies what concerns the whole campaign (a server that cannot be used, a provider's "slow
 * down", a stored error that no longer holds).
 */
import type { AttemptEvent } from './events.js';
import { retryDelayMs } from './schedule.js';
import { GAVE_UP } from './stored-errors.js';
import type { AttemptResult } from './store.js';
import type { SendOutcome } from './transport/index.js';
import { type Campaign, laterBy, type Recipient } from './types.js';

/** The run's counters (CampaignRunResult) an outcome adds one to. */
export type OutcomeCount = 'sent' | 'failed' | 'retried' | 'inDoubt';

export interface Interpreted {
  result: AttemptResult;
  /** The attempt's line of the log; null when it was no attempt (nothing reached the server). */
  event: AttemptEvent | null;
  count: OutcomeCount | null;
}

export interface OutcomeContext {
  campaign: Pick<Campaign, 'id' | 'maxAttempts' | 'retryDelaySeconds'>;
  recipient: Pick<Recipient, 'id' | 'email' | 'attempts'>;
  batch: number;
  messageId: string;
  at: number;
  /** [0, 1), for the retry delay's jitter */
  random: () => number;
}

export function interpretOutcome(outcome: SendOutcome, x: OutcomeContext): Interpreted {
  const { campaign, recipient, at, messageId } = x;
  const attempt = recipient.attempts;
  const base = { at, campaignId: campaign.id, recipientId: recipient.id, email: recipient.email, attempt, batch: x.batch };
  const result = (r: Omit<AttemptResult, 'recipientId' | 'at' | 'messageId'>): AttemptResult => ({ recipientId: recipient.id, at, messageId, ...r });
  /** Not an attempt: its place in the batch goes back, and it is claimed again. */
  const refund = (detail: string, throttleUntil?: number): Interpreted => ({
    result: result({ outcome: 'refunded', detail, ...(throttleUntil !== undefined && { throttleUntil }) }),
    event: null,
    count: null,
  });
  switch (outcome.kind) {
    case 'sent': {
      const providerId = outcome.providerId ?? null;
      return {
        result: result({ outcome: 'sent', detail: outcome.response, providerId }),
        event: { ...base, type: 'sent', response: outcome.response, messageId, providerId },
        count: 'sent',
      };
    }
    case 'retry': {
      // Nothing reached the provider (connect refused, request never written): not an attempt.
      if (outcome.notSent) return refund(outcome.error);
      const dedupeUntil = outcome.dedupeUntil ?? null;
      if (attempt >= campaign.maxAttempts) {
        const error = `${outcome.error} ${GAVE_UP(attempt)}`;
        // The last request may have reached the provider: giving up is not "failed".
        if (dedupeUntil !== null) return { result: result({ outcome: 'in_doubt', detail: error }), event: { ...base, type: 'in_doubt', error }, count: 'inDoubt' };
        return { result: result({ outcome: 'failed', detail: error }), event: { ...base, type: 'failed', error, suppressed: false }, count: 'failed' };
      }
      const retryAt = laterBy(at, retryDelayMs(campaign.retryDelaySeconds, attempt, x.random));
      return {
        result: result({ outcome: 'retry', detail: outcome.error, retryAt, dedupeUntil }),
        event: { ...base, type: 'retry_scheduled', retryAt, error: outcome.error },
        count: 'retried',
      };
    }
    case 'failed': {
      const suppress = outcome.unknownMailbox ? 'bounced' : null;
      return {
        result: result({ outcome: 'failed', detail: outcome.error, suppress }),
        event: { ...base, type: 'failed', error: outcome.error, suppressed: !!suppress },
        count: 'failed',
      };
    }
    case 'in_doubt':
      return { result: result({ outcome: 'in_doubt', detail: outcome.error }), event: { ...base, type: 'in_doubt', error: outcome.error }, count: 'inDoubt' };
    case 'unavailable':
      // The server was never reached with this message: not an attempt, not a failure.
      return refund(outcome.error);
    case 'throttled':
      // A provider's "slow down" (HTTP 429): a wait for the whole campaign, not an attempt.
      return refund(outcome.error, outcome.until);
  }
}
