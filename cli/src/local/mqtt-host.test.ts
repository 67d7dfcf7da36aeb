import { describe, expect, it } from 'vitest';
import { UsageError } from '../command.js';
import { start } from '../commands/start.js';
import { chooseMqttHost, describeMqttListener } from './mqtt-host.js';

describe('the address pdm start binds its MQTT broker to', () => {
  it('is loopback unless --host says otherwise', () => {
    expect(chooseMqttHost()).toEqual({ bind: '127.0.0.1', connect: '127.0.0.1' });
    expect(chooseMqttHost('192.168.1.20')).toEqual({ bind: '192.168.1.20', connect: '192.168.1.20' });
    expect(chooseMqttHost('::1')).toEqual({ bind: '::1', connect: '::1' });
  });

  it('is reached on loopback when it is every interface', () => {
    expect(chooseMqttHost('0.0.0.0')).toEqual({ bind: '0.0.0.0', connect: '127.0.0.1' });
    expect(chooseMqttHost('::')).toEqual({ bind: '::', connect: '::1' });
  });

  it('refuses an empty --host', () => {
    expect(() => chooseMqttHost(' ')).toThrow(UsageError);
  });

  it('is printed as what it binds', () => {
    expect(describeMqttListener(chooseMqttHost(), 1883)).toBe('mqtt://127.0.0.1:1883');
    expect(describeMqttListener(chooseMqttHost('::1'), 1883)).toBe('mqtt://[::1]:1883');
    expect(describeMqttListener(chooseMqttHost('0.0.0.0'), 1883)).toBe('mqtt://127.0.0.1:1883   (listening on 0.0.0.0: every interface)');
  });

  it('is documented in pdm start --help', () => {
    expect(start.usage).toMatch(/--host ADDR\s+.*default: 127\.0\.0\.1/);
  });
});
