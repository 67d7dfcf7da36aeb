// Reads and writes a model folder: contract.json plus the artifacts of the model's kind. The autoencoder
// is stored in TF.js layers format; plain @tensorflow/tfjs has no file:// handler in Node, so its
// artifacts are captured with withSaveHandler and written (and read back) here.
import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import {
  adaptiveZFileSchema,
  contractFileSchema,
  MODEL_FILES,
  modelJsonSchema,
  normalizationFileSchema,
  pcaFileSchema,
  robustT2FileSchema,
  thresholdFileSchema,
} from './artifact-schemas.js';
import type { AdaptiveZFile, ContractFile, PcaFile, RobustT2File, ThresholdFile } from './artifact-schemas.js';
import { featureProfileFileSchema, type FeatureProfileFile } from './feature-profile.js';
import { layoutOf, type FeatureLayout } from './features.js';
import { disposeBundle, type AdaptiveZBundle, type AutoencoderBundle, type CombinedBundle, type MemberBundle, type ModelBundle, type PcaBundle, type RobustT2Bundle } from './model-bundle.js';
import { pcaModelOf } from './pca.js';
import type { Normalization } from './normalization.js';

export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

/** The artifacts of one detector family. Their file names differ by kind, so a combined model's members sit side by side. */
export type MemberFiles =
  | { kind: 'autoencoder'; network: tf.LayersModel; normalization: Normalization; threshold: ThresholdFile }
  | { kind: 'robust-t2'; robustT2: RobustT2File }
  | { kind: 'adaptive-z'; adaptiveZ: AdaptiveZFile }
  | { kind: 'pca'; pca: PcaFile };

export type ModelFiles = (MemberFiles | { kind: 'combined'; members: MemberFiles[] }) & { contract: ContractFile; profile?: FeatureProfileFile };

/**
 * Writes the model into `dir`, which must not exist yet. Files go into a hidden sibling folder that is
 * renamed into place at the end, and contract.json is written last, so a registry poller never sees a
 * half-written version (an interrupted write leaves only a dot-folder, which the registry ignores, and
 * which a later write of the model removes once it is stale: removeStaleStaging).
 * The staging folder is new and its name random (mkdtemp), not the pid: two trainings on one shared
 * registry (containers all run as pid 1) must never write into, or remove, each other's folder.
 */
export async function writeModelFolder(dir: string, files: ModelFiles): Promise<void> {
  if (files.contract.kind !== files.kind) throw new Error(`contract.json says ${files.contract.kind} but the artifacts are a ${files.kind}'s`);
  if (files.kind === 'combined') {
    const kinds = files.members.map((m) => m.kind).join(', ');
    if (files.contract.members?.map((m) => m.kind).join(', ') !== kinds) throw new Error(`contract.json's members differ from the artifacts' (${kinds})`);
  }
  await mkdir(path.dirname(dir), { recursive: true });
  await removeStaleStaging(path.dirname(dir));
  const staging = await mkdtemp(path.join(path.dirname(dir), `.${path.basename(dir)}.partial-`));
  try {
    for (const member of files.kind === 'combined' ? files.members : [files]) await writeMemberFiles(staging, member);
    if (files.profile !== undefined) await writeJson(path.join(staging, MODEL_FILES.featureProfile), files.profile);
    await writeJson(path.join(staging, MODEL_FILES.contract), files.contract);
    await rename(staging, dir);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'ENOTEMPTY' || code === 'EEXIST' ? new Error(`${dir} already exists: a published model version is never overwritten`) : err;
  }
}

/**
 * How long a staging folder must have been left untouched before a later write of the same model takes
 * it for the leftover of a killed write (SIGKILL, OOM, power loss: the catch above never ran). An age,
 * not a pid or a lock: pids repeat across the containers and hosts sharing a registry volume (all pid
 * 1), and a lock file would be left behind by the same kill. A live write never leaves its folder
 * untouched for more than seconds (it starts once the model is fitted and writes a handful of files), so
 * an hour leaves a wide margin, for clock skew between hosts on a network volume too.
 */
