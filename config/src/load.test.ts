import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, applyEnvOverrides, loadConfig } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'pdm-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schema = z
  .object({
    name: z.string().default('svc'),
    net: z.object({ port: z.number().int().default(80), allowAll: z.boolean().default(false) }).strict().prefault({}),
    tags: z.array(z.string()).default([]),
  })
  .strict();
const source = { name: 'test', envPrefix: 'PDM_TEST_' };

describe('loadConfig', () => {
  it('layers defaults, the file and the environment, in that order', () => {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'name: from-file\nnet:\n  port: 81\n');
    const config = loadConfig(schema, { ...source, file, env: { PDM_TEST_NET__PORT: '82', PDM_TEST_TAGS: '["a","b"]', PDM_TEST_NET__ALLOW_ALL: 'true' } });
    expect(config).toEqual({ name: 'from-file', net: { port: 82, allowAll: true }, tags: ['a', 'b'] });
  });

  it('reads JSON files and keeps a non-JSON environment value as a string', () => {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ net: { port: 90 } }));
    expect(loadConfig(schema, { ...source, file, env: { PDM_TEST_NAME: 'plain text' } })).toMatchObject({ name: 'plain text', net: { port: 90 } });
  });

  it('names the source, every bad key and the expected form', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'net:\n  port: "eighty"\n  prot: 1\n');
    expect(() => loadConfig(schema, { ...source, file, env: {} })).toThrow(ConfigError);
    expect(() => loadConfig(schema, { ...source, file, env: {} })).toThrow(/invalid test configuration \(.*bad\.yaml\):\n {2}net\.port: .*expected number.*\n {2}net: .*"prot"/s);
  });

  it('blames an environment override, not the file, for the key it sets', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'net:\n  port: 81\n');
    expect(() => loadConfig(schema, { ...source, file, env: { PDM_TEST_NET__PORT: 'abc' } })).toThrow(
      /invalid test configuration \(.*ok\.yaml \+ environment\):\n {2}net\.port \(from PDM_TEST_NET__PORT\): .*expected number/s,
    );
  });

  it('names the variable behind an unrecognized key, and leaves the file\'s own mistakes unblamed', () => {
    const file = join(dir, 'stray.yaml');
    writeFileSync(file, 'net:\n  prot: 1\n');
    const load = () => loadConfig(schema, { ...source, file, env: { PDM_TEST_NET__PRT: '1', PDM_TEST_NAME: 'x' } });
    expect(load).toThrow(/\n {2}net \(from PDM_TEST_NET__PRT\): Unrecognized key: "prt"/);
    expect(load).toThrow(/\n {2}net: Unrecognized key: "prot"/);
    expect(() => loadConfig(schema, { ...source, env: { PDM_TEST_COLOUR: 'red' } })).toThrow(
      /invalid test configuration \(defaults and environment\):\n {2}\(top level\) \(from PDM_TEST_COLOUR\): Unrecognized key: "colour"/,
    );
  });

  it('leaves alone the variables Kubernetes sets for a Service of the same name (service links)', () => {
    const links = {
      PDM_TEST_SERVICE_HOST: '10.0.0.7',
      PDM_TEST_SERVICE_PORT: '9465',
      PDM_TEST_SERVICE_PORT_METRICS: '9465',
      PDM_TEST_PORT: 'tcp://10.0.0.7:9465',
      PDM_TEST_PORT_9465_TCP: 'tcp://10.0.0.7:9465',
      PDM_TEST_PORT_9465_TCP_PROTO: 'tcp',
      PDM_TEST_PORT_9465_TCP_PORT: '9465',
      PDM_TEST_PORT_9465_TCP_ADDR: '10.0.0.7',
    };
    // A Service whose name only starts like ours (pdm-test-metrics) gives the same after PDM_TEST_METRICS_.
    const longer = Object.fromEntries(Object.entries(links).map(([k, v]) => [k.replace('PDM_TEST_', 'PDM_TEST_METRICS_'), v]));
    expect(loadConfig(schema, { ...source, env: { ...links, ...longer, PDM_TEST_NET__PORT: '82' } })).toEqual({ name: 'svc', net: { port: 82, allowAll: false }, tags: [] });
    // A setting of a similar shape is still one: a nested port is read, a stray top-level key refused.
    expect(() => loadConfig(schema, { ...source, env: { PDM_TEST_PORTS: '1' } })).toThrow(/\(from PDM_TEST_PORTS\): Unrecognized key: "ports"/);
    expect(() => loadConfig(schema, { ...source, env: { PDM_TEST_NET__SERVICE_HOST: 'x' } })).toThrow(/\(from PDM_TEST_NET__SERVICE_HOST\): Unrecognized key: "serviceHost"/);
    // One underscore where two belong, without a Service of that name: a mistake, named, not ignored.
    expect(() => loadConfig(schema, { ...source, env: { PDM_TEST_NET_PORT: '82' } })).toThrow(/\(from PDM_TEST_NET_PORT\): Unrecognized key: "netPort"/);
    expect(() => loadConfig(schema, { ...source, env: { ...links, PDM_TEST_NET_PORT: '82' } })).toThrow(/\(from PDM_TEST_NET_PORT\): Unrecognized key: "netPort"/);
  });

  it('says when the file is missing, not YAML, or not a mapping', () => {
    expect(() => loadConfig(schema, { ...source, file: join(dir, 'none.yaml'), env: {} })).toThrow(/cannot read config file .*none\.yaml/);
    writeFileSync(join(dir, 'broken.yaml'), 'net: [1, 2\n');
    expect(() => loadConfig(schema, { ...source, file: join(dir, 'broken.yaml'), env: {} })).toThrow(/is not valid YAML/);
    writeFileSync(join(dir, 'list.yaml'), '- 1\n');
    expect(() => loadConfig(schema, { ...source, file: join(dir, 'list.yaml'), env: {} })).toThrow(/must hold a mapping/);
  });
});

describe('applyEnvOverrides', () => {
  it('leaves its input untouched', () => {
    const input = { net: { port: 1 } };
    const output = applyEnvOverrides(input, { PDM_TEST_NET__PORT: '2', OTHER: 'x' }, 'PDM_TEST_');
    expect(input).toEqual({ net: { port: 1 } });
    expect(output).toEqual({ net: { port: 2 } });
  });
});
