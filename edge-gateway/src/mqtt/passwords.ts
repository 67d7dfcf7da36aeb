// scrypt password hashes for the users file: "scrypt$N$r$p$<salt base64>$<hash base64>".
// Hashing runs on libuv's thread pool (async scrypt) so a reconnect storm never blocks ingest.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const KEY_LENGTH = 32;
const DEFAULT_COST = { N: 16_384, r: 8, p: 1 };

function derive(password: string, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, { ...cost, maxmem: 256 * cost.N * cost.r }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashPassword(password: string, cost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, cost);
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export function isPasswordHash(encoded: string): boolean {
  return /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/.test(encoded);
}

/**
 * A hash that no password matches (its key is all zeros), with the cost of `like` (default: what
 * hashPassword makes): verifying a password against it takes what verifying against `like` does.
 */
export function unmatchableHash(like?: string): string {
  const [N, r, p] = like !== undefined && isPasswordHash(like) ? like.split('$').slice(1, 4) : [DEFAULT_COST.N, DEFAULT_COST.r, DEFAULT_COST.p];
  return ['scrypt', N, r, p, randomBytes(16).toString('base64'), Buffer.alloc(KEY_LENGTH).toString('base64')].join('$');
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  if (!isPasswordHash(encoded)) return false;
  const [, N, r, p, salt, hash] = encoded.split('$') as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64');
  const actual = await derive(password, Buffer.from(salt, 'base64'), { N: Number(N), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
