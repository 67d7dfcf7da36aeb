import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadGatewayConfig } from './index.js';

const dir = makeTestDataDir('gateway-config');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** The message of the ConfigError loading `path` raises (fails the test when it raises none, or another error). */
function configErrorOf(path: string): string {
  try {
    loadGatewayConfig({ file: path, env: {} });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`${path} loaded without a ConfigError`);
}

describe('gateway configuration', () => {
  it('fills every default when nothing is given', () => {
    const config = loadGatewayConfig({ env: {} });
    expect(config.mqtt.port).toBe(1883);
    expect(config.mqtt.allowAnonymous).toBe(false);
    expect(config.windows).toEqual({ tickMs: 1_000 }); // the engine's own defaults apply
    expect(config.pubsub.topic).toBe('pdm-features');
  });

  it('reads YAML and JSON files', () => {
    const yaml = file('g.yaml', 'gatewayId: gw-7\nmqtt:\n  port: 1884\nwindows:\n  lateMode: revise\n');
    expect(loadGatewayConfig({ file: yaml, env: {} })).toMatchObject({ gatewayId: 'gw-7', mqtt: { port: 1884 }, windows: { lateMode: 'revise' } });
    const json = file('g.json', JSON.stringify({ siteId: 'plant-b' }));
    expect(loadGatewayConfig({ file: json, env: {} }).siteId).toBe('plant-b');
  });

  it('lets environment variables override single keys', () => {
    const yaml = file('e.yaml', 'mqtt:\n  port: 1884\n');
    const config = loadGatewayConfig({
      file: yaml,
      env: { PDM_GATEWAY_MQTT__PORT: '1999', PDM_GATEWAY_GATEWAY_ID: 'gw-env', PDM_GATEWAY_MQTT__ALLOW_ANONYMOUS: 'true' },
    });
    expect(config.mqtt.port).toBe(1999);
    expect(config.mqtt.allowAnonymous).toBe(true);
    expect(config.gatewayId).toBe('gw-env');
  });

  it('names the key and the expected form of every mistake', () => {
    const bad = file('bad.yaml', 'mqtt:\n  port: "one"\n  prot: 1\nwindows:\n  lateMode: sometimes\ngatewayId: "gw 1"\n');
    const message = configErrorOf(bad);
    expect(message).toContain(bad);
    expect(message).toMatch(/mqtt\.port: .*expected number/);
    expect(message).toMatch(/mqtt: .*"prot"/);
    expect(message).toMatch(/windows\.lateMode: .*"count"\|"revise"/);
    expect(message).toMatch(/gatewayId: must match/);
  });

  it('gives anonymous clients the ACL a user gets by default, and names a bad filter’s key', () => {
    expect(loadGatewayConfig({ env: {} }).mqtt.anonymous).toEqual({ publish: ['sensors/#'], subscribe: [] });
    const granted = loadGatewayConfig({ env: { PDM_GATEWAY_MQTT__ANONYMOUS__SUBSCRIBE: '["alerts/+"]' } });
    expect(granted.mqtt.anonymous).toEqual({ publish: ['sensors/#'], subscribe: ['alerts/+'] });

    const bad = file('bad-acl.yaml', 'mqtt:\n  anonymous:\n    publish: ["sensors/press-+/#"]\n    publsh: []\n');
    const message = configErrorOf(bad);
    expect(message).toMatch(/mqtt\.anonymous\.publish\.0: "sensors\/press-\+\/#" is not an MQTT topic filter: "\+" must be a whole level/);
    expect(message).toMatch(/mqtt\.anonymous: .*"publsh"/);
  });

  it('takes durations with a unit as well as milliseconds, keeping each key’s bounds', () => {
    const yaml = file('d.yaml', 'windows:\n  windowMs: 10s\n  allowedLatenessMs: 0\n  idleTimeoutMs: 1m\noutbox:\n  maxAgeMs: 7d\nhealth:\n  intervalMs: 0s\n');
    const config = loadGatewayConfig({ file: yaml, env: { PDM_GATEWAY_SHUTDOWN_TIMEOUT_MS: '1.5s', PDM_GATEWAY_PUBSUB__BACKOFF__MAX_MS: '30000' } });
    expect(config.windows).toMatchObject({ windowMs: 10_000, allowedLatenessMs: 0, idleTimeoutMs: 60_000, tickMs: 1_000 });
    expect(config.outbox.maxAgeMs).toBe(7 * 24 * 3_600_000);
    expect(config.health.intervalMs).toBe(0);
    expect(config.shutdownTimeoutMs).toBe(1_500);
    expect(config.pubsub.backoff.maxMs).toBe(30_000);

    const bad = file('bad-durations.yaml', 'windows:\n  windowMs: soon\n  tickMs: 0s\nvalidation:\n  maxAgeMs: 1.5ms\n');
    let message = '';
    try {
      loadGatewayConfig({ file: bad, env: {} });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/windows\.windowMs: invalid duration "soon"/);
    expect(message).toMatch(/windows\.tickMs: .*>0/);
    expect(message).toMatch(/validation\.maxAgeMs: .*expected int/);
  });

  it('caps MQTT packets at 1 MiB by default, and refuses a cap that leaves no room for the largest payload', () => {
    expect(loadGatewayConfig({ env: {} }).mqtt.maxPacketBytes).toBe(1_048_576);
    // 256 KiB payload + 65,544 bytes of PUBLISH headers and topic = 327,688.
    expect(loadGatewayConfig({ env: { PDM_GATEWAY_MQTT__MAX_PACKET_BYTES: '327688' } }).mqtt.maxPacketBytes).toBe(327_688);
    const tight = configErrorOf(file('tight-packet.yaml', 'mqtt:\n  maxPacketBytes: 327687\n'));
    expect(tight).toMatch(/mqtt\.maxPacketBytes: must be at least validation\.maxPayloadBytes \+ 65544/);
    const huge = configErrorOf(file('huge-packet.yaml', 'mqtt:\n  maxPacketBytes: 268435461\n'));
    expect(huge).toMatch(/mqtt\.maxPacketBytes: .*268435460/);
  });

  it("refuses two of the gateway's listeners on one port, naming both keys", () => {
    const clash = configErrorOf(file('port-clash.yaml', 'mqtt:\n  websocket: {}\nhttp:\n  port: 8080\n'));
    expect(clash).toMatch(/http\.port: port 8080 is mqtt\.websocket\.port's too: give each listener its own port/);
    const tls = configErrorOf(file('tls-clash.yaml', 'mqtt:\n  port: 8883\n  tls: { cert: c.pem, key: k.pem }\n'));
    expect(tls).toMatch(/mqtt\.tls\.port: port 8883 is mqtt\.port's too/);
    // Ports chosen by the system, and one port on two different addresses, are fine.
    expect(() => loadGatewayConfig({ env: { PDM_GATEWAY_MQTT__PORT: '0', PDM_GATEWAY_HTTP__PORT: '0' } })).not.toThrow();
    expect(() => loadGatewayConfig({ file: file('two-hosts.yaml', 'mqtt:\n  host: 10.0.0.5\n  port: 9000\nhttp:\n  host: 127.0.0.1\n  port: 9000\n'), env: {} })).not.toThrow();
  });

  it('caps the ids a gateway holds state for at 5,000 machines of 64 sensors by default', () => {
    expect(loadGatewayConfig({ env: {} }).validation).toMatchObject({ maxMachines: 5_000, maxSensorsPerMachine: 64 });
    expect(loadGatewayConfig({ env: {} }).validation.maxMachinesPerUser).toBeUndefined();
    expect(configErrorOf(file('zero-machines.yaml', 'validation:\n  maxMachines: 0\n'))).toMatch(/validation\.maxMachines: .*>0/);
  });

  it('batches at most a second of an ordering key’s rate, refusing a larger maxBytes by naming both keys', () => {
    const defaults = loadGatewayConfig({ env: {} }).pubsub;
    expect(defaults.featureBatches.maxBytes).toBe(262_144);
    expect(defaults.featureBatches.maxBytes).toBeLessThanOrEqual(defaults.keyMaxBytesPerSecond);
    const overDefaultRate = configErrorOf(file('batch-over-rate.yaml', 'pubsub:\n  featureBatches:\n    maxBytes: 1048576\n'));
    expect(overDefaultRate).toMatch(/pubsub\.featureBatches\.maxBytes: 1048576 is more than pubsub\.keyMaxBytesPerSecond \(262144\)/);
    // Lowering the rate alone leaves the default batch over it.
    const rateUnderBatch = configErrorOf(file('rate-under-batch.yaml', 'pubsub:\n  keyMaxBytesPerSecond: 100000\n'));
    expect(rateUnderBatch).toMatch(/pubsub\.featureBatches\.maxBytes: 262144 is more than pubsub\.keyMaxBytesPerSecond \(100000\)/);
    const atPubSubLimit = file('batch-at-limit.yaml', 'pubsub:\n  keyMaxBytesPerSecond: 1000000\n  featureBatches:\n    maxBytes: 1000000\n');
    expect(loadGatewayConfig({ file: atPubSubLimit, env: {} }).pubsub.featureBatches.maxBytes).toBe(1_000_000);
    // Single-window messages never use maxBytes.
    const single = file('single-windows.yaml', 'pubsub:\n  keyMaxBytesPerSecond: 100000\n  featureBatches:\n    enabled: false\n');
    expect(() => loadGatewayConfig({ file: single, env: {} })).not.toThrow();
  });

  it('reports health every 10 s unless told otherwise, and 0 turns it off', () => {
    expect(loadGatewayConfig({ env: {} }).health).toEqual({ intervalMs: 10_000 });
    expect(loadGatewayConfig({ env: { PDM_GATEWAY_HEALTH__INTERVAL_MS: '0' } }).health.intervalMs).toBe(0);
    expect(() => loadGatewayConfig({ env: { PDM_GATEWAY_HEALTH__INTERVAL_MS: '-5' } })).toThrow(/health\.intervalMs \(from PDM_GATEWAY_HEALTH__INTERVAL_MS\): /);
  });

  it('says when the file is missing or not YAML', () => {
    expect(() => loadGatewayConfig({ file: join(dir, 'missing.yaml'), env: {} })).toThrow(/cannot read config file .*missing\.yaml/);
    const broken = file('broken.yaml', 'mqtt: [1, 2\n');
    expect(() => loadGatewayConfig({ file: broken, env: {} })).toThrow(/is not valid YAML/);
    const list = file('list.yaml', '- 1\n- 2\n');
    expect(() => loadGatewayConfig({ file: list, env: {} })).toThrow(/must hold a mapping/);
  });
});
