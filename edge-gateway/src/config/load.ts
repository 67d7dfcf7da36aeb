// Loads the gateway configuration: a YAML or JSON file (optional), then environment overrides, then
// validation. Any problem becomes one ConfigError whose message names the key and the expected form.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type GatewayConfig, gatewayConfigSchema } from './schema.js';

export const ENV_PREFIX = 'PDM_GATEWAY_';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** `MAX_PAYLOAD_BYTES` → `maxPayloadBytes` */
const camel = (segment: string) => segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Applies PDM_GATEWAY_<PATH>=value overrides, where nested keys are joined by a double underscore:
 * PDM_GATEWAY_MQTT__PORT=1884 sets mqtt.port; PDM_GATEWAY_GATEWAY_ID=gw-7 sets gatewayId. Values
 * are JSON when they parse as JSON (numbers, booleans, objects), plain strings otherwise.
 */
export function applyEnvOverrides(config: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split('__').map(camel);
    let node = config;
    for (const key of path.slice(0, -1)) {
      const child = node[key];
      node = (node[key] = typeof child === 'object' && child !== null ? child : {}) as Record<string, unknown>;
    }
    node[path.at(-1)!] = parseEnvValue(raw);
  }
  return config;
}

export function formatIssues(issues: z.core.$ZodIssue[], source: string): string {
  const lines = issues.map((issue) => {
    const key = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    return `  ${key}: ${issue.message}`;
  });
  return `invalid gateway configuration (${source}):\n${lines.join('\n')}`;
}

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${path} must hold a mapping of keys to values`);
  return parsed as Record<string, unknown>;
}

/** Builds a validated configuration from an optional file, env overrides and the defaults. */
export function loadGatewayConfig(options: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown> } = {}): GatewayConfig {
  const raw = { ...(options.file ? readFile(options.file) : {}), ...options.overrides };
  applyEnvOverrides(raw, options.env ?? process.env);
  const result = gatewayConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, options.file ?? 'defaults and environment'));
  return result.data;
}
