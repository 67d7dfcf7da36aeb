// `pdm train` (fixed interface): trains an anomaly model from normal operation — a CSV replayed
// through the gateway's window engine, or features already stored in InfluxDB — and writes it as a
// versioned folder of the model registry.
import { parseArgs } from 'node:util';
import { systemClock } from '@pdm/clock';
import { COMBINED_KIND_SYNTAX, MODEL_DEFAULTS, MODEL_KINDS, parseKind, trainModel, type CombinedKind, type MemberReport, type ModelKind, type TrainReport } from '@pdm/cloud-processor';
import { hidePassword } from '@pdm/config';
import type { MachineWindow } from '@pdm/proto';
import { type Command, UsageError } from '../command.js';
import { CSV_FLAG_HELP, CSV_FLAG_OPTIONS, csvReplayOptions, timeFlag, timeRangeFlags } from '../csv-flags.js';
import { MAX_UNIVARIATE_SENSORS, MIN_HOPPING_READINGS, MIN_TUMBLING_WINDOWS, trainingWindowsFromCsvs } from '../csv-windows.js';
import { influxUrlFlag } from '../influx-url.js';
import { type InfluxSource, type InfluxWindowQuery, windowsFromInflux } from '../influx-windows.js';
import { withoutLabelledEpisodes } from '../labelled-episodes.js';

const MIN_TUMBLING_TEXT = String(MIN_TUMBLING_WINDOWS);

/**
 * The detector when --kind is not given, as measured (issue #15). One or two slow sensors, one reading
 * per window: adaptive-z, the only kind that looks across windows (NAB: 61 against −1,886 for robust-t2).
 * Otherwise robust T², with its operating point and a threshold from the training scores' tail: SKAB
 * (400 s of training) F1 0.786 at FAR 12.6 % against the autoencoder's 0.786 at 35.3 %; the simulated fleet
 * (16 h) 4 of 4 faults and no false alert against the autoencoder's 3 of 4 (it never sees the pump's
 * drifting current sensor).
 */
function defaultKind(training: { slow: boolean }): ModelKind {
  return training.slow ? 'adaptive-z' : 'robust-t2';
}

/** --kind: one detector family or several combined; a usage error names what is allowed. */
export function kindFlag(value: string | undefined): ModelKind | CombinedKind | undefined {
  if (value === undefined) return undefined;
  try {
    return parseKind(value);
  } catch (error) {
    throw new UsageError(`--kind ${(error as Error).message}`);
  }
}

