// Loads a service configuration: a YAML or JSON file (optional), then environment overrides, then
// validation against the service's zod schema. Any problem becomes one ConfigError whose message
// names the key and the expected form, so a bad deployment says exactly what to fix.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ConfigSource {
  /** Which service, for messages: "gateway" → "invalid gateway configuration (…)". */
  name: string;
  /** Environment variable prefix, e.g. PDM_GATEWAY_. */
  envPrefix: string;
  file?: string;
  env?: NodeJS.ProcessEnv;
}

/** `MAX_PAYLOAD_BYTES` → `maxPayloadBytes` */
const camel = (segment: string) => segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** JSON when it parses (numbers, booleans, null, arrays, objects), the plain string otherwise. */
function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** One <PREFIX><PATH>=value variable: the key path it sets, kept so that errors can name the variable. */
interface EnvOverride {
  variable: string;
  path: string[];
  value: unknown;
}

/**
 * The variables Kubernetes puts into every pod for a Service (service links): a Service named
 * pdm-processor or pdm-gateway gives PDM_PROCESSOR_SERVICE_HOST, PDM_PROCESSOR_PORT=tcp://…,
 * PDM_PROCESSOR_PORT_9465_TCP_ADDR and the like; one named pdm-gateway-metrics the same after
 * PDM_GATEWAY_METRICS_. They are no settings, and taken for ones they made every pod created after the
 * Service refuse its configuration. A variable of that shape is taken for a service link only when its
 * Service's <NAME>_SERVICE_HOST is there too (Kubernetes always sets it): PDM_GATEWAY_MQTT_PORT alone
 * is a mistyped PDM_GATEWAY_MQTT__PORT, refused naming the key, not ignored.
 */
const SERVICE_LINK = /^((?:[A-Z0-9]+_)*?)(SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$/;

/** Whether `name` (after the prefix) is a service link of a Service whose SERVICE_HOST `names` holds. */
function isServiceLink(name: string, names: ReadonlySet<string>): boolean {
  const service = SERVICE_LINK.exec(name)?.[1];
  return service !== undefined && names.has(`${service}SERVICE_HOST`);
}

/** Nested keys are joined by a double underscore: PDM_GATEWAY_MQTT__PORT → ['mqtt', 'port']. */
function envOverrides(env: NodeJS.ProcessEnv, prefix: string): EnvOverride[] {
  const names = new Set(Object.keys(env).filter((v) => v.startsWith(prefix)).map((v) => v.slice(prefix.length)));
  return Object.entries(env)
    .filter((entry): entry is [string, string] => entry[0].startsWith(prefix) && entry[1] !== undefined && !isServiceLink(entry[0].slice(prefix.length), names))
    .map(([variable, raw]) => ({ variable, path: variable.slice(prefix.length).split('__').map(camel), value: parseEnvValue(raw) }));
}

function withOverrides(config: Record<string, unknown>, overrides: EnvOverride[]): Record<string, unknown> {
  const result: Record<string, unknown> = { ...config };
  for (const { path, value } of overrides) {
    let node = result;
    for (const key of path.slice(0, -1)) {
      const child = node[key];
      node = node[key] = typeof child === 'object' && child !== null ? { ...(child as Record<string, unknown>) } : {};
    }
    node[path.at(-1) ?? ''] = value;
  }
  return result;
}

/**
 * Applies <PREFIX><PATH>=value overrides; nested keys are joined by a double underscore and written
 * in SCREAMING_SNAKE_CASE: PDM_GATEWAY_MQTT__PORT=1884 sets mqtt.port, PDM_GATEWAY_GATEWAY_ID=gw-7
 * sets gatewayId. Returns a new object; the input is not modified.
 */
export function applyEnvOverrides(config: Record<string, unknown>, env: NodeJS.ProcessEnv, prefix: string): Record<string, unknown> {
  return withOverrides(config, envOverrides(env, prefix));
}

const isPrefix = (prefix: readonly PropertyKey[], path: readonly PropertyKey[]) =>
  prefix.length <= path.length && prefix.every((key, i) => key === path[i]);

/** The variable that set `path` or one of its parents, if any; the last one wins, as in withOverrides. */
const overrideOf = (path: readonly PropertyKey[], overrides: EnvOverride[]) => overrides.findLast((o) => isPrefix(o.path, path))?.variable;

const unrecognized = (keys: string[]) => `Unrecognized key${keys.length > 1 ? 's' : ''}: ${keys.map((key) => `"${key}"`).join(', ')}`;

/**
 * One line per bad key: "mqtt.port: …", or "mqtt.port (from PDM_GATEWAY_MQTT__PORT): …" when an
 * environment variable set it, so the message points at the variable and not at the file. Zod reports
 * all unknown keys of an object in one issue; those set by a variable get a line of their own.
 */
function issueLines(issues: z.core.$ZodIssue[], overrides: EnvOverride[]): string[] {
  const line = (path: readonly PropertyKey[], message: string, variable: string | undefined) =>
    `  ${path.length > 0 ? path.join('.') : '(top level)'}${variable ? ` (from ${variable})` : ''}: ${message}`;
  return issues.flatMap((issue) => {
    const variable = overrideOf(issue.path, overrides);
    if (issue.code !== 'unrecognized_keys' || variable) return [line(issue.path, issue.message, variable)];
    const fromFile = issue.keys.filter((key) => !overrideOf([...issue.path, key], overrides));
    const fromEnv = issue.keys.filter((key) => !fromFile.includes(key));
    return [
      ...(fromFile.length > 0 ? [line(issue.path, unrecognized(fromFile), undefined)] : []),
      ...fromEnv.map((key) => line(issue.path, unrecognized([key]), overrideOf([...issue.path, key], overrides))),
    ];
  });
}

function formatIssues(issues: z.core.$ZodIssue[], name: string, source: string, overrides: EnvOverride[] = []): string {
  return `invalid ${name} configuration (${source}):\n${issueLines(issues, overrides).join('\n')}`;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  const format = path.endsWith('.json') ? 'JSON' : 'YAML';
  let parsed: unknown;
  try {
    parsed = format === 'JSON' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid ${format}: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${path} must hold a mapping of keys to values`);
  return parsed as Record<string, unknown>;
}

/** Validates a configuration object against `schema` (defaults filled in); throws ConfigError naming every bad key. */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, name: string, source = 'configuration'): z.output<S> {
  return validate(schema, raw, name, source, []);
}

function validate<S extends z.ZodType>(schema: S, raw: unknown, name: string, source: string, overrides: EnvOverride[]): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, name, source, overrides));
  return result.data;
}

/** File (optional) → environment overrides → validation. */
export function loadConfig<S extends z.ZodType>(schema: S, source: ConfigSource): z.output<S> {
  const overrides = envOverrides(source.env ?? process.env, source.envPrefix);
  const raw = withOverrides(source.file ? readConfigFile(source.file) : {}, overrides);
  const from = !source.file ? 'defaults and environment' : overrides.length > 0 ? `${source.file} + environment` : source.file;
  return validate(schema, raw, source.name, from, overrides);
}
