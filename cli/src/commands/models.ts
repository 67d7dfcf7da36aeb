// `pdm models`: the model registry's lifecycle — which version of each model serves, which run in
// shadow, which serves a subset of machines first — read and changed through `<registry>/<name>/
// lifecycle.json`, which the processor re-reads at every registry poll (no restart). Every change is
// appended to `<registry>/<name>/history.jsonl` and written to InfluxDB (`model_changes`). A change
// holds `<name>/lifecycle.json.lock` while it reads and writes, so two at once cannot lose one.
//
// The subcommands are a table (SUBCOMMANDS): each declares its synopsis, its own flags and its run,
// so a new one is one entry.
import { userInfo } from 'node:os';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  appendHistory,
  applyChange,
  contractFileSchema,
  INFLUX_SINK_DEFAULTS,
  InfluxSink,
  LifecycleChangeError,
  listRegistry,
  MODEL_FILES,
  outsideScope,
  readHistory,
  readLifecycle,
  withLifecycleLock,
  writeLifecycle,
  type ChangeRequest,
  type ContractFile,
  type Lifecycle,
  type ModelChange,
  type VersionEntry,
} from '@pdm/cloud-processor/model-lifecycle';
import { type Command, type CommandContext, UsageError } from '../command.js';
import { influxUrlFlag } from '../influx-url.js';
import { describeDrift, driftForListing, type VersionDrift } from '../model-drift.js';
import { modelsCompare } from './models-compare.js';

/** The processor's `model.registryDir` default, where `pdm start` keeps its models too. */
const DEFAULT_REGISTRY = '.data/models';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

interface Subcommand {
  /** The usage line(s), without `pdm models `. */
  synopsis: string;
  /** What it does, for --help. */
  describe: string;
  /** Its own flags, beside the common ones (--registry, --help). */
  options: Options;
  run(positionals: string[], values: Values, context: CommandContext): Promise<number>;
}

/** A refusal by the registry (unknown model or version, a change the lifecycle refuses): one line, exit 1. */
class ModelsError extends Error {}

const COMMON_OPTIONS: Options = {
  registry: { type: 'string', default: DEFAULT_REGISTRY },
};

/** The flags of every command that changes a lifecycle. */
const CHANGE_OPTIONS: Options = {
  who: { type: 'string' },
  note: { type: 'string' },
  'influx-url': { type: 'string', default: 'http://127.0.0.1:8086' },
  database: { type: 'string', default: 'pdm' },
};

const SUBCOMMANDS: Record<string, Subcommand> = {
  list: {
    synopsis: 'list [--json]',
    describe: "every model's versions (kind, trained at, machine scope) and which serves, runs in shadow, is rolled out; drift (PSI) as the processor reports it",
    options: { json: { type: 'boolean', default: false }, 'influx-url': CHANGE_OPTIONS['influx-url']!, database: CHANGE_OPTIONS.database! },
    run: async (positionals, values, context) => {
      noArguments('list', positionals);
      const influx = { url: influxUrlFlag(String(values['influx-url'])), database: String(values.database) };
      const models = await describeRegistry(String(values.registry));
      // No model, no drift to show: InfluxDB is not asked (nor blamed when it cannot be reached).
      const drift = models.length > 0 ? await driftForListing(influx, (line) => context.err(line)) : [];
      if (values.json === true) context.out(JSON.stringify({ models, drift }, null, 2));
      else for (const line of listing(models, String(values.registry), drift)) context.out(line);
      return 0;
    },
  },
  shadow: changeCommand('shadow NAME VERSION', 'score VERSION (one per model) beside the serving version on the same windows, into anomaly_shadow; it never alerts', (version) => ({ action: 'shadow', version })),
  unshadow: changeCommand('unshadow NAME VERSION', 'stop scoring VERSION in shadow', (version) => ({ action: 'unshadow', version })),
  promote: changeCommand(
    'promote NAME VERSION',
    'VERSION serves every machine of the model: it leaves shadow, and a running rollout ends (one of another version is named in the output and history.jsonl)',
    (version) => ({ action: 'promote', version }),
  ),
  rollback: changeCommand(
    'rollback NAME [--to VERSION]',
    'end a running rollout; else back to the version served before the serving one (from history.jsonl). --to VERSION: VERSION serves every machine at once, ending any rollout',
    (version, values) => ({ action: 'rollback', ...(typeof values.to === 'string' && { to: values.to }) }),
    { to: { type: 'string' } },
    false,
  ),
  rollout: changeCommand(
    "rollout NAME VERSION --machines 'ID,PATTERN,…'",
    'VERSION serves only the machines named (ids or * patterns), within its contract.json machines scope; promote it later to serve all',
    (version, values) => ({ action: 'rollout', version, machines: machineList(values.machines) }),
    { machines: { type: 'string' } },
  ),
  compare: modelsCompare,
};

