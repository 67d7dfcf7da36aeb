// One vitest configuration for every package; each package runs `vitest run --config ../vitest.shared.ts`
// from its own folder. Workspace packages resolve to their TypeScript sources through the
// "@pdm/source" export condition, so tests never need a prior build.
import { defineConfig } from 'vitest/config';

export const sourceCondition = '@pdm/source';

export default defineConfig({
  root: process.cwd(),
  resolve: { conditions: [sourceCondition] },
  ssr: { resolve: { conditions: [sourceCondition] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    // Tests that start real services (influxd, brokers) need more than the 5 s default.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.reports/vitest.json' },
  },
});
