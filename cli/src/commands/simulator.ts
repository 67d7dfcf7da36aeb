import { SIMULATE_USAGE, runSimulateCli } from '@pdm/simulator';
import { delegate } from './delegate.js';

export const simulate = delegate(SIMULATE_USAGE, (argv, io) => runSimulateCli(argv, io));