/** Help lines stay within this width: the descriptions are wrapped under each other. */
const HELP_WIDTH = 100;

/** `text` in lines of at most `width` characters, broken between words. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

function usage(): string {
  const width = Math.max(...Object.values(SUBCOMMANDS).map((s) => s.synopsis.length));
  const indent = ' '.repeat(width + 4);
  const describe = (s: Subcommand) => wrap(s.describe, HELP_WIDTH - indent.length).join(`\n${indent}`);
  return `Usage: pdm models <subcommand> [--registry DIR] …

Subcommands:
${Object.values(SUBCOMMANDS)
  .map((s) => `  ${s.synopsis.padEnd(width)}  ${describe(s)}`)
  .join('\n')}

The registry holds <DIR>/<name>/<version>/ (pdm train --out DIR). Without <name>/lifecycle.json the
newest complete version of a model serves; the first change writes it, and from then on a new
version serves only once promoted (or rolled out). The running processor applies a change at its
next registry poll (model.pollMs), without a restart. Every change is appended to
<name>/history.jsonl and written to InfluxDB (measurement model_changes): who, when, from, to.

Options:
  --registry DIR     the model registry (default: ${DEFAULT_REGISTRY}, the processor's model.registryDir
                     default)
  --json             list, compare: as JSON
  --machines LIST    rollout: comma-separated machine ids or patterns (* is any run of characters);
                     compare: only these machines (also repeated)
  --serving NAME@VER, --candidate NAME@VER
                     compare: the version serving now and the one to compare with it (e.g. pumps@3,
                     pumps@4); each side's alert rule is its contract.json alertRule, else the
                     processor's default
  --since DURATION   compare: windows of this last period (default 24h; e.g. 30m, 7d)
  --to VERSION       rollback: the version to serve instead
  --who NAME         who makes the change (default: the user running pdm)
  --note TEXT        why, in a few words (stored with the change)
  --influx-url URL   InfluxDB the processor writes to (default: http://127.0.0.1:8086)
  --database NAME    its database (default: pdm)
  -h, --help         show this help`;
}

export const models: Command = {
  usage: usage(),
  async run(args: string[], context: CommandContext): Promise<number> {
    const [name, ...rest] = args;
    const subcommand = name === undefined ? undefined : SUBCOMMANDS[name];
    if (subcommand === undefined) {
      const known = Object.keys(SUBCOMMANDS).join(', ');
      throw new UsageError(name === undefined ? `say what to do: ${known}` : `unknown subcommand "${name}": expected one of ${known}`);
    }
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, strict: true, options: { ...COMMON_OPTIONS, ...subcommand.options } });
    await requireFolder(String(values.registry));
    try {
      return await subcommand.run(positionals, values, context);
    } catch (error) {
      if (!(error instanceof ModelsError || error instanceof LifecycleChangeError)) throw error;
      context.err(`pdm models: ${error.message}`);
      return 1;
    }
  },
};

/** A --registry that is no folder is a mistake in the command, not an empty registry. */
async function requireFolder(registry: string): Promise<void> {
  const found = await stat(registry).catch(() => undefined);
  if (found === undefined) throw new UsageError(`--registry: ${registry} does not exist`);
  if (!found.isDirectory()) throw new UsageError(`--registry: ${registry} is not a folder`);
}

