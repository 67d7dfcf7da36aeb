// Typed pieces of InfluxQL statements. Field and tag names are checked at compile time against SERIES,
// the processor's declaration of what it writes, so a renamed or misspelt field fails the typecheck
// instead of drawing an empty panel.
import { CONTRIBUTION_FIELD_PREFIX, REJECTED_FIELD_PREFIX, SERIES, type FieldOf, type Measurement, type TagOf } from '@pdm/cloud-processor/influx-series';

/** Grafana replaces this with `time >= <from>ms and time <= <to>ms`. */
export const TIME_FILTER = '$timeFilter';
/** Grafana's automatic interval (panel width and time range, never below the datasource's minimum). */
export const INTERVAL = '$__interval';
export const INTERVAL_MS = '$__interval_ms';

/** Grafana's end of the time range as epoch ms (a global variable, interpolated in every query). */
export const RANGE_END_MS = '${__to}';

/**
 * `time > <end of range> - <ms>`: the points of the last `ms` of the time range, e.g. to count only the
 * instances that still report at its end (with $timeFilter, which keeps a range shorter than that whole).
 */
export const lastOfRange = (ms: number) => `time > ${RANGE_END_MS}ms - ${ms}ms`;

/**
 * `time <= <end of range>`, no start: for a state written only when it changes (an alert opening or
 * resolving), whose value at the end of the range is its latest change up to there, however long
 * before the range. The raw retention policy (the database's default, which holds those points) bounds
 * the look back: nothing older exists, and a longer retention than the default 30 days is followed.
 */
export const UNTIL_RANGE_END = `time <= ${RANGE_END_MS}ms`;

/** InfluxQL regex selecting every per-sensor contribution field of `anomaly`. */
export const CONTRIBUTION_FIELDS = `/^${CONTRIBUTION_FIELD_PREFIX}/`;

/** InfluxQL regex selecting every per-reason reject total of the gateways' `pipeline` points. */
export const REJECTED_FIELDS = `/^${REJECTED_FIELD_PREFIX}/`;

const quote = (identifier: string) => `"${identifier.replace(/"/g, '\\"')}"`;

/** What a panel does where an interval holds no point: a gap (null) or, for event counts, zero. */
export type Fill = 'null' | '0' | 'none' | 'previous';

export function groupByTime(fill: Fill, ...tags: string[]): string {
  return `GROUP BY ${[`time(${INTERVAL})`, ...tags].join(', ')} fill(${fill})`;
}

export interface MeasurementRef<M extends Measurement> {
  /** `FROM` target: the quoted measurement name. */
  readonly from: string;
  /** A quoted field name of this measurement. */
  field(name: FieldOf<M>): string;
  /** A quoted tag name of this measurement. */
  tag(name: TagOf<M>): string;
  /**
   * `"tag" =~ /^$variable$/`: Grafana interpolates a variable inside a regex as the escaped value, or
   * `(a|b)` for several values / All, so one form serves single and multi-value variables.
   */
  matches(name: TagOf<M>, variable?: string): string;
  /** The same for a string field: InfluxQL matches its value with a regex in WHERE (it cannot GROUP BY it). */
  fieldMatches(name: FieldOf<M>, variable?: string): string;
  /** `"tag" = 'value'`: a fixed condition on one of our own constants, e.g. a `pipeline` component. */
  equals(name: TagOf<M>, value: string): string;
}

export function measurement<M extends Measurement>(name: M): MeasurementRef<M> {
  const known = (kind: 'fields' | 'tags', value: string) => {
    // The types already restrict names; this guards the untyped callers (tests, string casts).
    if (!(SERIES[name][kind] as readonly string[]).includes(value)) throw new Error(`"${value}" is not one of the ${kind} of ${name}`);
    return quote(value);
  };
  return {
    from: quote(name),
    field: (field) => known('fields', field),
    tag: (tag) => known('tags', tag),
    matches: (tag, variable = tag) => `${known('tags', tag)} =~ /^$${variable}$/`,
    fieldMatches: (field, variable = field) => `${known('fields', field)} =~ /^$${variable}$/`,
    equals: (tag, value) => `${known('tags', tag)} = '${value}'`,
  };
}

/** The measurements that name a machine (tag `machine`), all of them also its site. */
export type MachineMeasurement = { [M in Measurement]: 'machine' extends TagOf<M> ? M : never }[Measurement];

/**
 * `"site" =~ /^$site$/ AND "machine" =~ /^$machine$/`: the dashboard's selected machines. A machine id
 * is unique only within its site (pump-1 at two plants), so no query selects a machine without its
 * site. `alerts` carries the site as a field, not a tag, and is matched on that field.
 */
export function selectedMachines(name: MachineMeasurement): string {
  const m: MeasurementRef<MachineMeasurement> = measurement(name);
  const site = (SERIES[name].tags as readonly string[]).includes('site') ? m.matches('site') : m.fieldMatches('site');
  return `${site} AND ${m.matches('machine')}`;
}

/**
 * `SHOW TAG VALUES` for a template variable, optionally narrowed by other variables (named like their
 * tags) and by fixed tag values.
 */
export function showTagValues<M extends Measurement>(from: M, key: TagOf<M>, narrowedBy: TagOf<M>[] = [], fixed: Partial<Record<TagOf<M>, string>> = {}): string {
  const m = measurement(from);
  const conditions = [
    ...Object.entries(fixed).map(([tag, value]) => m.equals(tag as TagOf<M>, value as string)),
    ...narrowedBy.map((tag) => m.matches(tag)),
  ];
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  return `SHOW TAG VALUES FROM ${m.from} WITH KEY = ${m.tag(key)}${where}`;
}
