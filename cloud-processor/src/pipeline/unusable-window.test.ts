import { describe, expect, it } from 'vitest';
import { makeWindow } from '../test-support/windows.js';
import { unusableWindowReason } from './unusable-window.js';

describe('unusableWindowReason', () => {
  it('accepts a complete window, and bad statistics (the model contract judges those)', () => {
    expect(unusableWindowReason(makeWindow())).toBeUndefined();
    const nonFinite = makeWindow();
    nonFinite.sensors[0]!.mean = NaN;
    nonFinite.sensors[1]!.count = 0;
    expect(unusableWindowReason(nonFinite)).toBeUndefined();
    expect(unusableWindowReason({ ...makeWindow(), sensors: [] })).toBeUndefined();
  });

  it('names what makes a window unusable: an empty id that keys or tags it, impossible bounds', () => {
    const w = makeWindow({ machine: 'pump-4' });
    expect(unusableWindowReason({ ...w, machineId: '' })).toBe('no machine_id');
    expect(unusableWindowReason({ ...w, siteId: '' })).toBe('no site_id or gateway_id (machine "pump-4")');
    expect(unusableWindowReason({ ...w, gatewayId: '' })).toBe('no site_id or gateway_id (machine "pump-4")');
    expect(unusableWindowReason({ ...w, windowEnd: w.windowStart })).toBe(`window_end ${w.windowStart} is not after window_start ${w.windowStart} (machine "pump-4")`);
    const unnamed = makeWindow({ machine: 'pump-4' });
    unnamed.sensors[2]!.sensorId = '';
    expect(unusableWindowReason(unnamed)).toBe('sensor 2 has no sensor_id (machine "pump-4")');
  });
});