function noArguments(subcommand: string, positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`pdm models ${subcommand} takes no argument, got "${positionals[0]}"`);
}

function machineList(flag: unknown): string[] {
  const machines = typeof flag === 'string' ? flag.split(',').map((m) => m.trim()).filter((m) => m !== '') : [];
  if (machines.length === 0) throw new UsageError("pdm models rollout needs --machines 'ID,PATTERN,…' (e.g. 'pump-1,line2-*')");
  return machines;
}

/** A subcommand that changes one model's lifecycle: NAME (and VERSION when `needsVersion`). */
function changeCommand(
  synopsis: string,
  describe: string,
  request: (version: string, values: Values) => ChangeRequest,
  options: Options = {},
  needsVersion = true,
): Subcommand {
  const action = synopsis.split(' ')[0]!;
  return {
    synopsis,
    describe,
    options: { ...CHANGE_OPTIONS, ...options },
    run: async (positionals, values, context) => {
      const [name, version, ...extra] = positionals;
      const wanted = needsVersion ? 'NAME VERSION' : 'NAME';
      if (name === undefined || (needsVersion && version === undefined)) throw new UsageError(`pdm models ${action} needs ${wanted}`);
      if (extra.length > 0 || (!needsVersion && version !== undefined)) throw new UsageError(`pdm models ${action} takes ${wanted}; unexpected "${needsVersion ? extra[0] : version}"`);
      return change(name, request(version ?? '', values), values, context);
    },
  };
}

async function change(name: string, request: ChangeRequest, values: Values, context: CommandContext): Promise<number> {
  const influxUrl = influxUrlFlag(String(values['influx-url'])); // refused before the change is made
  const registry = String(values.registry);
  const versions = await versionsOf(registry, name);
  const modelDir = path.join(registry, name);
  // Read, check and write under the model's lock: a change made meanwhile by another run would be lost.
  const { record, pin } = await withLifecycleLock(modelDir, async () => {
    const { lifecycle: current, written } = await currentLifecycle(modelDir, name, versions);
    const { next, change } = applyChange(name, current, request, await readHistory(modelDir), { written });
    // The version the change makes serve or shadow must be there, whole; one leaving may be gone already.
    if (change.action !== 'unshadow' && !(change.action === 'rollback' && change.machines !== undefined)) {
      const contract = await requireVersion(registry, name, change.to, versions);
      if (request.action === 'rollout') requireInScope(name, request, contract);
    }
    const record: ModelChange = {
      at: new Date().toISOString(),
      who: typeof values.who === 'string' ? values.who : currentUser(),
      ...change,
      ...(typeof values.note === 'string' && { note: values.note }),
    };
    await writeLifecycle(modelDir, next);
    await appendHistory(modelDir, record);
    return { record, pin: change.action === 'promote' && change.from === change.to };
  });
  context.out(
    pin
      ? `${name}: ${record.to} pinned by ${record.who} at ${record.at} (${path.join(modelDir, 'lifecycle.json')} written): a newly trained version now serves only once promoted`
      : `${name}: ${describeChange(record)} by ${record.who} at ${record.at}${describeEndedRollout(record)}; the processor applies it at its next registry poll`,
  );
  const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influxUrl, database: String(values.database), batchMaxDelayMs: 1 });
  try {
    await sink.writeModelChange(name, record);
    await sink.flush();
  } catch (error) {
    context.err(`pdm models: the change is made and in ${path.join(modelDir, 'history.jsonl')}, but not recorded in InfluxDB (${influxUrl}): ${(error as Error).message}`);
    return 1;
  }
  return 0;
}

