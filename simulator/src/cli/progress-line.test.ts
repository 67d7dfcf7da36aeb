import { describe, expect, it } from 'vitest';
import type { Progress } from '../run/simulation.js';
import { progressLine } from './progress-line.js';

const progress: Progress = {
  virtualTs: Date.UTC(2024, 0, 1),
  readings: 1000,
  messages: 100,
  readingsPerSecond: 500,
  messagesPerSecond: 50,
  lost: 0,
  republished: 0,
  lagMs: 0,
  activeFaults: [],
};

describe('progress line', () => {
  it('names republished and lost messages once there are any', () => {
    expect(progressLine(progress)).toBe('2024-01-01T00:00:00.000Z · 1.0k readings (500/s) · 100 msgs (50/s) · faults active: 0');
    expect(progressLine({ ...progress, republished: 7, lost: 3 })).toBe(
      '2024-01-01T00:00:00.000Z · 1.0k readings (500/s) · 100 msgs (50/s) · republished 7 · lost 3 · faults active: 0',
    );
  });
});
