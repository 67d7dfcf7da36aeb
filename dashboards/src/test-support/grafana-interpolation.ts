// What Grafana's InfluxDB datasource does to a raw InfluxQL query before sending it, so the proof test
// runs exactly what a Grafana would: $timeFilter, $__interval(_ms), ${__from}/${__to} and template variables.
export interface TemplateContext {
  from: number;
  to: number;
  intervalMs: number;
  /** Variable name → its selected values and whether it is multi-value (or has All). */
  variables: Map<string, { values: string[]; multi: boolean }>;
}

/** Grafana's escapeRegex: values of multi-value variables land inside `/^…$/`. */
const escapeRegex = (value: string) => value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');

/**
 * A single-value variable is inserted as is; a multi-value (or All) one as `(a|b)` of escaped values,
 * which is why every query uses the form `"tag" =~ /^$var$/`.
 */
function formatVariable({ values, multi }: { values: string[]; multi: boolean }): string {
  if (!multi) return values[0] ?? '';
  const escaped = values.map(escapeRegex);
  return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`;
}

export function interpolate(query: string, ctx: TemplateContext): string {
  let out = query
    .replaceAll('$timeFilter', `time >= ${ctx.from}ms and time <= ${ctx.to}ms`)
    .replaceAll('$__interval_ms', String(ctx.intervalMs))
    .replaceAll('$__interval', `${ctx.intervalMs / 1000}s`)
    // The global time range variables: epoch ms by default.
    .replaceAll('${__from}', String(ctx.from))
    .replaceAll('${__to}', String(ctx.to));
  // Longest names first, so $machine does not eat the start of a $machine_type.
  for (const [name, value] of [...ctx.variables].sort(([a], [b]) => b.length - a.length)) {
    const formatted = formatVariable(value);
    out = out.replaceAll(`\${${name}}`, formatted).replaceAll(`$${name}`, formatted);
  }
  const left = /\$\{?[A-Za-z_]\w*/.exec(out);
  if (left) throw new Error(`uninterpolated ${left[0]} in: ${out}`);
  return out;
}

/**
 * Grafana's $__interval: the time range over the panel's data points (≈ its width in pixels), rounded
 * up to a whole second, never below the datasource's minimum interval.
 */
export function grafanaInterval(from: number, to: number, minIntervalMs: number, maxDataPoints = 1000): number {
  return Math.max(minIntervalMs, Math.ceil((to - from) / maxDataPoints / 1000) * 1000);
}