export const STALE_STAGING_MS = 60 * 60 * 1000;
/** Staging folders of any version of the model (`.<version>.partial-<random>`), and ones a removal left half-done. */
const STAGING = /^\..+\.partial-/;
const REMOVING = '.removing';

/**
 * Removes the model's staging folders untouched for STALE_STAGING_MS. Best effort: one that cannot be
 * removed (gone already because another write removed it, another user's on a shared volume) stays for
 * a later write, and does no harm meanwhile, as the registry skips dot-folders.
 */
async function removeStaleStaging(modelDir: string): Promise<void> {
  const entries = await readdir(modelDir, { withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isDirectory() || !STAGING.test(entry.name)) continue;
    const folder = path.join(modelDir, entry.name);
    try {
      if (Date.now() - (await lastTouchedMs(folder)) < STALE_STAGING_MS) continue;
      // Renamed away before anything in it is removed: a writer that was only paused past the bound
      // (SIGSTOP, a suspended VM) then fails on its next file or on its publishing rename, instead of
      // publishing a folder emptied under it.
      const doomed = entry.name.endsWith(REMOVING) ? folder : `${folder}${REMOVING}`;
      if (doomed !== folder) await rename(folder, doomed);
      await rm(doomed, { recursive: true, force: true });
    } catch {
      // Left for a later write (see above).
    }
  }
}

/** The newest mtime of a staging folder and its files: a file still being written keeps its folder live. */
async function lastTouchedMs(folder: string): Promise<number> {
  const paths = [folder, ...(await readdir(folder)).map((name) => path.join(folder, name))];
  return Math.max(...(await Promise.all(paths.map(async (p) => (await lstat(p)).mtimeMs))));
}

async function writeMemberFiles(staging: string, files: MemberFiles): Promise<void> {
  if (files.kind === 'autoencoder') await writeAutoencoder(staging, files.network, files.normalization, files.threshold);
  else if (files.kind === 'robust-t2') await writeJson(path.join(staging, MODEL_FILES.robustT2), files.robustT2);
  else if (files.kind === 'pca') await writeJson(path.join(staging, MODEL_FILES.pca), files.pca);
  else await writeJson(path.join(staging, MODEL_FILES.adaptiveZ), files.adaptiveZ);
}

async function writeAutoencoder(staging: string, network: tf.LayersModel, normalization: Normalization, threshold: ThresholdFile): Promise<void> {
  await network.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [MODEL_FILES.weights], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFile(path.join(staging, MODEL_FILES.model), JSON.stringify(modelJson));
      await writeFile(path.join(staging, MODEL_FILES.weights), new Uint8Array(weights));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
    }),
  );
  await writeJson(path.join(staging, MODEL_FILES.normalization), normalization);
  await writeJson(path.join(staging, MODEL_FILES.threshold), threshold);
}

/** Loads and cross-checks a model folder; throws ModelLoadError naming the file and the problem. */
export async function readModelFolder(dir: string): Promise<ModelBundle> {
  const contract = await readJson(dir, MODEL_FILES.contract, contractFileSchema);
  let layout;
  try {
    layout = layoutOf(contract);
  } catch (err) {
    throw new ModelLoadError(`${path.join(dir, MODEL_FILES.contract)}: ${(err as Error).message}`);
  }
  const profile = await readFeatureProfile(dir, contract);
  const bundle = await readKindFiles(dir, contract, layout);
  return profile === undefined ? bundle : { ...bundle, profile };
}

/** The artifacts of the contract's kind. */
function readKindFiles(dir: string, contract: ContractFile, layout: FeatureLayout): Promise<ModelBundle> {
  switch (contract.kind) {
    case 'autoencoder':
      return readAutoencoder(dir, contract, layout);
    case 'robust-t2':
      return readRobustT2(dir, contract, layout);
    case 'adaptive-z':
      return readAdaptiveZ(dir, contract, layout);
    case 'pca':
      return readPca(dir, contract, layout);
    case 'combined':
      return readCombined(dir, contract, layout);
  }
}

