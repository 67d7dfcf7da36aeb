// `pdm models` on a registry of contract-only versions and a real influxd: list, shadow, promote,
// rollback, rollout; the lifecycle file, history.jsonl and model_changes they leave; errors naming the
// model and version.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { INFLUX_SINK_DEFAULTS, InfluxSink } from '@pdm/cloud-processor/model-lifecycle';
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { capture } from '../test-support/capture.js';

function contract(version: string, kind: string, createdAt: string, machines?: string[]) {
  return {
    featureNames: ['temp.mean'],
    windowMs: 10_000,
    featureVersion: 1,
    kind,
    name: 'anomaly',
    version,
    trainingWindows: 100,
    heldBackWindows: 0,
    seed: 1,
    createdAt,
    ...(machines && { machines }),
  };
}

describe('pdm models', () => {
  let influx: RunningInflux;
  let database: string;
  let registry: string;

  beforeAll(async () => {
    influx = await startTestInflux();
  });
  afterAll(async () => {
    await influx?.stop();
  });
  beforeEach(async () => {
    database = uniqueDatabaseName('cli_models');
    // The processor creates its database on start.
    await new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database }).start();
    registry = await mkdtemp(path.join(tmpdir(), 'pdm-models-'));
    for (const [version, body] of [
      ['1', contract('1', 'robust-t2', '2026-12-01T00:00:00.000Z')],
      ['2', contract('2', 'adaptive-z', '2026-12-02T00:00:00.000Z', ['pump-*', 'fan-2'])],
    ] as const) {
      await mkdir(path.join(registry, 'anomaly', version), { recursive: true });
      await writeFile(path.join(registry, 'anomaly', version, 'contract.json'), JSON.stringify(body));
    }
    // Being written: no contract.json yet.
    await mkdir(path.join(registry, 'anomaly', '3'), { recursive: true });
    return () => rm(registry, { recursive: true, force: true });
  });

  async function pdm(...args: string[]) {
    const io = capture();
    const code = await main(['models', ...args, '--registry', registry, '--influx-url', influx.url, '--database', database], io.context);
    return { code, out: io.out.join('\n'), err: io.err.join('\n') };
  }

  const lifecycle = async () => JSON.parse(await readFile(path.join(registry, 'anomaly', 'lifecycle.json'), 'utf8')) as unknown;
  const history = async () => (await readFile(path.join(registry, 'anomaly', 'history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

  it('lists versions with kind, training time and machine scope; without a lifecycle file the newest complete version serves', async () => {
    expect(await pdm('list')).toEqual({
      code: 0,
      err: '',
      out: [
        'anomaly  serving 2  (no lifecycle.json: the newest version serves)',
        '  2  adaptive-z  trained 2026-12-02T00:00:00.000Z  machines pump-*, fan-2  [serving]',
        '  1  robust-t2  trained 2026-12-01T00:00:00.000Z  any machine',
      ].join('\n'),
    });
    const json = JSON.parse((await pdm('list', '--json')).out) as { models: unknown[] };
    expect(json.models).toEqual([
      {
        name: 'anomaly',
        lifecycle: 'none',
        serving: '2',
        shadow: [],
        versions: [
          { version: '2', kind: 'adaptive-z', trainedAt: '2026-12-02T00:00:00.000Z', machines: ['pump-*', 'fan-2'], roles: ['serving'] },
          { version: '1', kind: 'robust-t2', trainedAt: '2026-12-01T00:00:00.000Z', machines: null, roles: [] },
        ],
      },
    ]);
  });

  it('shadows, promotes, rolls back, rolls out and ends the rollout, recording each change in the registry and InfluxDB', async () => {
    const shadowed = await pdm('shadow', 'anomaly', '1', '--who', 'ana');
    expect(shadowed.code, shadowed.err).toBe(0);
    expect(await lifecycle()).toEqual({ serving: '2', shadow: ['1'] });
    const promoted = await pdm('promote', 'anomaly', '1', '--who', 'bo', '--note', 'fewer false alarms');
    expect(promoted.code, promoted.err).toBe(0);
    expect(promoted.out).toMatch(/^anomaly: promote 2 → 1 by bo at \S+; the processor applies it at its next registry poll$/);
    expect(await lifecycle()).toEqual({ serving: '1', shadow: [] });
    expect((await pdm('rollback', 'anomaly', '--who', 'ana')).code).toBe(0);
    expect(await lifecycle()).toEqual({ serving: '2', shadow: [] });
    expect((await pdm('rollout', 'anomaly', '1', '--machines', 'pump-1, line2-*', '--who', 'ana')).code).toBe(0);
    expect(await lifecycle()).toEqual({ serving: '2', shadow: [], rollout: { version: '1', machines: ['pump-1', 'line2-*'] } });
    expect((await pdm('list')).out.split('\n')[0]).toBe('anomaly  serving 2  rollout 1 on pump-1, line2-*');
    expect((await pdm('rollback', 'anomaly', '--who', 'bo')).code).toBe(0);
    expect(await lifecycle()).toEqual({ serving: '2', shadow: [] });

    const changes = await history();
    expect(changes.map(({ at: _at, ...rest }) => rest)).toEqual([
      { who: 'ana', action: 'shadow', to: '1' },
      { who: 'bo', action: 'promote', from: '2', to: '1', note: 'fewer false alarms' },
      { who: 'ana', action: 'rollback', from: '1', to: '2' },
      { who: 'ana', action: 'rollout', from: '2', to: '1', machines: ['pump-1', 'line2-*'] },
      { who: 'bo', action: 'rollback', from: '1', to: '2', machines: ['pump-1', 'line2-*'] },
    ]);
    const stored = await influx.query('SELECT "action", "who", "from_version", "to_version", "machines", "note" FROM "model_changes" WHERE "model" = \'anomaly\'', database);
    const series = stored.results[0]?.series?.[0];
    const rows = (series?.values ?? []).map((row) => Object.fromEntries(series!.columns.map((c, i) => [c, row[i]])));
    expect(rows.map((r) => [r.time, r.action, r.who, r.from_version, r.to_version, r.machines, r.note])).toEqual(
      changes.map((c) => [Date.parse(String(c.at)), c.action, c.who, c.from ?? null, c.to, Array.isArray(c.machines) ? c.machines.join(',') : null, c.note ?? null]),
    );
  });

  it('refuses unknown models and versions, a version without contract.json and changes the lifecycle does not allow, in one line naming them', async () => {
    const refusals: [string[], string][] = [
      [['promote', 'anomaly', '9'], 'pdm models: model anomaly has no version "9" (versions: 2, 1)'],
      [['promote', 'anomaly', '3'], 'pdm models: anomaly@3 has no contract.json (not completely written: pdm train writes it last)'],
      [['promote', 'pumps', '1'], `pdm models: no model "pumps" in ${registry} (models: anomaly)`],
      [['unshadow', 'anomaly', '1'], 'pdm models: anomaly@1 is not in shadow (shadow: none)'],
      [['rollback', 'anomaly'], 'pdm models: anomaly: the history names no version served before 2; say which with --to VERSION'],
    ];
    for (const [args, message] of refusals) expect(await pdm(...args, '--who', 'ana'), args.join(' ')).toEqual({ code: 1, out: '', err: message });
    const noMachines = await pdm('rollout', 'anomaly', '1');
    expect(noMachines.code).toBe(2);
    expect(noMachines.err).toMatch(/^pdm models: pdm models rollout needs --machines/);
    await writeFile(path.join(registry, 'anomaly', 'lifecycle.json'), '{"serving": 2}');
    expect((await pdm('shadow', 'anomaly', '1')).err).toBe(`pdm models: ${path.join(registry, 'anomaly', 'lifecycle.json')}: serving: Invalid input: expected string, received number — fix or remove it (model anomaly)`);
  });

  it("ends another version's rollout when a version is promoted, and says so in the output and the history", async () => {
    // Version 1 rolled out to pump-1 turns out bad; version 3 is trained and promoted.
    expect((await pdm('rollout', 'anomaly', '1', '--machines', 'pump-1', '--who', 'ana')).code).toBe(0);
    await writeFile(path.join(registry, 'anomaly', '3', 'contract.json'), JSON.stringify(contract('3', 'robust-t2', '2026-12-03T00:00:00.000Z')));
    const promoted = await pdm('promote', 'anomaly', '3', '--who', 'bo');
    expect(promoted.code, promoted.err).toBe(0);
    expect(promoted.out).toMatch(/^anomaly: promote 2 → 3 by bo at \S+; it ends the rollout of 1 on pump-1: 3 serves those machines too; the processor applies it at its next registry poll$/);
    expect(await lifecycle()).toEqual({ serving: '3', shadow: [] });
    expect((await history()).at(-1)).toMatchObject({ who: 'bo', action: 'promote', from: '2', to: '3', endedRollout: { version: '1', machines: ['pump-1'] } });
    const stored = await influx.query('SELECT "to_version", "ended_rollout" FROM "model_changes" WHERE "model" = \'anomaly\' ORDER BY time DESC LIMIT 1', database);
    expect(stored.results[0]?.series?.[0]?.values[0]?.slice(1)).toEqual(['3', '1 on pump-1']);
    // A rollout of the promoted version itself simply serves every machine from then on.
    expect((await pdm('rollout', 'anomaly', '1', '--machines', 'pump-1', '--who', 'ana')).code).toBe(0);
    const rolledOutPromoted = await pdm('promote', 'anomaly', '1', '--who', 'bo');
    expect(rolledOutPromoted.out).toMatch(/^anomaly: promote 3 → 1 by bo at \S+; the processor applies it at its next registry poll$/);
    expect(await lifecycle()).toEqual({ serving: '1', shadow: [] });
  });

  it('refuses a change while another holds the lifecycle lock, naming the lock and how to clear it; the change after it goes ahead', async () => {
    const lock = path.join(registry, 'anomaly', 'lifecycle.json.lock');
    await writeFile(lock, 'held by pid 1 on other-host since 2026-12-06T05:00:00.000Z\n');
    expect(await pdm('promote', 'anomaly', '1', '--who', 'ana')).toEqual({
      code: 1,
      out: '',
      err: `pdm models: another pdm models change is under way (${lock} exists: held by pid 1 on other-host since 2026-12-06T05:00:00.000Z); retry when it is done, or, if none is running (one was killed), remove ${lock}`,
    });
    // Nothing written, nothing recorded.
    expect((await readdir(path.join(registry, 'anomaly'))).sort()).toEqual(['1', '2', '3', 'lifecycle.json.lock']);
    await rm(lock);
    expect((await pdm('promote', 'anomaly', '1', '--who', 'ana')).code).toBe(0);
    expect((await readdir(path.join(registry, 'anomaly'))).sort()).toEqual(['1', '2', '3', 'history.jsonl', 'lifecycle.json']);
  });

  it('refuses a version whose contract.json names another version (a copied folder the processor would refuse), and lists it as refused', async () => {
    await cp(path.join(registry, 'anomaly', '1'), path.join(registry, 'anomaly', '7'), { recursive: true });
    const file = path.join(registry, 'anomaly', '7', 'contract.json');
    const problem = `${file} names anomaly@1, not its folder's anomaly@7; the processor refuses it (a copied folder must be retrained or its contract's name and version edited)`;
    expect(await pdm('promote', 'anomaly', '7', '--who', 'ana')).toEqual({ code: 1, out: '', err: `pdm models: anomaly@7: ${problem}` });
    expect(await pdm('shadow', 'anomaly', '7', '--who', 'ana')).toEqual({ code: 1, out: '', err: `pdm models: anomaly@7: ${problem}` });
    // Without a lifecycle file the newest version the processor accepts serves: 2, not the copy.
    expect((await pdm('list')).out.split('\n').slice(0, 2)).toEqual(['anomaly  serving 2  (no lifecycle.json: the newest version serves)', `  7  ${problem}`]);
  });

  it("refuses a rollout to machines beyond the candidate's contract.json machines (exit 2, naming --machines); within them it goes ahead", async () => {
    expect((await pdm('promote', 'anomaly', '1', '--who', 'ana')).code).toBe(0);
    const beyond = await pdm('rollout', 'anomaly', '2', '--machines', 'pump-1,line2-*,fan-*', '--who', 'ana');
    expect(beyond.code).toBe(2);
    expect(beyond.err.split('\n')[0]).toBe(
      "pdm models: --machines: line2-*, fan-* reaches beyond anomaly@2's scope (its contract.json machines: pump-*, fan-2): no version of anomaly would score those machines; name machines within it",
    );
    expect(await lifecycle()).toEqual({ serving: '1', shadow: [] });
    expect((await pdm('rollout', 'anomaly', '2', '--machines', 'pump-*,fan-2', '--who', 'ana')).code).toBe(0);
    expect(await lifecycle()).toEqual({ serving: '1', shadow: [], rollout: { version: '2', machines: ['pump-*', 'fan-2'] } });
  });

  it('pins the newest version when it is promoted without a lifecycle file, so the next trained version waits; promoting it again is refused', async () => {
    const pinned = await pdm('promote', 'anomaly', '2', '--who', 'ana');
    expect(pinned.code, pinned.err).toBe(0);
    expect(pinned.out).toMatch(/^anomaly: 2 pinned by ana at .* \(.*lifecycle\.json written\): a newly trained version now serves only once promoted$/);
    expect(JSON.parse(await readFile(path.join(registry, 'anomaly', 'lifecycle.json'), 'utf8'))).toEqual({ serving: '2', shadow: [] });
    const history = (await readFile(path.join(registry, 'anomaly', 'history.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(history).toEqual([expect.objectContaining({ who: 'ana', action: 'promote', from: '2', to: '2' })]);
    // A version 3 completed now does not serve: the file names 2.
    await writeFile(path.join(registry, 'anomaly', '3', 'contract.json'), JSON.stringify(contract('3', 'robust-t2', '2026-12-03T00:00:00.000Z')));
    const listed = await pdm('list', '--json');
    expect(listed.code, listed.err).toBe(0);
    expect(JSON.stringify(JSON.parse(listed.out))).toContain('"serving":"2"');
    expect(await pdm('promote', 'anomaly', '2', '--who', 'ana')).toEqual({ code: 1, out: '', err: 'pdm models: anomaly@2 is the serving version' });
  });

  it('prints its usage with --help', async () => {
    const io = capture();
    expect(await main(['models', '--help'], io.context)).toBe(0);
    const help = io.out.join('\n');
    expect(help).toMatch(/pdm models <subcommand>[\s\S]*promote NAME VERSION[\s\S]*--registry DIR/);
    // What promote and rollback do to a running rollout, as they do it (the descriptions wrap).
    const described = (synopsis: string) => help.slice(help.indexOf(`  ${synopsis} `)).split(/\n  \S/)[0]!.replace(/\s+/g, ' ');
    expect(described('promote NAME VERSION')).toContain('VERSION serves every machine of the model: it leaves shadow, and a running rollout ends (one of another version is named in the output and history.jsonl)');
    expect(described('rollback NAME [--to VERSION]')).toContain('--to VERSION: VERSION serves every machine at once, ending any rollout');
  });
});
