import { PROCESSOR_USAGE, runProcessorCli } from '@pdm/cloud-processor';
import { delegate } from './delegate.js';

export const processor = delegate(PROCESSOR_USAGE, runProcessorCli);
