// `npm run test:faults`: the fault suite (src/faults/*.faults.ts). Each file starts real services
// (influxd, the Pub/Sub emulator, gateways and processors, some as child processes it kills), so
// files run one at a time with generous timeouts. Kept out of `npm test` by its file suffix.
// (A .mjs file: ESLint's type-aware project service only admits root-level .ts config files.)
import { defineConfig } from 'vitest/config';
import nest from '../vitest.nest.js';

export default defineConfig({
  ...nest,
  test: {
    ...nest.test,
    include: ['src/faults/**/*.faults.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 180_000,
    outputFile: { json: '.reports/vitest-faults.json' },
  },
});
