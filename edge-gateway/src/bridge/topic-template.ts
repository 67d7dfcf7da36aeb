// Topic templates map a plant broker's own topic tree onto machine and sensor ids:
// `plant/{line}/{machine}/{sensor}` matches `plant/l1/press-3/temp` as machine press-3, sensor temp.
// A level is a literal, `+` (any one level, ignored), `{name}` (any one level, captured), or `#` as
// the last level (any number of levels, ignored). `{machine}` and `{sensor}` are required; other names
// match like `+` and are ignored (the feature message has no field for them) — they only make a
// template readable. The same template, with every `{name}` turned into `+`, is the MQTT filter the
// bridge subscribes to unless its upstream lists filters of its own.
import type { SensorIds } from '../ingest/index.js';

const NAME = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** Why `template` is not a valid topic template, or undefined when it is one. */
export function topicTemplateProblem(template: string): string | undefined {
  try {
    new TopicTemplate(template);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export class TopicTemplate {
  /** The MQTT topic filter matching every topic the template can match. */
  readonly filter: string;
  /** Each level's literal text, or undefined for a level matching anything. */
  private readonly literals: Array<string | undefined>;
  private readonly machineLevel: number;
  private readonly sensorLevel: number;
  /** Whether the template ends in `#`: then a topic may have more levels than the literals. */
  private readonly open: boolean;

  constructor(readonly template: string) {
    const levels = template.split('/');
    this.open = levels.at(-1) === '#';
    const fixed = this.open ? levels.slice(0, -1) : levels;
    const names = new Map<string, number>();
    this.literals = fixed.map((level, i) => {
      const name = NAME.exec(level)?.[1];
      if (name !== undefined) {
        if (names.has(name)) throw new Error(`{${name}} appears twice`);
        names.set(name, i);
        return undefined;
      }
      if (level === '+') return undefined;
      if (level.includes('#')) throw new Error('"#" must be a whole level and the last one');
      if (level.includes('+')) throw new Error('"+" must be a whole level');
      if (level.includes('{') || level.includes('}')) throw new Error(`level "${level}" must be {name} (a letter or _, then letters, digits, _) or literal text without braces`);
      return level;
    });
    const machineLevel = names.get('machine');
    const sensorLevel = names.get('sensor');
    if (machineLevel === undefined || sensorLevel === undefined) throw new Error('must name the levels {machine} and {sensor}');
    this.machineLevel = machineLevel;
    this.sensorLevel = sensorLevel;
    this.filter = [...this.literals.map((literal) => literal ?? '+'), ...(this.open ? ['#'] : [])].join('/');
  }

  /** The ids in `topic`, or undefined when the template does not match it. */
  match(topic: string): SensorIds | undefined {
    const levels = topic.split('/');
    if (this.open ? levels.length < this.literals.length : levels.length !== this.literals.length) return undefined;
    // As an MQTT filter: a template starting with a wildcard does not match system topics [MQTT-4.7.2-1].
    if (topic.startsWith('$') && this.literals[0] === undefined) return undefined;
    for (let i = 0; i < this.literals.length; i++) {
      const literal = this.literals[i];
      if (literal !== undefined && literal !== levels[i]) return undefined;
    }
    // Ids are checked by ingest, like those of the embedded broker's topics (bad_topic).
    return { machineId: levels[this.machineLevel]!, sensorId: levels[this.sensorLevel]! };
  }
}
