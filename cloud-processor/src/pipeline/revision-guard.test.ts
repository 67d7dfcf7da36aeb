import { describe, expect, it } from 'vitest';
import { makeWindow } from '../test-support/windows.js';
import { RevisionGuard } from './revision-guard.js';

describe('RevisionGuard', () => {
  it('admits a redelivery, refuses an older revision, and refuses an equal revision with other content', () => {
    const guard = new RevisionGuard({ machines: 10, windowsPerMachine: 10 });
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
    expect(guard.admit(makeWindow({ index: 1, machine: 'pump-2' }))).toBe('admit'); // and another machine
  });

  it('tells machines of the same id at two sites apart', () => {
    const guard = new RevisionGuard({ machines: 10, windowsPerMachine: 10 });
    expect(guard.admit(makeWindow({ site: 'plant-1', index: 1, revision: 1 }))).toBe('admit');
    const elsewhere = makeWindow({ site: 'plant-2', index: 1 });
    elsewhere.sensors[0]!.count = 99; // other content under the same machine id, window start and revision 0
    expect(guard.admit(elsewhere)).toBe('admit');
    expect(guard.admit(makeWindow({ site: 'plant-1', index: 1 }))).toBe('stale');
  });

  it("forgets a machine's oldest windows beyond windowsPerMachine", () => {
    const guard = new RevisionGuard({ machines: 10, windowsPerMachine: 2 });
    guard.admit(makeWindow({ index: 1, revision: 1 }));
    guard.admit(makeWindow({ index: 2 }));
    guard.admit(makeWindow({ index: 3 }));
    expect(guard.admit(makeWindow({ index: 1, revision: 0 }))).toBe('admit');
    expect(guard.admit(makeWindow({ index: 3, revision: 0 }))).toBe('admit');
  });

  it('forgets the machine seen least recently beyond `machines`, and says so each time', () => {
    let forgotten = 0;
    const guard = new RevisionGuard({ machines: 2, windowsPerMachine: 10 }, () => forgotten++);
    guard.admit(makeWindow({ machine: 'a', index: 1, revision: 1 }));
    guard.admit(makeWindow({ machine: 'b', index: 1 }));
    guard.admit(makeWindow({ machine: 'a', index: 2 })); // a is now the most recent
    expect(forgotten).toBe(0);
    guard.admit(makeWindow({ machine: 'c', index: 1 })); // b goes, not a
    expect(forgotten).toBe(1);
    expect(guard.admit(makeWindow({ machine: 'a', index: 1 }))).toBe('stale');
    expect(guard.admit(makeWindow({ machine: 'b', index: 1, revision: 0 }))).toBe('admit'); // b came back new: c goes
    expect(forgotten).toBe(2);
  });

  it("keeps a machine's windows however many windows other machines send", () => {
    const guard = new RevisionGuard({ machines: 10, windowsPerMachine: 3 });
    guard.admit(makeWindow({ machine: 'quiet', index: 1, revision: 1 }));
    for (let index = 0; index < 50; index++) guard.admit(makeWindow({ machine: 'busy', index }));
    expect(guard.admit(makeWindow({ machine: 'quiet', index: 1 }))).toBe('stale');
    // Its own newer windows do push it out: three of them, and window 1 is forgotten.
    for (const index of [2, 3, 4]) guard.admit(makeWindow({ machine: 'quiet', index }));
    expect(guard.admit(makeWindow({ machine: 'quiet', index: 1 }))).toBe('admit');
  });

  it('forgets the machine seen least recently beyond the machine bound', () => {
    const guard = new RevisionGuard({ machines: 2, windowsPerMachine: 4 });
    guard.admit(makeWindow({ machine: 'a', index: 1, revision: 1 }));
    guard.admit(makeWindow({ machine: 'b', index: 1, revision: 1 }));
    guard.admit(makeWindow({ machine: 'a', index: 2 })); // a is now the newer of the two
    guard.admit(makeWindow({ machine: 'c', index: 1 })); // a third machine: b goes
    expect(guard.admit(makeWindow({ machine: 'a', index: 1 }))).toBe('stale');
    expect(guard.admit(makeWindow({ machine: 'b', index: 1 }))).toBe('admit');
  });
});
