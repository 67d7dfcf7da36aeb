// The users file: who may connect, with which password, and where each may publish and subscribe.
//
//   users:
//     - username: line-1-plc
//       passwordHash: "scrypt$16384$8$1$..."   # from `pdm gateway hash-password`
//       publish: ["sensors/press-+/#"]         # MQTT topic filters; default sensors/#
//       subscribe: []                          # default: nothing
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isPasswordHash, verifyPassword } from './passwords.js';
import { topicMatches } from './topic-filter.js';

const userSchema = z
  .object({
    username: z.string().min(1),
    passwordHash: z.string().refine(isPasswordHash, 'must be a hash from `pdm gateway hash-password` (scrypt$N$r$p$salt$hash)'),
    publish: z.array(z.string().min(1)).default(['sensors/#']),
    subscribe: z.array(z.string().min(1)).default([]),
  })
  .strict();

const usersFileSchema = z.object({ users: z.array(userSchema) }).strict();

export type User = z.infer<typeof userSchema>;

export class UsersFileError extends Error {
  constructor(message: string) {
    super(message);
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
      const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`);
      throw new UsersFileError(`invalid users file ${path}:\n${lines.join('\n')}`);
    }
    const names = result.data.users.map((u) => u.username);
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate) throw new UsersFileError(`invalid users file ${path}: username "${duplicate}" appears twice`);
    return new Users(result.data.users);
  }

  async authenticate(username: string, password: string): Promise<User | undefined> {
    const user = this.byName.get(username);
    if (!user) return undefined;
    const digest = createHash('sha256').update(password).digest('base64');
    if (this.verified.get(username) === digest) return user;
    if (!(await verifyPassword(password, user.passwordHash))) return undefined;
    this.verified.set(username, digest);
    return user;
  }

  static mayPublish(user: User, topic: string): boolean {
    return user.publish.some((filter) => topicMatches(filter, topic));
  }

  static maySubscribe(user: User, filter: string): boolean {
    return user.subscribe.some((allowed) => topicMatches(allowed, filter));
  }
}