export const train: Command = {
  usage: `pdm train --input normal.csv [--input other.csv …] --out MODEL_DIR [--time-column NAME] [--delimiter ,] [--window 10s] [--machine ID] [--kind KIND] [--scope PATTERN] [--state-sensor NAME] [--fixed-threshold]
pdm train --from-influx --machine ID [--machine ID …] [--site ID] --from T --until T --out MODEL_DIR [--influx-url URL] [--database pdm]

Trains an anomaly model on normal operation and writes it into the model registry MODEL_DIR as
MODEL_DIR/<name>/<version>/ (contract.json and the artifacts of the model's kind). A processor
watching MODEL_DIR picks the new version up without a restart.

Several machines (--input once per machine's recording, its machine id the file name; or --machine
repeated or comma-separated with --from-influx) train one model of their class. robust-t2 compares
each machine with its own level where training has ${MODEL_DEFAULTS.robustT2.minMachineWindows.toLocaleString('en')} or more non-overlapping windows of it, and
then holds any other machine when scored until it has as many of its own; with no machine that long,
every machine is compared with the class location. pca learns one machine.

Without --window, the window is chosen from the CSV's sampling interval and printed: the gateway's 10 s
when it holds ${MIN_HOPPING_READINGS} readings or more; for slower data of ${MAX_UNIVARIATE_SENSORS} sensors or fewer, one reading per
window and the adaptive-z detector (its context is the machine's history across windows); for slower
data of more sensors, 10 readings per window. pdm score uses the model's window.

A short recording gives few windows: when it makes fewer than ${MIN_TUMBLING_TEXT} windows that typically hold
${MIN_HOPPING_READINGS} readings or more, pdm train trains on hopping windows of the same size advancing by a tenth
of it (10 s windows every 1 s), from the same window engine, and says so.

Options:
${CSV_FLAG_HELP}
  --out DIR             the model registry folder to write into (required)
  --name NAME           model name (default: anomaly)
  --kind KIND           the detector: ${MODEL_KINDS.join(', ')} (default: adaptive-z for one reading
                        per window, see above; else robust-t2), or several combined as
                        ${COMBINED_KIND_SYNTAX}
                        autoencoder: a small network on level, fluctuation and shape statistics,
                        threshold calibrated on held-back windows; robust-t2: robust Hotelling T²
                        on each sensor's mean and rms around the machine's operating point (the
                        sensor that explains the others best), χ² threshold raised to the training
                        scores' tail for one false exceedance per machine-day (from 2,000 windows);
                        adaptive-z: each sensor's reading against the machine's own history (point,
                        hourly mean, seasonal difference), alert on the first window above 7 σ;
                        pca (one machine a model): principal components of robust-t2's features,
                        standardised by its robust covariance (not widened), the fewest carrying
                        90 % of their variance; Hotelling T² on them (Tracy–Young–Mason's F limit for the
                        training windows) and the residual Q (Jackson–Mudholkar limit), together
                        at robust-t2's false-alarm probability; score the larger of T²/limit and
                        Q/limit, threshold 1, each window by itself;
                        combined (robust-t2+autoencoder): each member trained on its own features of
                        the same windows, each window scored by all and decided on their scores in
                        threshold multiples (1 = a member's own threshold): max (default) alarms when
                        any member does, mean when their average distance passes 1. The first
                        member's alert rule and running-state gate serve the combination
  --epochs N            autoencoder training epochs (default: the model's own)
  --seed N              random seed, for reproducible models (default: fixed)
  --scope PATTERN       the machines the model serves, by machine id, where * stands for any
                        characters (pump-*); repeat it or separate with commas. Written to
                        contract.json as machines. A machine a scope names is scored only by the
                        models scoped to it (its missing sensors are a contract mismatch), other
                        machines by the models without a scope. Default: no scope, the model
                        serves any machine whose windows carry its sensors
  --state-sensor NAME   the sensor that says whether the machine runs (speed, current). Windows of a
                        stopped machine (its mean below a fifth of its usual level), of a change of
                        speed or load (a step larger than 20 × its usual one) and 3 windows after
                        either are held: stored, never scored, never an alert. Default: learned —
                        the steadiest sensor the training data shows stopping; if it never stops,
                        every sensor steady while running, a majority of them below a fifth of their
                        level making a stop, no step held (none with fewer than two such sensors).
                        Not for adaptive-z
  --fixed-threshold     robust-t2, pca, autoencoder: judge every machine by the trained threshold.
                        Default: each machine's own threshold, learnt online from its normal
                        windows after its first 2,000 (SPOT) for one false exceedance per
                        machine-day: it rises, at most 10 % a day, for a machine whose healthy
                        scores have a heavier tail than training saw, and never falls below the
                        trained threshold; windows of an alert and a fault that moves most of the
                        scores teach it nothing. adaptive-z keeps its fixed z
  --from-influx         train on sensor_features stored in InfluxDB instead of a CSV; windows inside
                        alert episodes labelled fault or maintenance (pdm alerts label) are left out;
                        --from and --until are required with it
  --site ID             the machine's site for --from-influx (default: its only site between
                        --from and --until; a machine id with windows at several sites is refused)
  --influx-url URL      InfluxDB for --from-influx (default: http://127.0.0.1:8086); with
                        authentication on, its user and password: http://USER:PASSWORD@host:8086
  --database NAME       database for --from-influx (default: pdm)
  -h, --help            show this help`,

  async run(args, { out, err }) {
    const { values } = parseArgs({
      args,
      options: {
        ...CSV_FLAG_OPTIONS,
        input: { type: 'string', multiple: true },
        machine: { type: 'string', multiple: true },
        out: { type: 'string' },
        name: { type: 'string' },
        kind: { type: 'string' },
        epochs: { type: 'string' },
        seed: { type: 'string' },
        scope: { type: 'string', multiple: true },
        'state-sensor': { type: 'string' },
        'fixed-threshold': { type: 'boolean' },
        'from-influx': { type: 'boolean' },
        site: { type: 'string' },
        'influx-url': { type: 'string', default: 'http://127.0.0.1:8086' },
        database: { type: 'string', default: 'pdm' },
      },
      strict: true,
    });
    if (!values.out) throw new UsageError('--out MODEL_DIR is required');
    const integer = (flag: string, value: string | undefined) => {
      if (value === undefined) return undefined;
      if (!/^\d+$/.test(value)) throw new UsageError(`--${flag} must be a whole number, got "${value}"`);
      return Number(value);
    };
    const epochs = integer('epochs', values.epochs);
    if (epochs === 0) throw new UsageError('--epochs must be at least 1 (0 writes an untrained network)');
    const askedKind = kindFlag(values.kind);
    const askedMembers = askedKind === undefined ? [] : typeof askedKind === 'string' ? [askedKind] : askedKind.members;
    const seed = integer('seed', values.seed);
    const machines = values.scope?.flatMap((v) => v.split(',')).map((pattern) => pattern.trim());
    if (machines?.includes('')) throw new UsageError(`--scope needs machine ids or patterns such as pump-*, got "${values.scope!.join('", "')}"`);

    const inputs = values.input ?? [];
    const machineIds = values.machine?.flatMap((v) => v.split(',')).map((id) => id.trim());
    if (machineIds?.includes('')) throw new UsageError(`--machine needs machine ids, got "${values.machine!.join('", "')}"`);

    let windows: MachineWindow[] = [];
    let training = { slow: false };
    if (values['from-influx']) {
      const range = timeRangeFlags(values);
      if (!machineIds || !range.from || !range.until) throw new UsageError('--from-influx needs --machine ID, --from T and --until T');
      // InfluxDB is sent the instants in UTC with their Z: what the user wrote is read once, as a CSV time.
      const [from, until] = (['from', 'until'] as const).map((flag) => new Date(timeFlag(flag, range[flag]!)).toISOString()) as [string, string];
      const influx = { url: influxUrlFlag(values['influx-url']), database: values.database };
      for (const machine of new Set(machineIds)) {
        const own = await labelledOut(influx, { machine, site: values.site, from, until }, err);
        // Of several machines, one without windows is a typo or the wrong range, not a smaller class.
        if (own.length === 0 && machineIds.length > 1) throw new UsageError(`--machine ${machine}: no windows to train on between ${from} and ${until}${values.site === undefined ? '' : ` at ${values.site}`}`);
        windows.push(...own);
      }
    } else {
      if (values.site !== undefined) throw new UsageError("--site is for --from-influx: a CSV's rows carry no site");
      if (inputs.length > 1 && machineIds !== undefined) throw new UsageError('--machine names the machine of one --input; with several, each machine is its file name');
      if (machineIds !== undefined && new Set(machineIds).size > 1) throw new UsageError('--machine names the machine of one --input: several machines need an --input each');
      const recordings = (inputs.length > 0 ? inputs : [undefined]).map((input) => csvReplayOptions({ ...values, input, machine: machineIds?.[0] }));
      ({ windows, ...training } = await trainingWindowsFromCsvs(recordings, err, !askedMembers.includes('adaptive-z')));
    }
    let kind = askedKind;
    if (kind === undefined) {
      kind = defaultKind(training);
      err(`train: training the ${kind} detector (--kind to choose another)`);
    }

    let lastEpochLine = 0;
    const report = await trainModel(windows, {
      outDir: values.out,
      name: values.name,
      kind,
      epochs,
      seed,
      machines,
      stateSensor: values['state-sensor'],
      onlineThreshold: !values['fixed-threshold'],
      onProgress: (epoch, loss) => {
        if (Date.now() - lastEpochLine < 1000) return;
        lastEpochLine = Date.now();
        err(`train: epoch ${epoch} · loss ${loss.toFixed(5)}`);
      },
    });
    out(`model ${report.name} version ${report.version} (${report.kind}) written to ${report.dir}`);
    if (report.kind === 'combined') {
      out(`  ${report.members.map((m) => m.kind).join(' + ')}, combined by ${report.combine} of their scores in threshold multiples`);
      for (const member of report.members) {
        out(`  ${member.kind}: threshold ${member.threshold.toFixed(3)} · ${member.featureNames.length} features`);
        printMember(member, out);
      }
    } else printMember(report, out);
    if (machines) out(`  serves machines: ${machines.join(', ')}`);
    const t2 = t2Report(report);
    const trainedOn = [...new Set(windows.map((w) => w.machineId))];
    if (t2 !== undefined && trainedOn.length > 1) {
      const fewer = `fewer than ${MODEL_DEFAULTS.robustT2.minMachineWindows.toLocaleString('en')} non-overlapping windows`;
      const classLevel = trainedOn.filter((m) => !t2.ownLevels.includes(m));
      if (t2.ownLevels.length === 0) out(`  ${fewer} of each machine: every machine is compared with the class location, their differences part of the normal spread`);
      else if (classLevel.length > 0) out(`  ${fewer} of ${classLevel.join(', ')}: held when scored until each has as many of its own, whose level it then learns`);
    }
    const quorum = report.regime?.quorum;
    if (report.regime && quorum !== undefined) {
      const { sensors } = report.regime;
      out(`  running-state gate on ${sensors.length} sensors steady while running (${sensors.map((g) => g.sensor).join(', ')}): training never shows the machine stopped, so a stop is ${quorum} of them below a fifth of their running level at once; no step is held (--state-sensor NAME names the sensor that says whether it runs)`);
    } else {
      for (const g of report.regime?.sensors ?? []) {
        out(`  running-state gate on ${g.sensor}: stopped below ${g.runningAbove.toPrecision(4)}, a step above ${g.maxStep?.toPrecision(3)} is a transient`);
      }
    }
    // Without a gate every stop and start is scored.
    if (report.regime === null && report.kind !== 'adaptive-z') {
      out('  no running-state gate: training never shows the machine stopped and fewer than two sensors hold a steady level while running, so a stop or a start will be scored like any window (and may alert); name the sensor that reads near 0 when it stops with --state-sensor NAME');
    }
    out(`  features (${report.contract.featureNames.length}): ${report.contract.featureNames.join(', ')}`);
    const online = onlineKinds(report);
    if (online.length > 0 && values['fixed-threshold']) out('  threshold fixed for every machine');
    else if (report.kind === 'combined' && online.length > 0) out(`  threshold per machine: online for ${online.join(', ')}, each never below its trained one (--fixed-threshold to keep them fixed)`);
    else if (online.length > 0) out(`  threshold per machine: online, never below ${report.threshold.toFixed(3)} (--fixed-threshold to keep it fixed)`);
    out(`  threshold ${report.threshold.toFixed(3)} · window ${report.contract.windowMs} ms · feature_version ${report.contract.featureVersion}`);
    if (report.leftOutSensors.length > 0) {
      const shares = report.leftOutSensors.map((s) => `${s.sensor} (in ${Math.round(100 * s.share)} %)`).join(', ');
      out(`  sensors left out, in too few of the windows to be part of the model: ${shares}`);
    }
    const skipped = Object.entries(report.skipped).filter(([, n]) => n > 0);
    if (skipped.length > 0) out(`  skipped windows: ${skipped.map(([why, n]) => `${n} ${why}`).join(', ')}`);
    return 0;
  },
};

