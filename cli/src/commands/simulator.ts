import { EVALUATE_USAGE, SIMULATE_USAGE, runEvaluateCli, runSimulateCli } from '@pdm/simulator';
import { delegate } from './delegate.js';

export const simulate = delegate(SIMULATE_USAGE, (argv, io) => runSimulateCli(argv, io));
export const evaluate = delegate(EVALUATE_USAGE, runEvaluateCli);
