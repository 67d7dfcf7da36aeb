// The lifecycle file (parsing, refusals naming file and key, atomic writes), history.jsonl, and the
// rules of each change pdm models makes.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyChange, outsideScope, servedBefore } from './lifecycle-changes.js';
import {
  appendHistory,
  LifecycleError,
  LifecycleLockedError,
  parseLifecycle,
  readHistory,
  readLifecycle,
  withLifecycleLock,
  writeLifecycle,
  type Lifecycle,
  type ModelChange,
} from './lifecycle.js';

const FILE = '/r/pump/lifecycle.json';

function refusal(text: string): { key: string; message: string } {
  try {
    parseLifecycle(text, FILE);
  } catch (err) {
    if (err instanceof LifecycleError) return { key: err.key, message: err.message };
    throw err;
  }
  throw new Error('accepted');
}

describe('lifecycle.json', () => {
  it('reads serving, shadows and a rollout; shadow defaults to none', () => {
    expect(parseLifecycle('{"serving":"3"}', FILE)).toEqual({ serving: '3', shadow: [] });
    expect(parseLifecycle('{"serving":"3","shadow":["4"],"rollout":{"version":"4","machines":["pump-1","line2-*"]}}', FILE)).toEqual({
      serving: '3',
      shadow: ['4'],
      rollout: { version: '4', machines: ['pump-1', 'line2-*'] },
    });
  });

  it('refuses a bad file naming the file and the key', () => {
    expect(refusal('{"serving":')).toMatchObject({ key: '', message: expect.stringMatching(/^\/r\/pump\/lifecycle.json: not JSON/) as string });
    expect(refusal('{"shadow":[]}').key).toBe('serving');
    expect(refusal('{"serving":3}').key).toBe('serving');
    expect(refusal('{"serving":"3","shadow":[""]}').key).toBe('shadow.0');
    expect(refusal('{"serving":"3","shadow":["4","5"]}')).toEqual({ key: 'shadow', message: `${FILE}: shadow: at most one shadow version per model (anomaly_shadow holds one score per window)` });
    expect(refusal('{"serving":"3","rollout":{"version":"4","machines":[]}}').key).toBe('rollout.machines');
    expect(refusal('{"serving":"3","promoted":"4"}').key).toBe('');
    expect(refusal('{"serving":"3","shadow":["3"]}')).toEqual({ key: 'shadow.0', message: `${FILE}: shadow.0: version 3 is the serving version` });
    expect(refusal('{"serving":"3","rollout":{"version":"3","machines":["a"]}}').key).toBe('rollout.version');
  });

  describe('on disk', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'pdm-lifecycle-'));
    });
    afterEach(() => rm(dir, { recursive: true, force: true }));

    it('is absent, valid or refused; a write replaces it whole and leaves no temp file', async () => {
      expect(await readLifecycle(dir)).toEqual({ kind: 'none' });
      const lifecycle: Lifecycle = { serving: '2', shadow: ['3'], rollout: { version: '4', machines: ['pump-*'] } };
      await writeLifecycle(dir, lifecycle);
      expect(await readLifecycle(dir)).toMatchObject({ kind: 'valid', lifecycle });
      expect(await readdir(dir)).toEqual(['lifecycle.json']);
      await writeFile(path.join(dir, 'lifecycle.json'), '{"serving": ');
      const read = await readLifecycle(dir);
      expect(read.kind === 'invalid' && read.error.file).toBe(path.join(dir, 'lifecycle.json'));
    });

    it("never writes through another run's temp file: containers on one registry volume share pid 1", async () => {
      const othersTemp = path.join(dir, `.lifecycle.json.${process.pid}.tmp`);
      await writeFile(othersTemp, '{"serving": "9", "sha');
      await writeLifecycle(dir, { serving: '2', shadow: [] });
      expect(await readFile(othersTemp, 'utf8')).toBe('{"serving": "9", "sha');
      expect(await readLifecycle(dir)).toMatchObject({ kind: 'valid', lifecycle: { serving: '2', shadow: [] } });
      expect((await readdir(dir)).sort()).toEqual([`.lifecycle.json.${process.pid}.tmp`, 'lifecycle.json']);
    });

    it('lets one change at a time hold the lock; another is refused naming the lock file, its holder and how to clear it', async () => {
      const lock = path.join(dir, 'lifecycle.json.lock');
      const refused = await withLifecycleLock(dir, async () => {
        expect(await readFile(lock, 'utf8')).toMatch(new RegExp(`^held by pid ${process.pid} on \\S+ since \\d{4}-\\d\\d-\\d\\dT`));
        return withLifecycleLock(dir, () => Promise.resolve('changed twice')).catch((err: unknown) => err);
      });
      expect(refused).toBeInstanceOf(LifecycleLockedError);
      expect((refused as Error).message).toMatch(
        new RegExp(`^another pdm models change is under way \\(${lock} exists: held by pid ${process.pid} on .*\\); retry when it is done, or, if none is running \\(one was killed\\), remove ${lock}$`),
      );
      // Released after the change, also when it fails; then the next change goes ahead.
      await expect(withLifecycleLock(dir, () => Promise.reject(new Error('disk full')))).rejects.toThrow('disk full');
      expect(await readdir(dir)).toEqual([]);
      expect(await withLifecycleLock(dir, () => Promise.resolve('changed'))).toBe('changed');
      // A lock left by a run that was killed refuses every change until someone removes it.
      await writeFile(lock, 'held by pid 1 on other-host since 2026-12-06T05:00:00.000Z\n');
      await expect(withLifecycleLock(dir, () => Promise.resolve('changed'))).rejects.toThrow(`(${lock} exists: held by pid 1 on other-host since 2026-12-06T05:00:00.000Z)`);
      expect(await readFile(lock, 'utf8')).toBe('held by pid 1 on other-host since 2026-12-06T05:00:00.000Z\n');
    });

    it('refuses a lifecycle.json that is there but cannot be read (a directory), naming the file', async () => {
      await mkdir(path.join(dir, 'lifecycle.json'));
      const read = await readLifecycle(dir);
      expect(read.kind).toBe('invalid');
      expect(read.kind === 'invalid' && read.error.message).toMatch(new RegExp(`^${path.join(dir, 'lifecycle.json')}: cannot be read \\(EISDIR`));
    });

    it('appends every change to history.jsonl and reads it back in order', async () => {
      expect(await readHistory(dir)).toEqual([]);
      const changes: ModelChange[] = [
        { at: '2026-12-06T05:00:00.000Z', who: 'ana', action: 'shadow', to: '4' },
        { at: '2026-12-06T06:00:00.000Z', who: 'bo', action: 'rollout', from: '3', to: '4', machines: ['pump-1'], note: 'one pump first' },
        { at: '2026-12-06T07:00:00.000Z', who: 'cy', action: 'promote', from: '3', to: '5', endedRollout: { version: '4', machines: ['pump-1'] } },
      ];
      for (const change of changes) await appendHistory(dir, change);
      expect(await readHistory(dir)).toEqual(changes);
      await writeFile(path.join(dir, 'history.jsonl'), '{"at":"x","who":"a","action":"promote","to":"2"}\n{"at":"x"}\n');
      await expect(readHistory(dir)).rejects.toThrow(`${path.join(dir, 'history.jsonl')}: line 2:`);
    });
  });
});