/** The kinds of a training report (the model's or its members') whose threshold follows each machine online unless --fixed-threshold. */
function onlineKinds(report: TrainReport): ModelKind[] {
  const kinds = report.kind === 'combined' ? report.members.map((m) => m.kind) : [report.kind];
  return kinds.filter((kind) => kind !== 'adaptive-z');
}

/** The robust-t2 part of a training report: the model itself or a combination's member (each machine's own level). */
function t2Report(report: TrainReport) {
  return report.kind === 'combined' ? report.members.find((m) => m.kind === 'robust-t2') : report.kind === 'robust-t2' ? report : undefined;
}

/** One machine's windows from InfluxDB, those inside alert episodes labelled fault or maintenance left out, each step said. */
async function labelledOut(influx: InfluxSource, query: InfluxWindowQuery & { machine: string }, err: (line: string) => void): Promise<MachineWindow[]> {
  const windows = await windowsFromInflux(influx, query);
  const at = query.site === undefined ? '' : ` at ${query.site}`;
  err(`train: ${windows.length} windows of ${query.machine}${at} from ${hidePassword(influx.url)}/${influx.database}`);
  const labelled = await withoutLabelledEpisodes(windows, influx, query.machine, systemClock);
  if (labelled.episodes > 0) err(`train: left out ${labelled.left} windows of ${query.machine} inside ${labelled.episodes} alert episode(s) labelled fault or maintenance (pdm alerts label)`);
  return labelled.kept;
}

