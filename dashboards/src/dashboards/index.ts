import { FLEET_OVERVIEW } from './fleet-overview.js';
import { MACHINE_DETAIL } from './machine-detail.js';
import { PIPELINE_HEALTH } from './pipeline-health.js';
import type { DashboardSpec } from './spec.js';

export type { DashboardSpec } from './spec.js';

/** Every dashboard this package provisions, in menu order. */
export const DASHBOARDS: readonly DashboardSpec[] = [FLEET_OVERVIEW, MACHINE_DETAIL, PIPELINE_HEALTH];
