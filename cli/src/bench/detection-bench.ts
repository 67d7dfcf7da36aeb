// `npm run bench -- detection`: `pdm benchmark skab` then `pdm benchmark nab` on the public datasets
// in ../shared/datasets next to the repository (they are never copied into it), each with the default
// detector and then with the autoencoder alone, the baseline measured in the same run (the null
// detector is in every table). Without that folder it says so and succeeds: the datasets are an
// optional download, not part of the project.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { main } from '../main.js';

// dist/bench/detection-bench.js → dist/ → cli/ → the repository → its parent folder
const datasets = fileURLToPath(new URL('../../../../shared/datasets/', import.meta.url));
const runs = [
  { name: 'skab', dir: `${datasets}skab` },
  { name: 'nab', dir: `${datasets}nab` },
];
const detectors = [[], ['--kind', 'autoencoder']];

let failed = 0;
for (const { name, dir } of runs) {
  if (!existsSync(dir)) {
    console.log(`${name}: ${dir} is not there, so this benchmark did not run (it reads the public dataset from there, never from the repository)`);
    continue;
  }
  for (const flags of detectors) {
    const command = ['benchmark', name, '--data', dir, ...flags];
    console.log(`\n### ${name.toUpperCase()}, ${flags.length === 0 ? 'default detector' : 'baseline: the autoencoder alone'} (pdm ${command.join(' ')})\n`);
    const started = performance.now();
    const code = await main(command);
    console.log(`\n${name}: ${code === 0 ? 'done' : 'FAILED'} in ${((performance.now() - started) / 60_000).toFixed(1)} min`);
    if (code !== 0) failed++;
  }
}
process.exitCode = failed > 0 ? 1 : 0;
