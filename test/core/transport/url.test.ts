import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoopbackHost, parseTransportUrl, redactUrl } from '../../../src/core/transport/index.js';
import { expectConfigError } from './fixtures.js';

describe('parseTransportUrl / redactUrl', () => {
  it('parses smtp with percent-encoded credentials, default port 587, pool 1', () => {
    const c = parseTransportUrl('smtp://ana%40aremko.cl:p%40ss%2Fw%23rd%20x@Mail.Example.com');
    expect(c).toMatchObject({ kind: 'smtp', host: 'mail.example.com', port: 587, user: 'ana@aremko.cl', pass: 'p@ss/w#rd x', pool: 1, insecure: false, dir: null });
    expect(c.display).toBe('smtp://ana%40aremko.cl:***@Mail.Example.com');
    expect(c.display).not.toContain('p%40ss');
  });

  it('parses smtps (465), ports, pool, insecure, IPv6 and no credentials', () => {
    expect(parseTransportUrl('smtps://u:pw@smtp.example.com')).toMatchObject({ kind: 'smtps', port: 465 });
    expect(parseTransportUrl('smtps://u:pw@smtp.example.com:2465')).toMatchObject({ kind: 'smtps', port: 2465 });
    expect(parseTransportUrl('smtp://relay.local:25?pool=3&insecure=1')).toMatchObject({ host: 'relay.local', port: 25, pool: 3, insecure: true, user: null, pass: null });
    expect(parseTransportUrl('smtp://[::1]:2525/')).toMatchObject({ host: '::1', port: 2525 });
    expect(parseTransportUrl('smtp://h?insecure=0').insecure).toBe(false);
  });

  it('parses outbox:<dir> to an absolute folder', () => {
    const c = parseTransportUrl('outbox:data/outbox');
    expect(c.kind).toBe('outbox');
    expect(c.dir).toBe(join(process.cwd(), 'data/outbox'));
    expect(c.display).toBe('outbox:data/outbox');
    expect(parseTransportUrl('outbox:/tmp/x').dir).toBe('/tmp/x');
  });

  it('redacts the password, also in URLs that do not parse', () => {
    expect(redactUrl('smtp://u:s3cret@h:25?pool=2')).toBe('smtp://u:***@h:25?pool=2');
    expect(redactUrl('smtps://u:p%40ss@h')).toBe('smtps://u:***@h');
    expect(redactUrl('smtp://u:se/cr#et@host')).toBe('smtp://u:***@host');
    expect(redactUrl('smtp://u:p@ss@host')).toBe('smtp://u:***@host');
    expect(redactUrl('smtp://host:25')).toBe('smtp://host:25');
    expect(redactUrl('outbox:out')).toBe('outbox:out');
  });

  it('rejects bad URLs with an exit-2 ConfigError that never shows the password', () => {
    const bad: Array<[string, RegExp]> = [
      ['', /empty/],
      ['ftp://u:SECRETPW@h', /unsupported.*ftp/],
      ['smtp:h', /must start with smtp:\/\//],
      ['smtp://u:SECRETPW@h:99999', /port/],
      ['smtp://u:SECRETPW@h:0', /port/],
      ['smtp://u:SEC/RETPW@h', /percent-encoded/],
      ['smtp://u:SECRETPW@h?pool=0', /pool/],
      ['smtp://u:SECRETPW@h?pool=abc', /pool/],
      ['smtp://u:SECRETPW@h?pool=1.5', /pool/],
      ['smtp://u:SECRETPW@h?pool=', /pool/],
      ['smtp://u:SECRETPW@h?insecure=maybe', /insecure/],
      ['smtp://u:SECRETPW@h?tls=off', /unknown option "tls"/],
      ['smtp://u:SECRETPW@h/path', /path/],
      ['smtp://u@h', /no password/],
      ['smtp://:SECRETPW@h', /no user name/],
      ['smtp://u:SECRETPW%zz@h', /percent-encoding/],
      ['outbox:', /folder/],
    ];
    for (const [url, why] of bad) {
      const e = expectConfigError(() => parseTransportUrl(url), 'SECRETPW');
      expect(e.message, url).toMatch(why);
      expect(e.message).not.toContain('SEC/RETPW');
    }
  });

  it('knows loopback hosts', () => {
    for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['192.0.2.2', 'mail.example.com', '10.0.0.1', '128.0.0.1', 'localhost.example.com']) expect(isLoopbackHost(h), h).toBe(false);
  });
});

