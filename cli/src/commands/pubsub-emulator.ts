import { EMULATOR_USAGE, runEmulatorCli } from '@pdm/pubsub-emulator';
import { delegate } from './delegate.js';

export const pubsubEmulator = delegate(EMULATOR_USAGE, runEmulatorCli);