/**
 * Each member's artifacts, read against a contract of its own (the combined one with the member's kind and
 * features) and mapped onto the combined model's features and sensors. A member naming a feature the
 * contract lacks is refused.
 */
async function readCombined(dir: string, contract: ContractFile, layout: FeatureLayout): Promise<CombinedBundle> {
  const members: CombinedBundle['members'] = [];
  try {
    for (const { kind, featureNames } of contract.members ?? []) {
      const features = Int32Array.from(featureNames, (name) => contract.featureNames.indexOf(name));
      const unknown = featureNames.find((_, j) => features[j]! < 0);
      if (unknown !== undefined) throw new ModelLoadError(`${path.join(dir, MODEL_FILES.contract)}: member ${kind} reads ${unknown}, which is not among featureNames`);
      const info: ContractFile = { ...contract, kind, featureNames };
      delete info.members;
      delete info.combine;
      const memberLayout = layoutOf(info);
      const bundle = (await readKindFiles(dir, info, memberLayout)) as MemberBundle;
      members.push({ bundle, features, sensors: Int32Array.from(memberLayout.sensors, (id) => layout.sensors.indexOf(id)) });
    }
  } catch (err) {
    for (const member of members) disposeBundle(member.bundle);
    throw err;
  }
  return { kind: 'combined', info: contract, layout, combine: contract.combine ?? 'max', members };
}

async function readAutoencoder(dir: string, contract: ContractFile, layout: FeatureLayout): Promise<AutoencoderBundle> {
  const normalization = await readJson(dir, MODEL_FILES.normalization, normalizationFileSchema);
  const threshold = await readJson(dir, MODEL_FILES.threshold, thresholdFileSchema);
  const modelJson = await readJson(dir, MODEL_FILES.model, modelJsonSchema);
  const d = contract.featureNames.length;
  const lengths = [normalization.center.length, normalization.scale.length, normalization.logShift?.length ?? d];
  if (normalization.featureNames.join('\n') !== contract.featureNames.join('\n') || lengths.some((n) => n !== d)) {
    throw new ModelLoadError(`${path.join(dir, MODEL_FILES.normalization)}: features differ from contract.json`);
  }
  const weightsPath = path.join(dir, MODEL_FILES.weights);
  const weights = await readFile(weightsPath).catch((err: unknown) => {
    throw new ModelLoadError(`${weightsPath}: ${(err as Error).message}`);
  });
  let network: tf.LayersModel;
  try {
    network = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: modelJson.weightsManifest[0]!.weights as tf.io.WeightsManifestEntry[],
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      }),
    );
  } catch (err) {
    throw new ModelLoadError(`${path.join(dir, MODEL_FILES.model)}: ${(err as Error).message}`);
  }
  const shape = network.inputs[0]?.shape;
  if (shape?.[1] !== d || network.outputs[0]?.shape[1] !== d) {
    network.dispose();
    throw new ModelLoadError(`${path.join(dir, MODEL_FILES.model)}: network maps ${String(shape?.[1])} inputs, contract has ${d} features`);
  }
  return { kind: 'autoencoder', info: contract, layout, normalization, threshold, network };
}