/** A time constant as people read it: minutes below two hours, hours from there. */
function minutesOrHours(ms: number): string {
  const minutes = ms / 60_000;
  return minutes < 120 ? `${minutes.toFixed(1)} min` : `${(minutes / 60).toFixed(1)} h`;
}

/** Said of a covariance kind (robust-t2, pca) trained on too few windows for a joint covariance. */
const FEATURES_ALONE = `  too few windows to learn how the features vary together (fewer than ${MODEL_DEFAULTS.robustT2.minJointWindowsPerFeature} non-overlapping windows a feature): each is judged by its own spread; train on more to catch a change in how they move together`;

/** Said of a covariance kind (robust-t2, pca) whose features read exactly 0 in every training window. */
function zeroThroughout(features: readonly string[]): string {
  return `  warning: ${features.join(', ')} read 0 in every training window: any other value will score far above the threshold (train on data where they vary, or leave those columns out)`;
}

/** What training one detector family found. */
function printMember(report: MemberReport & { trainingWindows: number; heldBackWindows: number }, out: (line: string) => void): void {
  const { trainingWindows } = report;
  if (report.kind === 'autoencoder') {
    out(`  backend ${report.backend} · ${trainingWindows} training windows, ${report.heldBackWindows} held back for calibration`);
  } else if (report.kind === 'robust-t2') {
    out(`  ${trainingWindows} training windows, ${report.fit.inliers} consistent with the robust fit · ${report.fit.trainingAbove} above the threshold`);
    const { chiSquare, trainingTail } = report.fit;
    const tail = trainingTail === null || trainingTail === undefined ? 'too few windows for a tail' : `training scores' tail ${trainingTail.toFixed(3)}`;
    out(`  operating point: ${report.operatingPoint ?? 'none (no sensor explains the others)'} · χ² quantile ${chiSquare?.toFixed(3) ?? '?'}, ${tail}`);
    if (report.fit.featuresAlone) out(FEATURES_ALONE);
    const zero = report.fit.zeroThroughout ?? [];
    if (zero.length > 0) out(zeroThroughout(zero));
    const widened = Object.entries(report.fit.widened ?? {});
    if (widened.length > 0) {
      const factors = widened.map(([feature, factor]) => `${feature} ×${factor.toFixed(1)}`).join(', ');
      out(`  spread widened to what training showed (its scores' tail was heavier than χ²): ${factors} — a slow wander of normal operation is judged by that wander; if it was a fault, leave its windows out of training`);
    }
    if (report.ownLevels.length > 0) out(`  each compared with its own level: ${report.ownLevels.join(', ')} (any other machine: the class location)`);
    out(
      report.tauMs === null
        ? '  location fixed: training was long enough to describe the machine over hours'
        : `  slow baseline per machine, τ = ${minutesOrHours(report.tauMs)} (training was short): it follows the windows confirmed normal; after a gap it widens the threshold and learns the level again`,
    );
  } else if (report.kind === 'pca') {
    const { fit } = report;
    out(`  ${trainingWindows} training windows, ${fit.inliers} consistent with the robust fit · ${fit.trainingAbove} above the threshold`);
    out(`  ${report.components} of ${report.features} principal components (${(100 * fit.explained).toFixed(1)} % of the standardised variance) · T² limit ${report.t2Limit.toFixed(3)}, Q limit ${report.qLimit.toFixed(3)}: the score is the larger of T²/limit and Q/limit (Q's limit set for many training windows)`);
    if (fit.featuresAlone) out(FEATURES_ALONE);
    if (fit.fewWindows !== undefined) {
      const { independent, advised } = fit.fewWindows;
      out(`  warning: ${Math.floor(independent)} non-overlapping training windows, fewer than the ${advised} (${advised / report.features} a feature) the limits are set for: normal windows will exceed them more often than they promise; train on more`);
    }
    const zero = fit.zeroThroughout ?? [];
    if (zero.length > 0) out(zeroThroughout(zero));
  } else {
    const periods = report.periods.map((p) => (p > 0 ? `${p} windows` : 'none'));
    out(`  ${trainingWindows} training windows, every machine's starting history · period found: ${periods.join(', ')}`);
  }
}
