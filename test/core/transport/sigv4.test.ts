/** SigV4 against AWS's published Signature Version 4 test-suite vectors. */
import { describe, expect, it } from 'vitest';
import { signV4 } from '../../../src/core/transport/sigv4.js';

const base = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', region: 'us-east-1', service: 'service', now: new Date('2015-08-30T12:36:00Z'), headers: {}, body: '' };

describe('signV4', () => {
  it('get-vanilla', () => {
    const s = signV4({ ...base, method: 'GET', url: 'https://example.amazonaws.com/' });
    expect(s['x-amz-date']).toBe('20150830T123600Z');
    expect(s.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });

  it('post-vanilla', () => {
    expect(signV4({ ...base, method: 'POST', url: 'https://example.amazonaws.com/' }).signature).toBe('5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b');
  });

  it('get-vanilla-query-order-key-case', () => {
    expect(signV4({ ...base, method: 'GET', url: 'https://example.amazonaws.com/?Param2=value2&Param1=value1' }).signature).toBe(
      'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
    );
  });
});
