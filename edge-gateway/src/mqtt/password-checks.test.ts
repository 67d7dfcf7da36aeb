// What checking a CONNECT's password costs the gateway: the same scrypt run whether the username is
// unknown, has no password or has a wrong one (so timing tells no one which usernames exist), and one
// run at a time with a bounded queue (so a flood of wrong passwords cannot take the cores from ingest).
// The scrypt runs are counted where they happen, in node:crypto, rather than timed.
import type * as NodeCrypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { hashPassword } from './passwords.js';
import { MAX_WAITING_PASSWORD_CHECKS, PasswordChecksBusyError, Users } from './users.js';

const scryptRuns = vi.hoisted(() => ({ costs: [] as string[], running: 0, mostAtOnce: 0, finished: 0 }));

vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof NodeCrypto>();
  const scrypt = (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }, done: (error: Error | null, key: Buffer) => void) => {
    scryptRuns.costs.push(`N=${options.N} r=${options.r} p=${options.p}`);
    scryptRuns.mostAtOnce = Math.max(scryptRuns.mostAtOnce, ++scryptRuns.running);
    crypto.scrypt(password, salt, keylen, options, (error, key) => {
      scryptRuns.running--;
      scryptRuns.finished++;
      done(error, key);
    });
  };
  return { ...crypto, scrypt };
});

// Cheap scrypt parameters keep the test fast; production hashes use N=16384.
const TEST_COST = { N: 1024, r: 8, p: 1 };
const acl = { publish: ['sensors/#'], subscribe: [] };

async function plantUsers(): Promise<Users> {
  return new Users([
    { username: 'plc-1', passwordHash: await hashPassword('right-password', TEST_COST), ...acl },
    { username: 'plc-2', ...acl }, // certificate only
  ]);
}

function resetScryptRuns(): void {
  Object.assign(scryptRuns, { costs: [], running: 0, mostAtOnce: 0, finished: 0 });
}

describe('checking a password', () => {
  it('costs an unknown user and a user without a password the same scrypt run as a wrong password', async () => {
    const users = await plantUsers();
    for (const [username, password] of [
      ['plc-1', 'wrong'],
      ['nobody', 'wrong'],
      ['plc-2', 'wrong'],
      ['plc-2', ''],
    ] as const) {
      resetScryptRuns();
      expect(await users.authenticate(username, password)).toBeUndefined();
      expect(scryptRuns.costs, `${username} / "${password}"`).toEqual(['N=1024 r=8 p=1']);
    }
    // Without any password hash to copy, the decoy costs what hash-password makes.
    const certificateOnly = new Users([{ username: 'plc-2', ...acl }]);
    resetScryptRuns();
    expect(await certificateOnly.authenticate('plc-2', 'guess')).toBeUndefined();
    expect(scryptRuns.costs).toEqual(['N=16384 r=8 p=1']);
  });

  it('runs one check at a time, refuses at once beyond the waiting ones as busy, and locks no one out', async () => {
    const users = await plantUsers();
    resetScryptRuns();
    // A flood of wrong passwords, one right one among those that wait, and 5 more than may wait.
    const attempts = MAX_WAITING_PASSWORD_CHECKS + 1 + 5;
    const rightOne = 10;
    const refusedBeforeAnyRun: number[] = [];
    const results = await Promise.all(
      Array.from({ length: attempts }, (_, i) =>
        users.authenticate(i % 2 === 0 ? 'plc-1' : 'nobody', i === rightOne ? 'right-password' : `guess-${i}`).then(
          (user) => user?.username,
          (error: unknown) => {
            // Not checked: a refusal to retry, not a verdict on the password.
            expect(error).toBeInstanceOf(PasswordChecksBusyError);
            if (scryptRuns.finished === 0) refusedBeforeAnyRun.push(i);
            return 'busy';
          },
        ),
      ),
    );
    expect(scryptRuns.mostAtOnce).toBe(1);
    expect(scryptRuns.costs).toHaveLength(MAX_WAITING_PASSWORD_CHECKS + 1);
    expect(refusedBeforeAnyRun).toEqual([0, 1, 2, 3, 4].map((k) => MAX_WAITING_PASSWORD_CHECKS + 1 + k));
    expect(results.filter((username) => username !== undefined && username !== 'busy')).toEqual(['plc-1']);
    expect(results[rightOne]).toBe('plc-1');

    // Once the flood has drained, the right password is let in; verified, it then costs no scrypt run.
    const fresh = await plantUsers();
    resetScryptRuns();
    expect((await fresh.authenticate('plc-1', 'right-password'))?.username).toBe('plc-1');
    expect((await fresh.authenticate('plc-1', 'right-password'))?.username).toBe('plc-1');
    expect(scryptRuns.costs).toHaveLength(1);
  });
});
