// Reads and validates a fleet config file (YAML, of which JSON is a subset).
import { readFileSync } from 'node:fs';
import { YAMLParseError, parse } from 'yaml';
import { ConfigError } from './config-error.js';
import { type FileConfig, configSchema } from './schema.js';

/** Validates an already-parsed document; the first problem becomes a ConfigError naming its key. */
export function validateConfig(document: unknown, source = 'config'): FileConfig {
  const result = configSchema.safeParse(document ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = (issue?.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') ?? '').slice(1);
  const keys = issue?.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
  throw new ConfigError(path ? `${source}: ${path}` : source, `${issue?.message ?? 'invalid'}${keys}`);
}

export function loadConfigFile(path: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, `cannot read: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? `:${error.linePos[0].line}` : '';
    throw new ConfigError(`${path}${where}`, `not valid YAML: ${(error as Error).message.split('\n')[0] ?? ''}`);
  }
  return validateConfig(settingsOf(document), path);
}

/** A dataset's manifest.json holds the settings that made it under `config`; any other document is settings. */
function settingsOf(document: unknown): unknown {
  return document !== null && typeof document === 'object' && 'config' in document ? document.config : document;
}
