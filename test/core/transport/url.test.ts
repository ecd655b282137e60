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


describe('HTTPS API transport URLs', () => {
  it('parses each provider, with its default endpoint, and shows its key as ***', () => {
    const resend = parseTransportUrl('resend://re_Live_AbC123');
    expect(resend).toMatchObject({ kind: 'resend', pool: 1, display: 'resend://***', api: { key: 're_Live_AbC123', endpoint: 'https://api.resend.com' } });
    const postmark = parseTransportUrl('postmark://0f1e2d3c-aaaa-bbbb-cccc-1234567890ab?stream=broadcast&pool=4');
    expect(postmark).toMatchObject({ kind: 'postmark', pool: 4, display: 'postmark://***?stream=broadcast&pool=4', api: { stream: 'broadcast', endpoint: 'https://api.postmarkapp.com' } });
    expect(parseTransportUrl('sendgrid://SG.abc-DEF_1.xyz')).toMatchObject({ kind: 'sendgrid', display: 'sendgrid://***', api: { key: 'SG.abc-DEF_1.xyz', endpoint: 'https://api.sendgrid.com' } });
    const mailgun = parseTransportUrl('mailgun://key-0123abcd@mg.aremko.cl?region=eu');
    expect(mailgun).toMatchObject({ kind: 'mailgun', display: 'mailgun://***@mg.aremko.cl?region=eu', api: { key: 'key-0123abcd', domain: 'mg.aremko.cl', region: 'eu', endpoint: 'https://api.eu.mailgun.net' } });
    expect(parseTransportUrl('mailgun://k@mg.aremko.cl').api?.endpoint).toBe('https://api.mailgun.net');
    const ses = parseTransportUrl('ses://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY@us-east-1');
    expect(ses).toMatchObject({
      kind: 'ses',
      display: 'ses://AKIAIOSFODNN7EXAMPLE:***@us-east-1',
      api: { keyId: 'AKIAIOSFODNN7EXAMPLE', key: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', region: 'us-east-1', endpoint: 'https://email.us-east-1.amazonaws.com' },
    });
  });

  it('?endpoint= replaces the base URL; plain http only to loopback', () => {
    expect(parseTransportUrl('resend://k?endpoint=http://127.0.0.1:8025/').api?.endpoint).toBe('http://127.0.0.1:8025');
    expect(parseTransportUrl('ses://AKIDEXAMPLE1234567:s@eu-west-1?endpoint=https://proxy.example.com/ses').api?.endpoint).toBe('https://proxy.example.com/ses');
    expect(parseTransportUrl('resend://k?endpoint=http://localhost:9/').display).toBe('resend://***?endpoint=http://localhost:9/');
    expectConfigError(() => parseTransportUrl('resend://SECRETKEY?endpoint=http://api.example.com'), 'SECRETKEY');
    expectConfigError(() => parseTransportUrl('resend://SECRETKEY?endpoint=ftp://127.0.0.1'), 'SECRETKEY');
    expectConfigError(() => parseTransportUrl('resend://SECRETKEY?endpoint=https://u:p@api.example.com'), 'SECRETKEY');
  });

  it('refuses bad API URLs with an exit-2 error that never shows the key', () => {
    const bad: Array<[string, RegExp]> = [
      ['resend://', /no key/],
      ['resend:SECRETKEY', /must start with resend:\/\//],
      ['resend://SECRETKEY@x', /takes the key alone/],
      ['resend://SECRETKEY?pool=0', /pool/],
      ['resend://SECRETKEY?region=eu', /unknown option "region"/],
      ['resend://SECRETKEY#x', /fragment/],
      ['postmark://SECRETKEY?stream=a b', /stream/],
      ['mailgun://SECRETKEY', /domain is missing/],
      ['mailgun://SECRETKEY@not a domain', /not a domain/],
      ['mailgun://SECRETKEY@mg.x.cl?region=asia', /region must be us or eu/],
      ['ses://AKIAIOSFODNN7EXAMPLE:SECRETKEY', /region is missing/],
      ['ses://SECRETKEY@us-east-1', /access key id and secret/],
      ['ses://AKIAIOSFODNN7EXAMPLE:SECRETKEY@moon', /not an AWS region/],
      ['ses://lower-case-id:SECRETKEY@us-east-1', /access key id/],
      ['sendgrid://SECRET%zzKEY', /percent-encoding/],
    ];
    for (const [url, why] of bad) {
      const e = expectConfigError(() => parseTransportUrl(url), 'SECRET');
      expect(e.message, url).toMatch(why);
    }
  });

  it('never echoes the user part or a possible key of a URL it does not understand', () => {
    for (const url of ['ftp://u:SECRETPW@h', 'resnd://re_live_SECRET', 'http://SECRET@x', 're_live_SECRET', 'smtpx://a:SECRET@b']) {
      const e = expectConfigError(() => parseTransportUrl(url), 'SECRET');
      expect(e.message).not.toMatch(/re_live|SECRET/);
    }
    expect(redactUrl('resnd://re_live_SECRET')).toBe('resnd://***');
    expect(redactUrl('resend:re_live_SECRET')).toBe('resend:***');
    expect(redactUrl('mailgun://SECRET@mg.x.cl?pool=2&apikey=SECRET')).toBe('mailgun://***@mg.x.cl?pool=2&apikey=***');
    expect(redactUrl('ses://AKIAIOSFODNN7EXAMPLE:SECRET/x+y@us-east-1')).toBe('ses://AKIAIOSFODNN7EXAMPLE:***@us-east-1');
  });
});