async function readRobustT2(dir: string, contract: ContractFile, layout: FeatureLayout): Promise<RobustT2Bundle> {
  const file = await readJson(dir, MODEL_FILES.robustT2, robustT2FileSchema);
  const d = contract.featureNames.length;
  const square = file.precision.length === d && file.precision.every((row) => row.length === d);
  if (file.featureNames.join('\n') !== contract.featureNames.join('\n') || file.location.length !== d || !square) {
    throw new ModelLoadError(`${path.join(dir, MODEL_FILES.robustT2)}: features, location or precision (${d} × ${d}) differ from contract.json`);
  }
  const op = file.operatingPoint;
  const feature = op === undefined ? -1 : file.featureNames.indexOf(op.feature);
  if (op !== undefined && (feature < 0 || op.slope.length !== d || op.curve.length !== d)) {
    throw new ModelLoadError(`${path.join(dir, MODEL_FILES.robustT2)}: operatingPoint names a feature or has coefficients that differ from contract.json`);
  }
  const operatingPoint = op === undefined ? null : { ...op, feature, slope: Float64Array.from(op.slope), curve: Float64Array.from(op.curve) };
  const offsets = Object.entries(file.machineOffsets ?? {});
  const wrong = offsets.find(([, offset]) => offset.length !== d);
  if (wrong !== undefined) throw new ModelLoadError(`${path.join(dir, MODEL_FILES.robustT2)}: machineOffsets["${wrong[0]}"] has ${wrong[1].length} values, contract.json has ${d} features`);
  const machineOffsets = new Map(offsets.map(([machine, offset]) => [machine, Float64Array.from(offset)]));
  const model = { d, location: Float64Array.from(file.location), precision: Float64Array.from(file.precision.flat()), threshold: file.threshold, tauMs: file.tauMs, operatingPoint, machineOffsets, ...(file.onlineThreshold ? { onlineThreshold: file.onlineThreshold } : {}) };
  return { kind: 'robust-t2', info: contract, layout, model };
}

async function readAdaptiveZ(dir: string, contract: ContractFile, layout: FeatureLayout): Promise<AdaptiveZBundle> {
  const file = await readJson(dir, MODEL_FILES.adaptiveZ, adaptiveZFileSchema);
  if (file.featureNames.join('\n') !== contract.featureNames.join('\n') || file.features.length !== contract.featureNames.length) {
    throw new ModelLoadError(`${path.join(dir, MODEL_FILES.adaptiveZ)}: features differ from contract.json`);
  }
  const { shortWindows, historyWindows, threshold, historyEnd } = file;
  const features = file.features.map(({ period, history }) => ({ period, history: history.map((v) => v ?? Number.NaN) }));
  return { kind: 'adaptive-z', info: contract, layout, model: { features, shortWindows, historyWindows, threshold, ...(historyEnd !== undefined ? { historyEnd } : {}) } };
}

async function readPca(dir: string, contract: ContractFile, layout: FeatureLayout): Promise<PcaBundle> {
  const file = await readJson(dir, MODEL_FILES.pca, pcaFileSchema);
  const d = contract.featureNames.length;
  const lengths = [file.location.length, file.scale.length, file.eigenvalues.length, ...file.components.map((c) => c.length)];
  if (file.featureNames.join('\n') !== contract.featureNames.join('\n') || lengths.some((n) => n !== d)) {
    throw new ModelLoadError(`${path.join(dir, MODEL_FILES.pca)}: features, location, scale, eigenvalues or components (of ${d}) differ from contract.json`);
  }
  return { kind: 'pca', info: contract, layout, model: pcaModelOf(file) };
}

/** feature-profile.json if the folder has one (older models do not: they report no drift). */
async function readFeatureProfile(dir: string, contract: ContractFile): Promise<FeatureProfileFile | undefined> {
  const file = path.join(dir, MODEL_FILES.featureProfile);
  if (!(await stat(file).then((s) => s.isFile(), () => false))) return undefined;
  const profile = await readJson(dir, MODEL_FILES.featureProfile, featureProfileFileSchema);
  if (profile.featureNames.join('\n') !== contract.featureNames.join('\n')) throw new ModelLoadError(`${file}: features differ from contract.json`);
  return profile;
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFile(file, JSON.stringify(value, null, 2) + '\n');
}

async function readJson<S extends z.ZodType>(dir: string, name: string, schema: S): Promise<z.infer<S>> {
  const file = path.join(dir, name);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ModelLoadError(`${file}: ${(err as Error).message}`);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ModelLoadError(`${file}: ${issue?.path.join('.') || '(root)'} ${issue?.message ?? 'is invalid'}`);
  }
  return result.data;
}