/** A promotion or rollback that ended another version's rollout says so: those machines change version too. */
function describeEndedRollout({ endedRollout, to }: ModelChange): string {
  return endedRollout ? `; it ends the rollout of ${endedRollout.version} on ${endedRollout.machines.join(', ')}: ${to} serves those machines too` : '';
}

function describeChange(change: ModelChange): string {
  const machines = change.machines ? ` for ${change.machines.join(', ')}` : '';
  switch (change.action) {
    case 'shadow':
    case 'unshadow':
      return `${change.action} ${change.to}`;
    default:
      return `${change.action} ${change.from ?? '?'} → ${change.to}${machines}`;
  }
}

/** The model's complete versions, newest first; refuses an unknown model naming the ones there are. */
async function versionsOf(registry: string, name: string): Promise<VersionEntry[]> {
  const all = await listRegistry(registry);
  const versions = all.get(name);
  if (versions === undefined) throw new ModelsError(`no model "${name}" in ${registry} (models: ${[...all.keys()].join(', ') || 'none'})`);
  return versions;
}

/** The lifecycle file's (`written`), or without one what serves today (newestServable). */
async function currentLifecycle(modelDir: string, name: string, versions: VersionEntry[]): Promise<{ lifecycle: Lifecycle; written: boolean }> {
  const read = await readLifecycle(modelDir);
  if (read.kind === 'invalid') throw new ModelsError(`${read.error.message} — fix or remove it (model ${name})`);
  return read.kind === 'valid' ? { lifecycle: read.lifecycle, written: true } : { lifecycle: { serving: await newestServable(versions), shadow: [] }, written: false };
}

/**
 * What serves a model without a lifecycle file: the processor takes the newest version that loads, so
 * a newer one whose contract it refuses (a copied folder) is passed over here too. (Only when every
 * contract is refused the newest is named: the processor then serves none of them.)
 */
async function newestServable(versions: VersionEntry[]): Promise<string> {
  for (const entry of versions) if (!('problem' in (await readContract(entry)))) return entry.version;
  return versions[0]!.version;
}

/** The version's contract: refuses a version that is not there, not whole, or whose contract the processor would refuse. */
async function requireVersion(registry: string, name: string, version: string, versions: VersionEntry[]): Promise<ContractFile> {
  const entry = versions.find((v) => v.version === version);
  if (entry === undefined) {
    const folder = await stat(path.join(registry, name, version)).catch(() => undefined);
    if (folder?.isDirectory()) throw new ModelsError(`${name}@${version} has no ${MODEL_FILES.contract} (not completely written: pdm train writes it last)`);
    throw new ModelsError(`model ${name} has no version "${version}" (versions: ${versions.map((v) => v.version).join(', ')})`);
  }
  const contract = await readContract(entry);
  if ('problem' in contract) throw new ModelsError(`${name}@${version}: ${contract.problem}`);
  return contract;
}

/** A rollout to machines outside the candidate's scope would leave them scored by no version of the model. */
function requireInScope(name: string, request: { version: string; machines: string[] }, contract: ContractFile): void {
  const outside = outsideScope(contract.machines, request.machines);
  if (outside.length > 0) {
    throw new UsageError(
      `--machines: ${outside.join(', ')} reaches beyond ${name}@${request.version}'s scope (its ${MODEL_FILES.contract} machines: ${contract.machines!.join(', ')}): no version of ${name} would score those machines; name machines within it`,
    );
  }
}

/**
 * The version's contract.json, or why the processor would refuse it: unreadable, invalid, or naming
 * another model or version than its folder (a folder copied with `cp -r`).
 */
