// A mistake in a config file or flag: names the key (dotted path, or the flag) and the expected form.
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${key}: ${problem}`);
    this.name = 'ConfigError';
  }
}
