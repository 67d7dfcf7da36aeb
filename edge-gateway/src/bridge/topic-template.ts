// Topic templates map a plant broker's own topic tree onto machine and sensor ids:
// `plant/{line}/{machine}/{sensor}` matches `plant/l1/press-3/temp` as machine press-3, sensor temp.
// A level is a literal, `+` (any one level, ignored), `{name}` (any one level, captured), or `#` as
// the last level (any number of levels, ignored). `{machine}` and `{sensor}` are required. Other named
// levels are ignored unless the ids are composed of them: machineId `{line}-{machine}` makes
// `plant/l1/press-3/temp` machine l1-press-3, so two lines' press-3 stay two machines (the feature
// message has no field for labels). The same template, with every `{name}` turned into `+`, is the
// MQTT filter the bridge subscribes to unless its upstream lists filters of its own.
import type { SensorIds } from '../ingest/index.js';

const NAME = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const NAME_IN_FORMAT = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** What an id may hold besides the levels it is made of (ingest checks the whole id). */
const ID_TEXT = /^[A-Za-z0-9_.-]*$/;

/** How the machine and sensor ids are made of the template's named levels. */
export interface IdFormats {
  /** Default `{machine}`. */
  readonly machineId?: string;
  /** Default `{sensor}`. */
  readonly sensorId?: string;
}

/** A template mistake and the configuration key it is in. */
export interface TemplateProblem {
  readonly key: 'topic' | 'machineId' | 'sensorId';
  readonly message: string;
}

class TemplateError extends Error {
  constructor(
    readonly key: TemplateProblem['key'],
    message: string,
  ) {
    super(message);
  }
}

/** What is wrong with a template and its id formats, or undefined when nothing is. */
export function topicTemplateProblem(template: string, ids: IdFormats = {}): TemplateProblem | undefined {
  try {
    new TopicTemplate(template, ids);
    return undefined;
  } catch (error) {
    if (error instanceof TemplateError) return { key: error.key, message: error.message };
    throw error;
  }
}

/** An id's parts: literal text, or the index of the topic level it copies. */
type IdPart = string | number;

function compileIdFormat(key: 'machineId' | 'sensorId', format: string, levels: ReadonlyMap<string, number>): IdPart[] {
  const parts: IdPart[] = [];
  const literal = (text: string) => {
    if (!ID_TEXT.test(text)) throw new TemplateError(key, `"${format}": text besides {name} must be [A-Za-z0-9_.-]`);
    if (text !== '') parts.push(text);
  };
  let end = 0;
  for (const match of format.matchAll(NAME_IN_FORMAT)) {
    literal(format.slice(end, match.index));
    const level = levels.get(match[1]!);
    if (level === undefined) throw new TemplateError(key, `"${format}" names {${match[1]}}, which is no level of the topic template`);
    parts.push(level);
    end = match.index + match[0].length;
  }
  literal(format.slice(end));
  if (!parts.some((part) => typeof part === 'number')) throw new TemplateError(key, `"${format}" names no level of the topic template`);
  return parts;
}

function composeId(parts: readonly IdPart[], levels: readonly string[]): string {
  if (parts.length === 1) return levels[parts[0] as number]!;
  let id = '';
  for (const part of parts) id += typeof part === 'number' ? levels[part] : part;
  return id;
}

export class TopicTemplate {
  /** The MQTT topic filter matching every topic the template can match. */
  readonly filter: string;
  /** Each level's literal text, or undefined for a level matching anything. */
  private readonly literals: Array<string | undefined>;
  private readonly machineId: readonly IdPart[];
  private readonly sensorId: readonly IdPart[];
  /** Whether the template ends in `#`: then a topic may have more levels than the literals. */
  private readonly open: boolean;

  constructor(
    readonly template: string,
    ids: IdFormats = {},
  ) {
    const levels = template.split('/');
    this.open = levels.at(-1) === '#';
    const fixed = this.open ? levels.slice(0, -1) : levels;
    const names = new Map<string, number>();
    this.literals = fixed.map((level, i) => {
      const name = NAME.exec(level)?.[1];
      if (name !== undefined) {
        if (names.has(name)) throw new TemplateError('topic', `{${name}} appears twice`);
        names.set(name, i);
        return undefined;
      }
      if (level === '+') return undefined;
      if (level.includes('#')) throw new TemplateError('topic', '"#" must be a whole level and the last one');
      if (level.includes('+')) throw new TemplateError('topic', '"+" must be a whole level');
      if (level.includes('{') || level.includes('}')) throw new TemplateError('topic', `level "${level}" must be {name} (a letter or _, then letters, digits, _) or literal text without braces`);
      return level;
    });
    if (!names.has('machine') || !names.has('sensor')) throw new TemplateError('topic', 'must name the levels {machine} and {sensor}');
    this.machineId = compileIdFormat('machineId', ids.machineId ?? '{machine}', names);
    this.sensorId = compileIdFormat('sensorId', ids.sensorId ?? '{sensor}', names);
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
    return { machineId: composeId(this.machineId, levels), sensorId: composeId(this.sensorId, levels) };
  }
}
