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

/**
 * Applies <PREFIX><PATH>=value overrides; nested keys are joined by a double underscore and written
 * in SCREAMING_SNAKE_CASE: PDM_GATEWAY_MQTT__PORT=1884 sets mqtt.port, PDM_GATEWAY_GATEWAY_ID=gw-7
 * sets gatewayId. Returns a new object; the input is not modified.
 */
export function applyEnvOverrides(config: Record<string, unknown>, env: NodeJS.ProcessEnv, prefix: string): Record<string, unknown> {
  const result: Record<string, unknown> = { ...config };
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(prefix) || raw === undefined) continue;
    const path = name.slice(prefix.length).split('__').map(camel);
    let node = result;
    for (const key of path.slice(0, -1)) {
      const child = node[key];
      node = node[key] = typeof child === 'object' && child !== null ? { ...(child as Record<string, unknown>) } : {};
    }
    node[path.at(-1) ?? ''] = parseEnvValue(raw);
  }
  return result;
}

function formatIssues(issues: z.core.$ZodIssue[], name: string, source: string): string {
  const lines = issues.map((issue) => `  ${issue.path.length > 0 ? issue.path.join('.') : '(top level)'}: ${issue.message}`);
  return `invalid ${name} configuration (${source}):\n${lines.join('\n')}`;
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
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, name, source));
  return result.data;
}

/** File (optional) → environment overrides → validation. */
export function loadConfig<S extends z.ZodType>(schema: S, source: ConfigSource): z.output<S> {
  const raw = applyEnvOverrides(source.file ? readConfigFile(source.file) : {}, source.env ?? process.env, source.envPrefix);
  return parseConfig(schema, raw, source.name, source.file ?? 'defaults and environment');
}
