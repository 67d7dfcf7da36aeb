import { describe, expect, it } from 'vitest';
import { makeWindow } from '../test-support/windows.js';
import { RevisionGuard } from './revision-guard.js';

describe('RevisionGuard', () => {
  it('admits a redelivery, refuses an older revision, and refuses an equal revision with other content', () => {
    const guard = new RevisionGuard(10);
    const first = makeWindow({ index: 1 });
    expect(guard.admit(first)).toBe('admit');
    expect(guard.admit(first)).toBe('admit'); // a redelivery: same bytes
    expect(guard.admit({ ...first, closedAt: 123n })).toBe('admit'); // the close time is no content
    const other = makeWindow({ index: 1 });
    other.sensors[0]!.count = 99;
    expect(guard.admit(other)).toBe('conflict');
    expect(guard.admit(first)).toBe('admit'); // the first content is still the one remembered
    expect(guard.admit(makeWindow({ index: 1, revision: 1 }))).toBe('admit');
    expect(guard.admit(first)).toBe('stale');
    expect(guard.admit(makeWindow({ index: 2 }))).toBe('admit'); // another window is another key
  });

  it('forgets the oldest windows beyond its capacity', () => {
    const guard = new RevisionGuard(2);
    guard.admit(makeWindow({ index: 1, revision: 1 }));
    guard.admit(makeWindow({ index: 2 }));
    guard.admit(makeWindow({ index: 3 }));
    expect(guard.admit(makeWindow({ index: 1, revision: 0 }))).toBe('admit');
    expect(guard.admit(makeWindow({ index: 3, revision: 0 }))).toBe('admit');
  });
});
