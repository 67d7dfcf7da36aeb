// The autoencoder: a small dense network that learns to reconstruct normal feature vectors through a
// narrow bottleneck, so it captures how sensors move together (temperature follows load); a window whose
// features break those relations reconstructs badly. Tiny and L2-regularised because it trains on tens of
// windows; seeded initialisers, full-batch, unshuffled training make it deterministic.
import * as tf from '@tensorflow/tfjs';

export interface AutoencoderShape {
  inputs: number;
  hidden: number;
  bottleneck: number;
}

/** hidden ≈ d/2 and bottleneck ≈ d/4, kept within small bounds. */
export function shapeFor(inputs: number): AutoencoderShape {
  return {
    inputs,
    hidden: Math.min(16, Math.max(2, Math.ceil(inputs / 2))),
    bottleneck: Math.min(8, Math.max(1, Math.ceil(inputs / 4))),
  };
}

export function buildAutoencoder(shape: AutoencoderShape, seed: number, l2: number): tf.Sequential {
  let layerSeed = seed;
  const dense = (units: number, activation: 'tanh' | 'linear', inputShape?: number[]): tf.layers.Layer =>
    tf.layers.dense({
      units,
      activation,
      ...(inputShape ? { inputShape } : {}),
      kernelInitializer: tf.initializers.glorotUniform({ seed: layerSeed++ }),
      biasInitializer: 'zeros',
      kernelRegularizer: tf.regularizers.l2({ l2 }),
    });
  return tf.sequential({
    layers: [
      dense(shape.hidden, 'tanh', [shape.inputs]),
      dense(shape.bottleneck, 'linear'),
      dense(shape.hidden, 'tanh'),
      dense(shape.inputs, 'linear'),
    ],
  });
}

export interface FitOptions {
  epochs: number;
  learningRate: number;
  onProgress?: (epoch: number, loss: number) => void;
}

/** Trains on `x` (already normalised) to reproduce itself; returns the final training loss. */
export async function fitAutoencoder(model: tf.Sequential, x: tf.Tensor2D, options: FitOptions): Promise<number> {
  model.compile({ optimizer: tf.train.adam(options.learningRate), loss: 'meanSquaredError' });
  let last = NaN;
  await model.fit(x, x, {
    epochs: options.epochs,
    batchSize: x.shape[0],
    shuffle: false,
    verbose: 0,
    callbacks: {
      onEpochEnd: (epoch, logs) => {
        last = logs?.['loss'] ?? NaN;
        options.onProgress?.(epoch, last);
      },
    },
  });
  return last;
}
