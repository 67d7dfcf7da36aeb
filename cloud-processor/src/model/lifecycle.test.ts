// The lifecycle file (parsing, refusals naming file and key, atomic writes), history.jsonl, and the
// rules of each change pdm models makes.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyChange, servedBefore } from './lifecycle-changes.js';
import { appendHistory, LifecycleError, parseLifecycle, readHistory, readLifecycle, writeLifecycle, type Lifecycle, type ModelChange } from './lifecycle.js';

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

  it('promote makes the version serve and takes it out of shadow and rollout; others stay', () => {
    expect(applyChange('pump', base, { action: 'promote', version: '5' }, [])).toEqual({
      next: { serving: '5', shadow: [] },
      change: { action: 'promote', from: '3', to: '5' },
    });
    expect(applyChange('pump', base, { action: 'promote', version: '4' }, []).next).toEqual({ serving: '4', shadow: ['5'], rollout: { version: '5', machines: ['pump-1'] } });
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
    expect(applyChange('pump', base, { action: 'rollback', to: '5' }, []).next).toEqual({ serving: '5', shadow: [] });
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
