// A window's feature lines and a score's anomaly line, written straight from the decoded window as line
// protocol: the sink's hot path (six points per window). Going through point objects (points.ts, then
// line-protocol.ts pointLine) allocated a fields object and a dozen short strings per point, and
// collecting that garbage was a quarter of the processor's CPU with the sink (issue #17 profile).
// The lines are those of featurePoints/anomalyPoint written by pointLine, byte for byte
// (window-lines.test.ts checks both ways): same measurement, tags in the same order, fields in the same
// order, numbers as floats, non-finite statistics left out and counted.
// Tags in sorted key order (byte order, as Go's bytes.Compare), as the line protocol reference asks
// "for best performance": InfluxDB keys a series by its sorted tags, and sorts and copies the key of
// every line whose tags are not (models/points.go, scanKey).
import { SENSOR_STAT_ENTRIES, type MachineWindow } from '@pdm/proto';
import type { WindowScore } from '../model/api.js';
import { CONTRIBUTION_FIELD_PREFIX, type FieldOf, type Measurement, type TagOf } from './influx-series.js';
import { escapeString, escapeTag } from './line-protocol.js';

/** Lines of line protocol (no newlines), and how many non-finite fields were left out. */
export interface BuiltLines {
  lines: string[];
  droppedFields: number;
}

const FEATURES = 'sensor_features' satisfies Measurement;
const FEATURE_TAGS = ['gateway', 'machine', 'sensor', 'site'] as const satisfies readonly TagOf<'sensor_features'>[];
/** `<name>=` of every statistic, in schema order, escaped once. */
const STAT_KEYS = SENSOR_STAT_ENTRIES.map(([name, key]) => ({ key, prefix: `${escapeTag(name satisfies FieldOf<'sensor_features'>)}=` }));
const WINDOW_FIELDS = ['revision', 'feature_version', 'window_ms'] as const satisfies readonly FieldOf<'sensor_features'>[];
const ANOMALY_FIELDS = ['score', 'threshold', 'is_anomaly', 'model_version'] as const satisfies readonly FieldOf<'anomaly'>[];
const ANOMALY_TAGS = ['machine', 'model', 'site'] as const satisfies readonly TagOf<'anomaly'>[];

/** One `sensor_features` line per sensor of the window. */
export function featureLines(window: MachineWindow): BuiltLines {
  // Everything but the sensor tag and the statistics is the same on every line of the window.
  const head = `${FEATURES},${FEATURE_TAGS[0]}=${escapeTag(window.gatewayId)},${FEATURE_TAGS[1]}=${escapeTag(window.machineId)},${FEATURE_TAGS[2]}=`;
  const site = `,${FEATURE_TAGS[3]}=${escapeTag(window.siteId)} `;
  const tail = `${WINDOW_FIELDS[0]}=${window.revision},${WINDOW_FIELDS[1]}=${window.featureVersion},${WINDOW_FIELDS[2]}=${Number(window.windowEnd - window.windowStart)} ${Number(window.windowStart)}`;
  const lines: string[] = [];
  let droppedFields = 0;
  for (const sensor of window.sensors) {
    let line = `${head}${escapeTag(sensor.sensorId)}${site}`;
    for (const { key, prefix } of STAT_KEYS) {
      const value = sensor[key];
      if (Number.isFinite(value)) line += `${prefix}${value},`;
      else droppedFields++;
    }
    lines.push(line + tail);
  }
  return { lines, droppedFields };
}

/** A window's score as one line: in `anomaly` from the serving version, in `anomaly_shadow` from a shadow one. */
export function anomalyLine(score: WindowScore, measurement: 'anomaly' | 'anomaly_shadow' = 'anomaly'): BuiltLines {
  const tags = [score.machineId, score.model, score.siteId];
  let line = measurement;
  for (let i = 0; i < tags.length; i++) line += `,${ANOMALY_TAGS[i]}=${escapeTag(tags[i]!)}`;
  let droppedFields = 0;
  let fields = '';
  const number = (name: string, value: number) => {
    if (Number.isFinite(value)) fields += `,${name}=${value}`;
    else droppedFields++;
  };
  number(ANOMALY_FIELDS[0], score.score);
  number(ANOMALY_FIELDS[1], score.threshold);
  fields += `,${ANOMALY_FIELDS[2]}=${score.isAnomaly},${ANOMALY_FIELDS[3]}="${escapeString(score.modelVersion)}"`;
  for (const sensor in score.contributions) number(escapeTag(`${CONTRIBUTION_FIELD_PREFIX}${sensor}`), score.contributions[sensor]!);
  // fields starts with the separator of the first field, which is a space, not a comma.
  return { lines: [`${line} ${fields.slice(1)} ${score.windowStart}`], droppedFields };
}
