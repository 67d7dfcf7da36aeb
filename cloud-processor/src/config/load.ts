// Loads the processor configuration: a YAML or JSON file (optional), then environment overrides, then
// validation. Any problem becomes one ConfigError whose message names the key and what is expected.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type ProcessorConfig, processorConfigSchema } from './schema.js';

export const ENV_PREFIX = 'PDM_PROCESSOR_';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** `MAX_MESSAGES` → `maxMessages` */
const camel = (segment: string) => segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** JSON when it parses (numbers, booleans, null, arrays), the plain string otherwise. */
function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Applies PDM_PROCESSOR_<PATH>=value overrides; nested keys are joined by a double underscore:
 * PDM_PROCESSOR_PUBSUB__FLOW_CONTROL__MAX_MESSAGES=100 sets pubsub.flowControl.maxMessages.
 */
export function applyEnvOverrides(config: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split('__').map(camel);
    let node = config;
    for (const key of path.slice(0, -1)) {
      const child = node[key];
      node = (node[key] = typeof child === 'object' && child !== null ? { ...child } : {});
    }
    node[path[path.length - 1] ?? ''] = parseEnvValue(raw);
  }
  return config;
}

function formatIssues(issues: z.core.$ZodIssue[], source: string): string {
  const lines = issues.map((issue) => `  ${issue.path.length > 0 ? issue.path.join('.') : '(top level)'}: ${issue.message}`);
  return `invalid processor configuration (${source}):\n${lines.join('\n')}`;
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

/** Validates a configuration object (defaults filled in); throws ConfigError naming every bad key. */
export function parseProcessorConfig(raw: unknown, source = 'configuration'): ProcessorConfig {
  const result = processorConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, source));
  return result.data;
}

/** Builds a validated configuration from an optional file, env overrides and the defaults. */
export function loadProcessorConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): ProcessorConfig {
  const raw = options.file ? readConfigFile(options.file) : {};
  applyEnvOverrides(raw, options.env ?? process.env);
  const sources = [options.file, 'PDM_PROCESSOR_* environment'].filter(Boolean).join(' + ');
  return parseProcessorConfig(raw, sources);
}
