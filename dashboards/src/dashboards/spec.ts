// What every dashboard module provides, and the settings they share.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';

export interface DashboardSpec {
  /** Fixed: links between dashboards and bookmarks use it; also the JSON file name. */
  uid: string;
  title: string;
  build(): dashboard.Dashboard;
}

export const DASHBOARD_DEFAULTS = {
  tags: ['pdm'],
  /** Windows are seconds to minutes long; six hours shows a shift's trend at useful resolution. */
  time: { from: 'now-6h', to: 'now' },
  /** Scores arrive once per window; refreshing faster only loads InfluxDB. */
  refresh: '30s',
};