describe('lifecycle changes', () => {
  const base: Lifecycle = { serving: '3', shadow: ['5'], rollout: { version: '5', machines: ['pump-1'] } };

  it('promote makes the version serve every machine: it leaves shadow, and a rollout ends, named when it was of another version', () => {
    expect(applyChange('pump', base, { action: 'promote', version: '5' }, [])).toEqual({
      next: { serving: '5', shadow: [] },
      change: { action: 'promote', from: '3', to: '5' },
    });
    // Version 5 rolled out to pump-1 turned out bad and 4 is promoted: pump-1 is scored by 4 too.
    expect(applyChange('pump', base, { action: 'promote', version: '4' }, [])).toEqual({
      next: { serving: '4', shadow: ['5'] },
      change: { action: 'promote', from: '3', to: '4', endedRollout: { version: '5', machines: ['pump-1'] } },
    });
    expect(applyChange('pump', { serving: '3', shadow: ['4'] }, { action: 'promote', version: '4' }, []).next).toEqual({ serving: '4', shadow: [] });
    expect(() => applyChange('pump', base, { action: 'promote', version: '3' }, [])).toThrow('pump@3 is the serving version');
    // Without a lifecycle file the newest version serves; promoting it pins it.
    expect(applyChange('pump', { serving: '3', shadow: [] }, { action: 'promote', version: '3' }, [], { written: false })).toEqual({
      next: { serving: '3', shadow: [] },
      change: { action: 'promote', from: '3', to: '3' },
    });
  });

  it('rollback ends a running rollout first, then goes back to the version served before, from the history', () => {
    const history: ModelChange[] = [
      { at: 'a', who: 'x', action: 'promote', from: '1', to: '2' },
      { at: 'b', who: 'x', action: 'rollout', from: '2', to: '3', machines: ['pump-1'] },
      { at: 'c', who: 'x', action: 'promote', from: '2', to: '3' },
    ];
    expect(servedBefore(history, '3')).toBe('2');
    expect(servedBefore(history, '2')).toBe('1');
    expect(servedBefore(history, '1')).toBeUndefined();
    const ended = applyChange('pump', base, { action: 'rollback' }, history);
    expect(ended).toEqual({ next: { serving: '3', shadow: ['5'] }, change: { action: 'rollback', from: '5', to: '3', machines: ['pump-1'] } });
    expect(applyChange('pump', ended.next, { action: 'rollback' }, history)).toEqual({ next: { serving: '2', shadow: ['5'] }, change: { action: 'rollback', from: '3', to: '2' } });
    expect(applyChange('pump', base, { action: 'rollback', to: '5' }, [])).toEqual({ next: { serving: '5', shadow: [] }, change: { action: 'rollback', from: '3', to: '5' } });
    // --to serves every machine: a rollout of another version ends.
    expect(applyChange('pump', base, { action: 'rollback', to: '2' }, [])).toEqual({
      next: { serving: '2', shadow: ['5'] },
      change: { action: 'rollback', from: '3', to: '2', endedRollout: { version: '5', machines: ['pump-1'] } },
    });
    expect(() => applyChange('pump', { serving: '1', shadow: [] }, { action: 'rollback' }, history)).toThrow('the history names no version served before 1; say which with --to VERSION');
  });

  it('rollback after rollback goes further back along the versions that served; a pin is no version served before', () => {
    const at = (action: 'promote' | 'rollback', from: string, to: string): ModelChange => ({ at: 't', who: 'x', action, from, to });
    const history: ModelChange[] = [at('promote', '1', '2'), at('promote', '2', '3')];
    let lifecycle: Lifecycle = { serving: '3', shadow: [] };
    const served: string[] = [lifecycle.serving];
    for (let i = 0; i < 2; i++) {
      const applied = applyChange('pump', lifecycle, { action: 'rollback' }, history);
      history.push({ at: 't', who: 'x', ...applied.change });
      lifecycle = applied.next;
      served.push(lifecycle.serving);
    }
    expect(served).toEqual(['3', '2', '1']);
    expect(() => applyChange('pump', lifecycle, { action: 'rollback' }, history)).toThrow('pump: the history names no version served before 1; say which with --to VERSION');
    // A promotion after the rollbacks serves on top of 1: rolling it back gives 1 again.
    history.push(at('promote', '1', '4'));
    expect(servedBefore(history, '4')).toBe('1');
    // A rollback --to jumps back to an earlier version: what served before it is what served before it then.
    expect(servedBefore([at('promote', '1', '2'), at('promote', '2', '3'), at('rollback', '3', '1')], '1')).toBeUndefined();
    // The runbook's first step pins the version serving (promote from == to): nothing served before it.
    expect(() => applyChange('pump', { serving: '3', shadow: [] }, { action: 'rollback' }, [at('promote', '3', '3')])).toThrow('pump: the history names no version served before 3');
    expect(servedBefore([at('promote', '3', '3'), at('promote', '3', '4'), at('promote', '4', '4')], '4')).toBe('3');
  });

  it('shadow and unshadow add and remove a version; rollout names a candidate and its machines', () => {
    const plain: Lifecycle = { serving: '3', shadow: [] };
    expect(applyChange('pump', plain, { action: 'shadow', version: '4' }, [])).toEqual({ next: { serving: '3', shadow: ['4'] }, change: { action: 'shadow', to: '4' } });
    expect(() => applyChange('pump', base, { action: 'shadow', version: '5' }, [])).toThrow('pump@5 is already in shadow');
    expect(() => applyChange('pump', base, { action: 'shadow', version: '4' }, [])).toThrow('pump@5 is in shadow; unshadow it first');
    expect(() => applyChange('pump', base, { action: 'shadow', version: '3' }, [])).toThrow('pump@3 is the serving version');
    expect(applyChange('pump', base, { action: 'unshadow', version: '5' }, []).next.shadow).toEqual([]);
    expect(() => applyChange('pump', plain, { action: 'unshadow', version: '4' }, [])).toThrow('pump@4 is not in shadow (shadow: none)');
    expect(applyChange('pump', plain, { action: 'rollout', version: '4', machines: ['a', 'b-*'] }, [])).toEqual({
      next: { serving: '3', shadow: [], rollout: { version: '4', machines: ['a', 'b-*'] } },
      change: { action: 'rollout', from: '3', to: '4', machines: ['a', 'b-*'] },
    });
  });
});

describe('a rollout within the candidate scope', () => {
  it('names the machines or patterns reaching beyond contract.json machines; an unscoped candidate takes any', () => {
    expect(outsideScope(undefined, ['pump-1', '*'])).toEqual([]);
    expect(outsideScope(['pump-*', 'fan-2'], ['pump-1', 'pump-*', 'pump-1*', 'fan-2'])).toEqual([]);
    expect(outsideScope(['pump-*', 'fan-2'], ['fan-*', 'pump-1', 'line2-*', '*', 'fan-20'])).toEqual(['fan-*', 'line2-*', '*', 'fan-20']);
    // An id scope covers no pattern; a pattern is within a scope that has the same pattern.
    expect(outsideScope(['pump-1'], ['pump-*', 'pump-1'])).toEqual(['pump-*']);
    expect(outsideScope(['*-1'], ['pump-*-1', 'pump-*'])).toEqual(['pump-*']);
  });
});

