// Reads and writes a model folder in TF.js layers format. Plain @tensorflow/tfjs has no file:// handler
// in Node, so the artifacts are captured with withSaveHandler and written (and read back) here.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import {
  contractFileSchema,
  MODEL_FILES,
  modelJsonSchema,
  normalizationFileSchema,
  thresholdFileSchema,
} from './artifact-schemas.js';
import type { ContractFile, ThresholdFile } from './artifact-schemas.js';
import { layoutOf } from './features.js';
import type { ModelBundle } from './model-bundle.js';
import type { Normalization } from './normalization.js';

export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

export interface ModelFiles {
  network: tf.LayersModel;
  normalization: Normalization;
  threshold: ThresholdFile;
  contract: ContractFile;
}

/**
 * Writes the model into `dir`, which must not exist yet. Files go into a hidden sibling folder that is
 * renamed into place at the end, and contract.json is written last, so a registry poller never sees a
 * half-written version (an interrupted write leaves only a dot-folder, which the registry ignores).
 */
export async function writeModelFolder(dir: string, files: ModelFiles): Promise<void> {
  const staging = path.join(path.dirname(dir), `.${path.basename(dir)}.partial-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await files.network.save(
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
  await writeJson(path.join(staging, MODEL_FILES.normalization), files.normalization);
  await writeJson(path.join(staging, MODEL_FILES.threshold), files.threshold);
  await writeJson(path.join(staging, MODEL_FILES.contract), files.contract);
  try {
    await rename(staging, dir);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'ENOTEMPTY' || code === 'EEXIST' ? new Error(`${dir} already exists: a published model version is never overwritten`) : err;
  }
}

/** Loads and cross-checks a model folder; throws ModelLoadError naming the file and the problem. */
export async function readModelFolder(dir: string): Promise<ModelBundle> {
  const contract = await readJson(dir, MODEL_FILES.contract, contractFileSchema);
  const normalization = await readJson(dir, MODEL_FILES.normalization, normalizationFileSchema);
  const threshold = await readJson(dir, MODEL_FILES.threshold, thresholdFileSchema);
  const modelJson = await readJson(dir, MODEL_FILES.model, modelJsonSchema);
  const d = contract.featureNames.length;
  const lengths = [normalization.center.length, normalization.scale.length, normalization.logShift?.length ?? d];
  if (normalization.featureNames.join('\n') !== contract.featureNames.join('\n') || lengths.some((n) => n !== d)) {
    throw new ModelLoadError(`${path.join(dir, MODEL_FILES.normalization)}: features differ from contract.json`);
  }
  let layout;
  try {
    layout = layoutOf(contract);
  } catch (err) {
    throw new ModelLoadError(`${path.join(dir, MODEL_FILES.contract)}: ${(err as Error).message}`);
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
  return { info: contract, layout, normalization, threshold, network };
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
