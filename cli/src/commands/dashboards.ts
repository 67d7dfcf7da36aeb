import { DASHBOARDS_USAGE, runDashboardsCli } from '@pdm/dashboards';
import { delegate } from './delegate.js';

export const dashboards = delegate(DASHBOARDS_USAGE, runDashboardsCli);
