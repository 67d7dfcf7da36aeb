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
import { isPasswordHash, verifyPassword } from './passwords.js';
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

export class Users {
  private readonly byName: Map<string, User>;
  /** SHA-256 of passwords already verified this run, so reconnects cost no scrypt. */
  private readonly verified = new Map<string, string>();

  constructor(users: User[]) {
    this.byName = new Map(users.map((u) => [u.username, u]));
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

  async authenticate(username: string, password: string): Promise<User | undefined> {
    const user = this.byName.get(username);
    if (!user?.passwordHash) return undefined;
    const digest = createHash('sha256').update(password).digest('base64');
    if (this.verified.get(username) === digest) return user;
    if (!(await verifyPassword(password, user.passwordHash))) return undefined;
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
