// A window is named by (machine, window_start): the part of the idempotency key that InfluxDB keys
// its points by (feature_version and revision are fields there, so they cannot tell points apart).
export type WindowKey = string;

export const windowKey = (machine: string, windowStart: number): WindowKey => `${machine}@${windowStart}`;

export function parseWindowKey(key: WindowKey): { machine: string; windowStart: number } {
  const at = key.lastIndexOf('@');
  return { machine: key.slice(0, at), windowStart: Number(key.slice(at + 1)) };
}

/** The members of `a` not in `b`, sorted, for failure messages. */
export function difference(a: Iterable<WindowKey>, b: ReadonlySet<WindowKey>): WindowKey[] {
  return [...a].filter((key) => !b.has(key)).sort();
}
