// A model's lifecycle in the registry: which version serves, which versions run in shadow (scored on
// live windows, written to `anomaly_shadow`, never alerting) and which candidate serves a named subset
// of machines first (a gradual rollout). Kept per model in `<registry>/<name>/lifecycle.json`, written
// by `pdm models` (a temp file renamed into place, so the processor never reads half a file) and read
// by the processor at every registry poll: a change takes effect without a restart.
//
// No lifecycle file: the newest complete version serves, as before lifecycles existed. With one, only
// the version it names serves: a new version dropped into the registry waits to be shadowed or promoted.
//
// Every change is also appended to `<registry>/<name>/history.jsonl`, one JSON object a line, so a
// rollback knows what served before and people can see who changed what, when.
//
// Several hosts or containers may share the registry volume (and the same pid: 1 in a container), so
// the temp names carry a random suffix, and a change holds `<name>/lifecycle.json.lock` while it reads
// and writes (withLifecycleLock). The processor never sees either: it reads lifecycle.json by name,
// and the registry listing takes folders only.
import { randomBytes } from 'node:crypto';
import { appendFile, open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { z } from 'zod';

export const LIFECYCLE_FILE = 'lifecycle.json';
export const HISTORY_FILE = 'history.jsonl';
export const LOCK_FILE = 'lifecycle.json.lock';

const version = z.string().min(1);

export const lifecycleSchema = z
  .object({
    /** The version that scores every machine of the model (but the rollout's). */
    serving: version,
    /**
     * Versions scored beside the serving one on the same windows, recorded only. At most one: its scores
     * go to `anomaly_shadow`, whose points are keyed by site, machine, model and window start, so a
     * second shadow of the same model would overwrite the first's.
     */
    shadow: z.array(version).max(1, 'at most one shadow version per model (anomaly_shadow holds one score per window)').default([]),
    /** A candidate serving only the machines matching `machines` (ids or `*` patterns, as contract.json `machines`). */
    rollout: z.object({ version, machines: z.array(z.string().min(1)).min(1) }).strict().optional(),
  })
  .strict();
export type Lifecycle = z.infer<typeof lifecycleSchema>;

/** A lifecycle file that cannot be used: names the file and the key. */
export class LifecycleError extends Error {
  constructor(
    readonly file: string,
    readonly key: string,
    problem: string,
  ) {
    super(`${file}: ${key === '' ? '' : `${key}: `}${problem}`);
    this.name = 'LifecycleError';
  }
}

export function lifecyclePath(modelDir: string): string {
  return path.join(modelDir, LIFECYCLE_FILE);
}

/** Parses and validates a lifecycle file's text; throws a LifecycleError naming the file and key. */
export function parseLifecycle(text: string, file: string): Lifecycle {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new LifecycleError(file, '', `not JSON (${(err as Error).message})`);
  }
  const parsed = lifecycleSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new LifecycleError(file, issue.path.join('.'), issue.message);
  }
  const lifecycle = parsed.data;
  const shadowed = new Set<string>();
  lifecycle.shadow.forEach((v, i) => {
    if (v === lifecycle.serving) throw new LifecycleError(file, `shadow.${i}`, `version ${v} is the serving version`);
    if (shadowed.has(v)) throw new LifecycleError(file, `shadow.${i}`, `version ${v} is listed twice`);
    shadowed.add(v);
  });
  if (lifecycle.rollout?.version === lifecycle.serving) throw new LifecycleError(file, 'rollout.version', `version ${lifecycle.serving} is the serving version`);
  return lifecycle;
}

/**
 * What a model's lifecycle file says now: absent, a valid lifecycle, or a refusal. `stamp` (size and
 * mtime) tells a file changed since it was last read, so a refused file is reported once, not at every poll.
 */
export type LifecycleRead =
  | { kind: 'none' }
  | { kind: 'valid'; lifecycle: Lifecycle; stamp: string }
  | { kind: 'invalid'; error: LifecycleError; stamp: string };

export async function readLifecycle(modelDir: string): Promise<LifecycleRead> {
  const file = lifecyclePath(modelDir);
  let stamp = '';
  let text: string;
  try {
    const { size, mtimeMs } = await stat(file);
    stamp = `${size}:${mtimeMs}`;
    text = await readFile(file, 'utf8');
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    if (code === 'ENOENT') return { kind: 'none' };
    // There but unreadable (a directory, no permission): refused like a bad file, so the poll of every
    // other model goes on and the processor still starts. The error code stamps it when stat failed too.
    return { kind: 'invalid', error: new LifecycleError(file, '', `cannot be read (${message})`), stamp: stamp || `unreadable:${code ?? ''}` };
  }
  try {
    return { kind: 'valid', lifecycle: parseLifecycle(text, file), stamp };
  } catch (err) {
    if (err instanceof LifecycleError) return { kind: 'invalid', error: err, stamp };
    throw err;
  }
}

