import { afterAll, beforeAll, expect, it } from 'vitest';
import { activeBackend, switchBackend } from './backend.js';
import { scoreWindows } from '../scoring/score-windows.js';
import { openScorer } from '../scoring/scorer.js';
import { simulatePump } from '../test-support/synthetic-pump.js';
import { tempRegistry } from '../test-support/temp-registry.js';
import { trainModel } from '../training/train.js';
import { silentLogger } from './logger.js';

let registry: Awaited<ReturnType<typeof tempRegistry>>;
beforeAll(async () => (registry = await tempRegistry()));
afterAll(() => registry.cleanup());

it('selects wasm here (tfjs-node is not installed) and scores the same on the cpu backend', async () => {
  await trainModel(simulatePump({ seed: 2, windows: 30 }).windows, { outDir: registry.dir, name: 'pump', kind: 'autoencoder', epochs: 40 });
  const test = simulatePump({ seed: 3, windows: 20 }).windows;
  const scoresOn = async (): Promise<number[]> => {
    const scorer = await openScorer({ registryDir: registry.dir, maxDelayMs: 0, pollMs: 3_600_000 });
    try {
      expect(scorer.loaded()[0]?.backend).toBe(activeBackend());
      return (await scoreWindows(scorer, test)).map((o) => (o.kind === 'scored' ? o.score.score : NaN));
    } finally {
      await scorer.close();
    }
  };
  expect(activeBackend()).toBe('wasm');
  const wasm = await scoresOn();
  await switchBackend('cpu', silentLogger);
  try {
    const cpu = await scoresOn();
    expect(activeBackend()).toBe('cpu');
    // float32 kernels differ in summation order only: agreement to ~1e-5 relative.
    cpu.forEach((s, i) => expect(Math.abs(s - wasm[i]!) / wasm[i]!).toBeLessThan(1e-4));
  } finally {
    await switchBackend('wasm', silentLogger);
  }
});
