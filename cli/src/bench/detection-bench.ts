// `npm run bench -- detection`: `pdm benchmark skab` then `pdm benchmark nab` on the public datasets
// in ../shared/datasets next to the repository (they are never copied into it), each with the default
// detector and then with the autoencoder alone, the baseline measured in the same run (the null
// detector is in every table). Without that folder it says so and goes on: the datasets are an
// optional download, not part of the project. Then `pdm benchmark simulator`, which needs no dataset
// and measures the default, the autoencoder and the null detector in one run of its own.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { main } from '../main.js';

// dist/bench/detection-bench.js → dist/ → cli/ → the repository → its parent folder
const datasets = fileURLToPath(new URL('../../../../shared/datasets/', import.meta.url));

const runs: { title: string; command: string[] }[] = [];
for (const name of ['skab', 'nab']) {
  const dir = `${datasets}${name}`;
  if (!existsSync(dir)) {
    console.log(`${name}: ${dir} is not there, so this benchmark did not run (it reads the public dataset from there, never from the repository)`);
    continue;
  }
  const command = ['benchmark', name, '--data', dir];
  runs.push({ title: `${name.toUpperCase()}, default detector`, command }, { title: `${name.toUpperCase()}, baseline: the autoencoder alone`, command: [...command, '--kind', 'autoencoder'] });
}
runs.push({ title: 'SIMULATOR, default detector beside its baselines, the autoencoder alone and the null detector', command: ['benchmark', 'simulator'] });

let failed = 0;
for (const { title, command } of runs) {
  console.log(`\n### ${title} (pdm ${command.join(' ')})\n`);
  const started = performance.now();
  const code = await main(command);
  console.log(`\n${command[1]}: ${code === 0 ? 'done' : 'FAILED'} in ${((performance.now() - started) / 60_000).toFixed(1)} min`);
  if (code !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
