import { describe, expect, it } from 'vitest';
import { decideRows } from './row-decisions.js';

describe('decideRows', () => {
  it('gives each row the decision of the window [start, end) that holds it, and marks rows no window holds', () => {
    const windows = [
      { start: 10, end: 20, anomaly: false },
      { start: 0, end: 10, anomaly: true },
      { start: 30, end: 40, anomaly: true },
    ];
    const { anomalous, decided } = decideRows([0, 9, 10, 19, 20, 25, 30, 39, 40], windows);
    expect([...anomalous]).toEqual([1, 1, 0, 0, 0, 0, 1, 1, 0]);
    expect([...decided]).toEqual([1, 1, 1, 1, 0, 0, 1, 1, 0]);
  });

  it('calls a row anomalous when any of the overlapping windows holding it says so', () => {
    const windows = [
      { start: 0, end: 10, anomaly: true },
      { start: 5, end: 15, anomaly: false },
      { start: 10, end: 20, anomaly: false },
    ];
    expect([...decideRows([2, 7, 12], windows).anomalous]).toEqual([1, 1, 0]);
  });
});
