import { GATEWAY_USAGE, runGatewayCli } from '@pdm/edge-gateway';
import { delegate } from './delegate.js';

export const gateway = delegate(GATEWAY_USAGE, runGatewayCli);
