import { describe, expect, it } from 'vitest';
import { gatewayConfigSchema } from '../config/index.js';

const upstream = { name: 'plant', url: 'mqtt://broker:1883', mappings: [{ topic: 'plant/{line}/{machine}/{sensor}' }] };

/** Each issue as `path: message`, the way the gateway reports a bad configuration. */
function problems(bridge: unknown): string[] {
  const result = gatewayConfigSchema.safeParse({ bridge });
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('bridge configuration', () => {
  it('is off by default and fills each upstream and mapping default', () => {
    expect(gatewayConfigSchema.parse({}).bridge).toEqual({ upstreams: [] });
    const [parsed] = gatewayConfigSchema.parse({ bridge: { upstreams: [upstream] } }).bridge.upstreams;
    expect(parsed).toEqual({
      ...upstream,
      mappings: [{ topic: 'plant/{line}/{machine}/{sensor}', value: 'value', timestamp: 'ts', epochUnit: 'ms', sensors: {} }],
      backoff: { initialMs: 1_000, multiplier: 2, maxMs: 30_000 },
      sparkplug: false,
    });
  });

  it('names the key of every mistake', () => {
    expect(problems({ upstreams: [{ ...upstream, mappings: [{ topic: 'plant/{machine}' }] }] })).toEqual([
      'bridge.upstreams.0.mappings.0.topic: topic template "plant/{machine}" must name the levels {machine} and {sensor}',
    ]);
    expect(problems({ upstreams: [upstream, { ...upstream, url: 'mqtt://other' }] })).toEqual(['bridge.upstreams.1.name: upstream name "plant" is used twice']);
    expect(problems({ upstreams: [{ ...upstream, url: 'http://broker' }] })).toEqual([
      'bridge.upstreams.0.url: must be an mqtt://, mqtts://, ws:// or wss:// URL',
    ]);
    expect(problems({ upstreams: [{ ...upstream, subscribe: ['plant/+x'] }] })).toEqual([
      'bridge.upstreams.0.subscribe.0: MQTT topic filter "plant/+x" is invalid: "+" must be a whole level',
    ]);
    expect(problems({ upstreams: [{ ...upstream, cert: 'gw.pem' }] })).toEqual(['bridge.upstreams.0.cert: cert and key go together']);
    expect(problems({ upstreams: [{ ...upstream, password: 'pw', passwordFile: 'pw.txt' }] })).toEqual([
      'bridge.upstreams.0.passwordFile: give password or passwordFile, not both',
    ]);
    expect(problems({ upstreams: [{ ...upstream, mappings: [{ topic: 'a/{machine}/{sensor}', epochUnit: 'us', value: 'a..b' }] }] })).toHaveLength(2);
    expect(problems({ upstreams: [{ ...upstream, mappings: [] }] })[0]).toMatch(/^bridge\.upstreams\.0\.mappings: /);
    // A Sparkplug B upstream needs no mapping.
    expect(problems({ upstreams: [{ name: 'plant', url: 'mqtt://broker:1883', sparkplug: true }] })).toEqual([]);
    expect(problems({ upstreams: [{ ...upstream, mappings: [{ topic: 'plant/{line}/{machine}/{sensor}', machineId: '{lin}-{machine}' }] }] })).toEqual([
      'bridge.upstreams.0.mappings.0.machineId: "{lin}-{machine}" names {lin}, which is no level of the topic template',
    ]);
  });
});