/**
 * Writes the lifecycle file atomically: a reader sees the old file or the new one, never a part. The
 * temp name is random, not the pid: two containers on one volume both run as pid 1, and one's rename
 * would publish the other's half-written file.
 */
export async function writeLifecycle(modelDir: string, lifecycle: Lifecycle): Promise<void> {
  const file = lifecyclePath(modelDir);
  const temp = path.join(modelDir, `.${LIFECYCLE_FILE}.${randomBytes(6).toString('hex')}.tmp`);
  const { rollout, ...rest } = lifecycle;
  try {
    await writeFile(temp, `${JSON.stringify({ ...rest, ...(rollout && { rollout }) }, null, 2)}\n`);
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** Another change of the model holds its lock (or one that died left it): names the lock file and how to clear it. */
export class LifecycleLockedError extends Error {
  constructor(
    readonly file: string,
    holder: string,
  ) {
    super(`another pdm models change is under way (${file} exists${holder === '' ? '' : `: ${holder}`}); retry when it is done, or, if none is running (one was killed), remove ${file}`);
    this.name = 'LifecycleLockedError';
  }
}

/**
 * Runs `change` — read lifecycle.json and the history, write both — holding the model's lock file.
 * Without it two changes at once would both read the same file, both succeed and be recorded in the
 * history, and the later rename would silently drop the earlier change. The lock is a file created
 * only if absent (O_EXCL, atomic on a shared volume too); it says who holds it, and is removed when
 * `change` ends. A run killed in between leaves it: the next one is refused with LifecycleLockedError
 * until someone removes it, rather than guessing that an old lock is stale.
 */
export async function withLifecycleLock<T>(modelDir: string, change: () => Promise<T>): Promise<T> {
  const file = path.join(modelDir, LOCK_FILE);
  let lock: FileHandle;
  try {
    lock = await open(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = await readFile(file, 'utf8').catch(() => '');
    throw new LifecycleLockedError(file, holder.trim());
  }
  try {
    await lock.writeFile(`held by pid ${process.pid} on ${hostname()} since ${new Date().toISOString()}\n`).finally(() => lock.close());
    return await change();
  } finally {
    await rm(file, { force: true });
  }
}

export const MODEL_CHANGE_ACTIONS = ['promote', 'rollback', 'shadow', 'unshadow', 'rollout'] as const;
export type ModelChangeAction = (typeof MODEL_CHANGE_ACTIONS)[number];

/** One line of history.jsonl (and one `model_changes` point). */
export interface ModelChange {
  /** ISO-8601. */
  at: string;
  who: string;
  action: ModelChangeAction;
  /** The version serving (or rolled out) before the change; absent for shadow/unshadow. */
  from?: string;
  /** The version the change is about: the new serving or rollout version, the (un)shadowed one. */
  to: string;
  /** rollout (and a rollback ending one): the machines it serves. */
  machines?: string[];
  /** promote, rollback to a version: the rollout of another version it ended (its machines now served by `to`). */
  endedRollout?: { version: string; machines: string[] };
  note?: string;
}

const modelChangeSchema = z.object({
  at: z.string(),
  who: z.string(),
  action: z.enum(MODEL_CHANGE_ACTIONS),
  from: z.string().optional(),
  to: z.string(),
  machines: z.array(z.string()).optional(),
  endedRollout: z.object({ version: z.string(), machines: z.array(z.string()) }).optional(),
  note: z.string().optional(),
});

export async function appendHistory(modelDir: string, change: ModelChange): Promise<void> {
  await appendFile(path.join(modelDir, HISTORY_FILE), `${JSON.stringify(change)}\n`);
}

/** The model's changes, oldest first (none without a history file); a bad line is refused naming its number. */
export async function readHistory(modelDir: string): Promise<ModelChange[]> {
  const file = path.join(modelDir, HISTORY_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return text
    .split('\n')
    .map((line, i) => ({ line, number: i + 1 }))
    .filter(({ line }) => line.trim() !== '')
    .map(({ line, number }) => {
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (err) {
        throw new LifecycleError(file, `line ${number}`, `not JSON (${(err as Error).message})`);
      }
      const parsed = modelChangeSchema.safeParse(json);
      if (!parsed.success) throw new LifecycleError(file, `line ${number}`, parsed.error.issues[0]!.message);
      const { from, machines, endedRollout, note, ...rest } = parsed.data;
      return {
        ...rest,
        ...(from !== undefined && { from }),
        ...(machines !== undefined && { machines }),
        ...(endedRollout !== undefined && { endedRollout }),
        ...(note !== undefined && { note }),
      };
    });
}
