/**
 * One HTTP(S) request that says which phase it reached, the way the SMTP transport does:
 *
 * - `not-written`: it failed before the last byte of the request was handed to the socket
 *   (refused, DNS, TLS, a connection cut mid-upload, the connect timeout). A server acts on a
 *   request only once it has all of it, so nothing can have been accepted.
 * - `lost`: the whole request went out and no complete answer came back (reset, timeout). The
 *   provider may have accepted it.
 * - `answered`: a status, headers and the body (read up to a limit).
 *
 * Node's own http/https, not fetch: fetch does not tell a failure before the body went out from
 * one after it, and that difference is the whole point. ClientRequest 'finish' is the moment the
 * last byte has been handed to the operating system.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

export type HttpResult =
  | { phase: 'answered'; status: number; headers: IncomingHttpHeaders; body: Buffer }
  | { phase: 'not-written'; error: string }
  | { phase: 'lost'; error: string };

export interface HttpRequest {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: Buffer;
}

export interface HttpRequestOptions {
  agent: http.Agent;
  /** from the start until the request is written whole (connect, TLS, upload) */
  connectTimeoutMs: number;
  /** from the request written until the answer is complete */
  responseTimeoutMs: number;
  signal: AbortSignal;
}

/** Bodies beyond this are cut: no answer we read needs more. */
const MAX_BODY = 1 << 20;

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code && !String(e.message ?? '').includes(e.code) ? `${e.code} ` : '';
  return `${code}${e?.message ?? String(err)}`.trim();
}

export function httpRequest(request: HttpRequest, options: HttpRequestOptions): Promise<HttpResult> {
  return new Promise((resolve) => {
    const url = new URL(request.url);
    const lib = url.protocol === 'https:' ? https : http;
    let written = false;
    let settled = false;
    let timer: NodeJS.Timeout | null = null;

    const finish = (result: HttpResult) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const fail = (err: unknown) => finish(written ? { phase: 'lost', error: describe(err) } : { phase: 'not-written', error: describe(err) });

    if (options.signal.aborted) return finish({ phase: 'not-written', error: 'transport closed' });

    const req = lib.request(url, {
      method: request.method,
      headers: { ...request.headers, 'content-length': String(request.body.length) },
      agent: options.agent as https.Agent,
    });
    const onAbort = () => req.destroy(new Error('transport closed'));
    options.signal.addEventListener('abort', onAbort);

    const arm = (ms: number, what: string) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => req.destroy(Object.assign(new Error(`${what} after ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
      timer.unref?.();
    };
    arm(options.connectTimeoutMs, 'no connection');

    req.on('finish', () => {
      written = true;
      arm(options.responseTimeoutMs, 'no answer');
    });
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_BODY) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('error', fail);
      res.on('aborted', () => fail(new Error('the answer was cut off')));
      res.on('end', () => {
        if (!res.complete) return fail(new Error('the answer was cut off'));
        finish({ phase: 'answered', status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).subarray(0, MAX_BODY) });
      });
      // a server that answers before reading the whole request: the answer is all that matters
      written = true;
    });
    req.end(request.body);
  });
}
