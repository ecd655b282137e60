/** Reading an API's answer: its body, its error text, and when a rate limit ends. */
import type { IncomingHttpHeaders } from 'node:http';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  /** the body as text ('' when empty) */
  text: string;
  /** the body parsed as JSON, or null when it is not JSON */
  json: unknown;
}

export function toAnswer(status: number, headers: IncomingHttpHeaders, body: Buffer): Answer {
  const text = body.toString('utf-8');
  let json: unknown = null;
  if (text.trim()) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  return { status, headers, text, json };
}

/** A string field of a JSON object answer, or null. */
export function field(json: unknown, name: string): string | null {
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    const v = (json as Record<string, unknown>)[name];
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
  }
  return null;
}

/** A short, one-line form of a body for an error message. */
export function shortBody(text: string, max = 300): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

const MAX_WAIT_MS = 24 * 3600_000;

/**
 * When a rate limit ends (epoch ms), from the answer's headers:
 * - `retry-after`: seconds, or an HTTP date (RFC 9110);
 * - `ratelimit-reset`: seconds until the window resets (IETF draft; Resend);
 * - `x-ratelimit-reset`: SendGrid documents epoch seconds; a value too small to be a date is
 *   taken as seconds from now, one too large as epoch milliseconds.
 * The latest of those given wins (waiting less than any of them would be refused again); none
 * given: `fallbackMs` from now. Always between 1 s and 24 h from now.
 */
export function rateLimitUntil(headers: IncomingHttpHeaders, now: number, fallbackMs: number): number {
  const candidates: number[] = [];
  const retryAfter = header(headers, 'retry-after');
  if (retryAfter) {
    if (/^\s*\d+(\.\d+)?\s*$/.test(retryAfter)) candidates.push(now + Number(retryAfter) * 1000);
    else {
      const date = Date.parse(retryAfter);
      if (Number.isFinite(date)) candidates.push(date);
    }
  }
  const reset = header(headers, 'ratelimit-reset');
  if (reset && /^\s*\d+(\.\d+)?\s*$/.test(reset)) candidates.push(now + Number(reset) * 1000);
  const xReset = header(headers, 'x-ratelimit-reset');
  if (xReset && /^\s*\d+(\.\d+)?\s*$/.test(xReset)) {
    const n = Number(xReset);
    candidates.push(n > 1e12 ? n : n > 1e9 ? n * 1000 : now + n * 1000);
  }
  const until = candidates.length ? Math.max(...candidates) : now + fallbackMs;
  return Math.min(Math.max(until, now + 1000), now + MAX_WAIT_MS);
}
