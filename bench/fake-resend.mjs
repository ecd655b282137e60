// A local stand-in for Resend's API (https://resend.com/docs/api-reference/emails/send-email):
// POST /emails with a Bearer key and a JSON body (from, to, subject, html and/or text) answers
// 200 {"id": "<uuid>"}; a missing key 401, a body that is not JSON or lacks a field 422, as the
// documentation's errors say. Keep-alive as any HTTP/1.1 server. Prints "port <n>"; SIGTERM
// prints "received <n>" (messages accepted) and exits.
import { randomUUID } from 'node:crypto';
import http from 'node:http';

let received = 0;
const answer = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/emails') return answer(res, 404, { statusCode: 404, name: 'not_found', message: 'Not found' });
    if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) return answer(res, 401, { statusCode: 401, name: 'missing_api_key', message: 'Missing API key in the authorization header' });
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return answer(res, 422, { statusCode: 422, name: 'validation_error', message: 'Invalid JSON' });
    }
    for (const field of ['from', 'to', 'subject']) if (!body[field]) return answer(res, 422, { statusCode: 422, name: 'missing_required_field', message: `Missing \`${field}\` field.` });
    if (!body.html && !body.text) return answer(res, 422, { statusCode: 422, name: 'validation_error', message: 'Missing `html` or `text` field.' });
    received++;
    answer(res, 200, { id: randomUUID() });
  });
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${server.address().port}\n`));
process.on('SIGTERM', () => {
  process.stdout.write(`received ${received}\n`);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 1000).unref();
});
