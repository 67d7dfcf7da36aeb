import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sparkplugId } from './sensor-id.js';

const VALID_ID = /^[A-Za-z0-9_.-]{1,64}$/;

describe('sparkplugId', () => {
  it('keeps a name that is already an id', () => {
    expect(sparkplugId('temperature')).toBe('temperature');
    expect(sparkplugId('Motor_1.speed-rpm')).toBe('Motor_1.speed-rpm');
  });

  it('replaces characters outside [A-Za-z0-9_.-] and appends 8 hex digits of the name’s SHA-256', () => {
    // Hashes computed with Python's hashlib.sha256(name.encode()).hexdigest()[:8].
    expect(sparkplugId('Node Control/Rebirth')).toBe('Node_Control_Rebirth_6cd7ec43');
    expect(sparkplugId('Motor 1/Speed (rpm)')).toBe('Motor_1_Speed__rpm__7b69a9ba');
  });

  it('keeps names that differ only in replaced characters apart', () => {
    const ids = ['Inputs/Temp', 'Inputs Temp', 'Inputs_Temp'].map(sparkplugId);
    expect(ids).toEqual(['Inputs_Temp_6be6619b', 'Inputs_Temp_15b9dbd1', 'Inputs_Temp']);
  });

  it('cuts a long name to 55 characters before the suffix, so the id fits 64', () => {
    const name = `${'x'.repeat(70)}/`;
    expect(sparkplugId(name)).toBe(`${'x'.repeat(55)}_463840d3`);
    expect(sparkplugId('y'.repeat(65))).toHaveLength(64);
  });

  it('always yields a valid id, and two different names two different ids', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80, unit: 'binary' }), fc.string({ maxLength: 80, unit: 'binary' }), (a, b) => {
        expect(sparkplugId(a)).toMatch(VALID_ID);
        if (a !== b) expect(sparkplugId(a)).not.toBe(sparkplugId(b));
      }),
      { numRuns: 2_000 },
    );
    // Names that are nearly alike: one character apart, at every place.
    const ids = new Set<string>();
    const alphabet = ['/', ' ', '_', 'a', '.', 'ä', '-'];
    for (let i = 0; i < 8; i++) for (const c of alphabet) ids.add(sparkplugId(`Line/${'a'.repeat(i)}${c}${'a'.repeat(7 - i)}`));
    expect(ids.size).toBe(8 * alphabet.length - 7); // 'a' at each of the 8 places is the same name
  });
});
