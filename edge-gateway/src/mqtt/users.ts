// The users file: who may connect, with which password, and where each may publish and subscribe.
//
//   users:
//     - username: line-1-plc
//       passwordHash: "scrypt$16384$8$1$..."   # from `pdm gateway hash-password`
//       publish: ["sensors/press-1/#", "sensors/press-2/#"]   # MQTT topic filters; default sensors/#
//       subscribe: []                          # default: nothing
//     - username: line-2-plc                   # no passwordHash: connects only with a client certificate
//                                              # whose subject CN is "line-2-plc" (mqtt.tls.ca verifies it)
//
// Filters are checked on load: `+` and `#` must each be a whole level (`sensors/press-+/#` is refused).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isPasswordHash, unmatchableHash, verifyPassword } from './passwords.js';
import { filterCovers, topicFilterProblem, topicMatches } from './topic-filter.js';

const topicFilter = z.string().superRefine((filter, context) => {
  const problem = topicFilterProblem(filter);
  if (problem) context.addIssue({ code: 'custom', message: `"${filter}" is not an MQTT topic filter: ${problem}` });
});

/** Where a client may publish and subscribe: the users file's keys, and the gateway config's `mqtt.anonymous`. */
export const aclSchema = z.object({
  publish: z.array(topicFilter).default(['sensors/#']),
  subscribe: z.array(topicFilter).default([]),
});
export type Acl = z.infer<typeof aclSchema>;

const userSchema = aclSchema
  .extend({
    username: z.string().min(1),
    /** Absent: the user has no password and connects only with a client certificate. */
    passwordHash: z.string().refine(isPasswordHash, 'must be a hash from `pdm gateway hash-password` (scrypt$N$r$p$salt$hash)').optional(),
  })
  .strict();

const usersFileSchema = z.object({ users: z.array(userSchema) }).strict();

export type User = z.infer<typeof userSchema>;

/** A users file that cannot be used; the message names its key, as the TLS files' errors do. */
export class UsersFileError extends Error {
  constructor(message: string) {
    super(`mqtt.usersFile: ${message}`);
    this.name = 'UsersFileError';
  }
}

/** Password checks that may wait for the one running; see passwordChecks. */
export const MAX_WAITING_PASSWORD_CHECKS = 64;

/** A password not checked because MAX_WAITING_PASSWORD_CHECKS checks were already waiting: a refusal to retry, not a verdict. */
export class PasswordChecksBusyError extends Error {
  constructor() {
    super(`${MAX_WAITING_PASSWORD_CHECKS} password checks are already waiting`);
    this.name = 'PasswordChecksBusyError';
  }
}

/** Runs one check at a time, with up to `maxWaiting` more waiting their turn in order. */
class CheckQueue {
  private running = false;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly maxWaiting: number) {}

  /** The check's result once it has run; throws PasswordChecksBusyError at once when `maxWaiting` checks are already waiting. */
  async run<T>(check: () => Promise<T>): Promise<T> {
    if (!this.running) this.running = true;
    else if (this.waiting.length < this.maxWaiting) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else throw new PasswordChecksBusyError();
    try {
      return await check();
    } finally {
      // The turn passes straight to the next waiting check, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.running = false;
    }
  }
}

/**
 * Every scrypt check of a password, for all Users (a reload makes new ones). Each costs ~50 ms of a
 * core and 16 MiB, so wrong passwords sent fast would otherwise take both cores and libuv's thread
 * pool from ingest: one check runs at a time (the other core stays free), up to
 * MAX_WAITING_PASSWORD_CHECKS wait (about 3 s, well inside a client's connect timeout), and a CONNECT
 * beyond that is refused at once as "server unavailable", whoever it names: a refusal devices retry,
 * where "bad username or password" makes some give up for good (a restart of many devices at once
 * would otherwise leave some of them out until someone restarts them). Nothing is remembered per
 * user, so no one is locked out: the queue drains within seconds of the flood stopping, and a client
 * whose password was verified this run reconnects without a check, flood or not.
 */
const passwordChecks = new CheckQueue(MAX_WAITING_PASSWORD_CHECKS);

export class Users {
  private readonly byName: Map<string, User>;
  /** SHA-256 of passwords already verified this run, so reconnects cost no scrypt. */
  private readonly verified = new Map<string, string>();
  /**
   * Checked instead when the username is unknown or has no password, so that a refusal costs the same
   * scrypt run as a wrong password and its timing tells no one which usernames exist. Its cost is the
   * first password hash's (hash-password gives them all the same).
   */
  private readonly decoyHash: string;

  constructor(users: User[]) {
    this.byName = new Map(users.map((u) => [u.username, u]));
    this.decoyHash = unmatchableHash(users.find((u) => u.passwordHash !== undefined)?.passwordHash);
  }

  static load(path: string): Users {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new UsersFileError(`cannot read users file ${path}: ${(error as Error).message}`);
    }
    const result = usersFileSchema.safeParse(parsed);
    if (!result.success) {
      // Names the user as well as its index: "users.3 (line-1-plc).publish.0".
      const usernames = (parsed as { users?: Array<{ username?: unknown }> } | null)?.users;
      const where = (path: PropertyKey[]): string => {
        const [first, index, ...rest] = path;
        const username = first === 'users' && Array.isArray(usernames) ? usernames[Number(index)]?.username : undefined;
        return typeof username === 'string' ? ['users', `${String(index)} (${username})`, ...rest.map(String)].join('.') : path.map(String).join('.');
      };
      const lines = result.error.issues.map((i) => `  ${where(i.path) || '(top level)'}: ${i.message}`);
      throw new UsersFileError(`invalid users file ${path}:\n${lines.join('\n')}`);
    }
    const names = result.data.users.map((u) => u.username);
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate) throw new UsersFileError(`invalid users file ${path}: username "${duplicate}" appears twice`);
    return new Users(result.data.users);
  }

  /** The user the password proves, or undefined; throws PasswordChecksBusyError when it could not be checked now. */
  async authenticate(username: string, password: string): Promise<User | undefined> {
    const user = this.byName.get(username);
    const digest = createHash('sha256').update(password).digest('base64');
    if (this.verified.get(username) === digest) return user;
    const matches = await passwordChecks.run(() => verifyPassword(password, user?.passwordHash ?? this.decoyHash));
    // The decoy matches no password: a match is a user with a password.
    if (!matches || !user) return undefined;
    this.verified.set(username, digest);
    return user;
  }

  /** The user a verified client certificate names: its subject CN is the username. */
  withCertificateName(commonName: string): User | undefined {
    return this.byName.get(commonName);
  }

  /** How many users could connect: those with a password where passwords are taken, and every user where certificates are verified. */
  countReachable(ways: { passwords: boolean; certificates: boolean }): number {
    return [...this.byName.values()].filter((user) => ways.certificates || (ways.passwords && user.passwordHash !== undefined)).length;
  }

  static mayPublish(acl: Acl, topic: string): boolean {
    return acl.publish.some((filter) => topicMatches(filter, topic));
  }

  /** Allowed when one granted filter matches every topic `filter` can match. */
  static maySubscribe(acl: Acl, filter: string): boolean {
    return acl.subscribe.some((granted) => filterCovers(granted, filter));
  }
}
