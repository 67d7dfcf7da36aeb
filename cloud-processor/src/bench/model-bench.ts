// Benchmark: machine-windows per second through a batched Scorer, for every model kind, against feature
// extraction alone on the same windows in the same run. Trains a small model of each kind into a temp
// registry first (~2 s).
// Run: npm run bench:model -w @pdm/cloud-processor (after build), or node dist/bench/model-bench.js.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MODEL_KINDS } from '../model/artifact-schemas.js';
import { extractFeatures, layoutOf } from '../model/features.js';
import { scoreWindows } from '../scoring/score-windows.js';
import { openScorer } from '../scoring/scorer.js';
import { simulatePump } from '../test-support/synthetic-pump.js';
import { deriveContract } from '../training/derive-contract.js';
import { trainModel } from '../training/train.js';

const WINDOWS = 50_000;
const ROUNDS = 3;

async function main(): Promise<void> {
  const train = simulatePump({ seed: 1, windows: 60 }).windows;
  const windows = simulatePump({ seed: 2, windows: WINDOWS }).windows;
  const layout = layoutOf(deriveContract(train).contract);
  const row = new Float64Array(layout.reads.length);
  const extractRate = best(() => {
    for (const w of windows) extractFeatures(w, layout, row, 0);
  });
  console.log(`batch 256, ${WINDOWS} windows, best of ${ROUNDS}`);
  console.log(`feature extraction alone: ${Math.round(extractRate).toLocaleString('en')} windows/s`);
  for (const kind of MODEL_KINDS) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pdm-model-bench-'));
    try {
      const report = await trainModel(train, { outDir: dir, name: 'pump', kind, epochs: 100 });
      const scorer = await openScorer({ registryDir: dir, maxBatch: 256, maxDelayMs: 0, pollMs: 3_600_000 });
      let scoreRate = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const t0 = performance.now();
        const outcomes = await scoreWindows(scorer, windows);
        scoreRate = Math.max(scoreRate, windows.length / ((performance.now() - t0) / 1000));
        if (outcomes.some((o) => o.kind !== 'scored')) throw new Error('bench windows must all be scored');
      }
      const backend = scorer.loaded()[0]?.backend;
      await scorer.close();
      const rate = `${Math.round(scoreRate).toLocaleString('en')} windows/s (${((scoreRate / extractRate) * 100).toFixed(1)}% of extraction)`;
      console.log(`batched Scorer, ${kind} (${report.contract.featureNames.length} features${kind === 'autoencoder' ? `, backend ${backend}` : ''}): ${rate}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

function best(run: () => void): number {
  let rate = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    run();
    rate = Math.max(rate, WINDOWS / ((performance.now() - t0) / 1000));
  }
  return rate;
}

await main();
