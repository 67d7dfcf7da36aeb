import { describe, expect, it } from 'vitest';
import { basicAuthorization, credentialsOf } from './url-credentials.js';

describe('the credentials of a URL', () => {
  it('takes them apart percent-decoded, and as a Basic header; none without a user', () => {
    const url = new URL('http://reader:p%40ss%3Aword@influxdb:8086');
    expect(credentialsOf(url)).toEqual({ user: 'reader', password: 'p@ss:word' });
    expect(basicAuthorization(url)).toBe(`Basic ${Buffer.from('reader:p@ss:word').toString('base64')}`);
    expect(basicAuthorization(new URL('http://influxdb:8086'))).toBeUndefined();
    expect(() => credentialsOf(new URL('http://reader:50%@influxdb:8086'))).toThrow(URIError);
  });
});