async function readContract(entry: VersionEntry): Promise<ContractFile | { problem: string }> {
  const file = path.join(entry.dir, MODEL_FILES.contract);
  try {
    const parsed = contractFileSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return { problem: `${file}: ${issue.path.join('.')}: ${issue.message}` };
    }
    const { name, version } = parsed.data;
    if (name !== entry.name || version !== entry.version) {
      return { problem: `${file} names ${name}@${version}, not its folder's ${entry.name}@${entry.version}; the processor refuses it (a copied folder must be retrained or its contract's name and version edited)` };
    }
    return parsed.data;
  } catch (error) {
    return { problem: `${file}: ${(error as Error).message}` };
  }
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    throw new UsageError('--who NAME is required: the user running pdm has no name on this host');
  }
}

type Role = 'serving' | 'shadow' | 'rollout';

interface VersionListing {
  version: string;
  kind?: string;
  trainedAt?: string;
  /** contract.json `machines`; null: serves any machine carrying its sensors. */
  machines?: string[] | null;
  roles: Role[];
  /** An unreadable contract.json. */
  problem?: string;
}

interface ModelListing {
  name: string;
  /** Where the roles come from: the lifecycle file, or none (the newest complete version serves). */
  lifecycle: 'file' | 'none';
  serving: string;
  shadow: string[];
  rollout?: { version: string; machines: string[] };
  /** A lifecycle file the processor refuses (it keeps what it served). */
  problem?: string;
  versions: VersionListing[];
}

async function describeRegistry(registry: string): Promise<ModelListing[]> {
  const listings: ModelListing[] = [];
  for (const [name, versions] of await listRegistry(registry)) {
    const read = await readLifecycle(path.join(registry, name));
    const lifecycle: Lifecycle = read.kind === 'valid' ? read.lifecycle : { serving: await newestServable(versions), shadow: [] };
    const rolesOf = (version: string): Role[] => [
      ...(version === lifecycle.serving ? ['serving' as const] : []),
      ...(lifecycle.shadow.includes(version) ? ['shadow' as const] : []),
      ...(lifecycle.rollout?.version === version ? ['rollout' as const] : []),
    ];
    const described = await Promise.all(
      versions.map(async (entry): Promise<VersionListing> => {
        const contract = await readContract(entry);
        if ('problem' in contract) return { version: entry.version, roles: rolesOf(entry.version), problem: contract.problem };
        return { version: entry.version, kind: contract.kind, trainedAt: contract.createdAt, machines: contract.machines ?? null, roles: rolesOf(entry.version) };
      }),
    );
    listings.push({
      name,
      lifecycle: read.kind === 'valid' ? 'file' : 'none',
      serving: lifecycle.serving,
      shadow: lifecycle.shadow,
      ...(lifecycle.rollout && { rollout: lifecycle.rollout }),
      ...(read.kind === 'invalid' && { problem: read.error.message }),
      versions: described,
    });
  }
  return listings;
}

function listing(models: ModelListing[], registry: string, drift: readonly VersionDrift[]): string[] {
  if (models.length === 0) return [`no models in ${registry}`];
  return models.flatMap((m) => {
    const roles = [`serving ${m.serving}`];
    if (m.shadow.length > 0) roles.push(`shadow ${m.shadow.join(', ')}`);
    if (m.rollout) roles.push(`rollout ${m.rollout.version} on ${m.rollout.machines.join(', ')}`);
    const lines = [`${m.name}  ${roles.join('  ')}${m.lifecycle === 'none' ? '  (no lifecycle.json: the newest version serves)' : ''}`];
    if (m.problem) lines.push(`  lifecycle.json refused (the processor keeps what it served): ${m.problem}`);
    for (const v of m.versions) {
      const scope = v.machines === undefined ? '' : v.machines === null ? 'any machine' : `machines ${v.machines.join(', ')}`;
      const what = v.problem ?? [v.kind, `trained ${v.trainedAt}`, scope].join('  ');
      lines.push(`  ${v.version}  ${what}${v.roles.length > 0 ? `  [${v.roles.join(', ')}]` : ''}`);
      const reported = drift.find((d) => d.model === m.name && d.version === v.version);
      if (reported) lines.push(`     ${describeDrift(reported, Date.now())}`);
    }
    return lines;
  });
}
