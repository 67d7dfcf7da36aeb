// A Grafana InfluxDB (InfluxQL) target for the foundation SDK, which ships no InfluxDB query type.
// It follows Grafana's InfluxDB query model for raw InfluxQL: { refId, query, rawQuery: true,
// resultFormat, datasource, alias }, plus the column mapping its annotation editor reads.
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import { INFLUX_DATASOURCE } from './datasource.js';

export type InfluxResultFormat = 'time_series' | 'table';

export interface InfluxQuery extends cog.Dataquery {
  refId: string;
  /** Raw InfluxQL, with Grafana macros ($timeFilter, $__interval) and template variables. */
  query: string;
  rawQuery: true;
  resultFormat: InfluxResultFormat;
  datasource: DataSourceRef;
  /** Series name pattern, e.g. `$tag_machine` or `$col`. */
  alias?: string;
  hide?: boolean;
  /** Annotation queries only: which columns hold the event text, title and tags. */
  textColumn?: string;
  titleColumn?: string;
  tagsColumn?: string;
}

export class InfluxQueryBuilder implements cog.Builder<cog.Dataquery> {
  private readonly internal: InfluxQuery;

  constructor(query: string) {
    this.internal = {
      refId: 'A',
      query,
      rawQuery: true,
      resultFormat: 'time_series',
      datasource: INFLUX_DATASOURCE,
      // Marks this as a dataquery variant for the SDK's types; a function, so JSON leaves it out.
      _implementsDataqueryVariant() {},
    };
  }

  build(): InfluxQuery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  format(resultFormat: InfluxResultFormat): this {
    this.internal.resultFormat = resultFormat;
    return this;
  }

  alias(alias: string): this {
    this.internal.alias = alias;
    return this;
  }

  datasource(datasource: DataSourceRef): this {
    this.internal.datasource = datasource;
    return this;
  }

  hide(hide: boolean): this {
    this.internal.hide = hide;
    return this;
  }

  annotationColumns(columns: { text: string; title?: string; tags?: string }): this {
    this.internal.textColumn = columns.text;
    if (columns.title !== undefined) this.internal.titleColumn = columns.title;
    if (columns.tags !== undefined) this.internal.tagsColumn = columns.tags;
    return this;
  }
}

/** Shorthand: `influx('SELECT …').refId('B')`. */
export const influx = (query: string) => new InfluxQueryBuilder(query);
