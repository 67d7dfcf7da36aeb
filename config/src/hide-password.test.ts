import { describe, expect, it } from 'vitest';
import { hidePassword } from './hide-password.js';

describe('hidePassword', () => {
  it('hides the password of a URL and leaves one without a password as it is', () => {
    expect(hidePassword('http://reader:s3cret@influxdb:8086')).toBe('http://reader:(hidden)@influxdb:8086');
    expect(hidePassword('http://reader:s3cret@influxdb:8086/')).toBe('http://reader:(hidden)@influxdb:8086/');
    expect(hidePassword('http://reader:s3cret@influxdb:8086/influx')).toBe('http://reader:(hidden)@influxdb:8086/influx');
    expect(hidePassword('http://influxdb:8086')).toBe('http://influxdb:8086');
  });

  it('hides it in a value that is no URL, which may still carry one', () => {
    expect(hidePassword('http://reader:s3cret@influxdb:80x6')).toBe('http://reader:(hidden)@influxdb:80x6');
    expect(hidePassword('http://reader:p@ss@influxdb:80x6')).toBe('http://reader:(hidden)@influxdb:80x6');
    expect(hidePassword('notaurl')).toBe('notaurl');
  });

  it('keeps a query after a bare origin where it was', () => {
    expect(hidePassword('http://reader:s3cret@influxdb:8086?db=x')).toBe('http://reader:(hidden)@influxdb:8086?db=x');
  });
});
