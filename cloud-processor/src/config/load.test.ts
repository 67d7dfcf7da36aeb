import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadProcessorConfig } from './load.js';

describe('processor configuration', () => {
  const dirs: string[] = [];
  const file = (name: string, text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'processor-config-'));
    dirs.push(dir);
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('fills every default', () => {
    const config = loadProcessorConfig({ env: {} });
    expect(config.influx).toMatchObject({ database: 'pdm', rawRetention: { name: 'raw', duration: '30d' }, downsampleIntervals: ['1m', '1h'] });
    expect(config.alerts).toEqual({ openAfter: 3, within: 5, resolveAfter: 5, actionsRefreshMs: 5_000 });
    expect(config.pubsub.alertsTopic).toBe('pdm-alerts');
    expect(loadProcessorConfig({ env: { PDM_PROCESSOR_ALERTS__ACTIONS_REFRESH_MS: '10s' } }).alerts.actionsRefreshMs).toBe(10_000);
    expect(config.http.apiToken).toBeUndefined();
    expect(() => loadProcessorConfig({ env: { PDM_PROCESSOR_HTTP__API_TOKEN: 'short' } })).toThrow(/http\.apiToken \(from PDM_PROCESSOR_HTTP__API_TOKEN\): must be at least 16 characters/);
  });

  it("sizes the revision guard's memory: 100 windows for 10,000 machines unless told, a bad size named", () => {
    expect(loadProcessorConfig({ env: {} }).revisions).toEqual({ machines: 10_000, windowsPerMachine: 100 });
    expect(loadProcessorConfig({ env: { PDM_PROCESSOR_REVISIONS__MACHINES: '50000' } }).revisions).toEqual({ machines: 50_000, windowsPerMachine: 100 });
    expect(() => loadProcessorConfig({ env: { PDM_PROCESSOR_REVISIONS__WINDOWS_PER_MACHINE: '0' } })).toThrow(/revisions\.windowsPerMachine/);
  });

  it('reads YAML and lets PDM_PROCESSOR_<KEY>__<SUBKEY> override single keys', () => {
    const path = file('p.yaml', 'instanceId: proc-7\npubsub:\n  subscription: from-file\n  flowControl:\n    maxMessages: 10\n');
    const config = loadProcessorConfig({
      file: path,
      env: { PDM_PROCESSOR_PUBSUB__FLOW_CONTROL__MAX_MESSAGES: '25', PDM_PROCESSOR_INFLUX__URL: 'http://db:8086', PDM_PROCESSOR_PUBSUB__ALERTS_TOPIC: 'null' },
    });
    expect(config.instanceId).toBe('proc-7');
    expect(config.pubsub.subscription).toBe('from-file');
    expect(config.pubsub.flowControl).toEqual({ maxMessages: 25, maxBytes: 64 * 1024 * 1024 });
    expect(config.influx.url).toBe('http://db:8086');
    expect(config.pubsub.alertsTopic).toBeNull();
  });

  it('keeps the machine states in memory only unless model.stateFile names a file', () => {
    expect(loadProcessorConfig({ env: {} }).model).toEqual({ registryDir: '.data/models' });
    const config = loadProcessorConfig({ env: { PDM_PROCESSOR_MODEL__STATE_FILE: '/var/lib/pdm/state/scorer-state.json', PDM_PROCESSOR_MODEL__STATE_SAVE_MS: '5m' } });
    expect(config.model).toEqual({ registryDir: '.data/models', stateFile: '/var/lib/pdm/state/scorer-state.json', stateSaveMs: 300_000 });
  });

  it('takes durations with a unit as well as milliseconds', () => {
    const path = file('p.yaml', 'pubsub:\n  drainTimeoutMs: 10s\n  transientBackoff:\n    maxMs: 1m\ninflux:\n  batchMaxDelayMs: 0\npipelineReportIntervalMs: 2500\n');
    const config = loadProcessorConfig({ file: path, env: { PDM_PROCESSOR_ALERTS__WEBHOOK__URL: 'http://hooks.local/a', PDM_PROCESSOR_ALERTS__WEBHOOK__TIMEOUT_MS: '1.5s' } });
    expect(config.pubsub.drainTimeoutMs).toBe(10_000);
    expect(config.pubsub.transientBackoff).toEqual({ initialMs: 100, maxMs: 60_000 });
    expect(config.influx.batchMaxDelayMs).toBe(0);
    expect(config.pipelineReportIntervalMs).toBe(2_500);
    expect(config.alerts.webhook?.timeoutMs).toBe(1_500);
    expect(config.log.level).toBe('info');
  });

  it('names the key of a bad duration or log level', () => {
    expect(() => loadProcessorConfig({ env: { PDM_PROCESSOR_PUBSUB__DRAIN_TIMEOUT_MS: '10 parsecs' } })).toThrow(/pubsub\.drainTimeoutMs \(from PDM_PROCESSOR_PUBSUB__DRAIN_TIMEOUT_MS\): invalid duration "10 parsecs"/);
    expect(() => loadProcessorConfig({ env: { PDM_PROCESSOR_INFLUX__REQUEST_TIMEOUT_MS: '0s' } })).toThrow(/influx\.requestTimeoutMs \(from PDM_PROCESSOR_INFLUX__REQUEST_TIMEOUT_MS\): Too small/);
    expect(() => loadProcessorConfig({ env: { PDM_PROCESSOR_LOG__LEVEL: 'loud' } })).toThrow(/log\.level \(from PDM_PROCESSOR_LOG__LEVEL\): Invalid option/);
  });

  it('names the bad key and what it expects', () => {
    expect(() => loadProcessorConfig({ env: { PDM_PROCESSOR_ALERTS__OPEN_AFTER: '0' } })).toThrow(/alerts\.openAfter \(from PDM_PROCESSOR_ALERTS__OPEN_AFTER\): Too small/);
    expect(() => loadProcessorConfig({ file: file('p.json', '{"influx": {"rawRetention": {"duration": "forever"}}}'), env: {} })).toThrow(
      /influx\.rawRetention\.duration: must be an InfluxQL duration/,
    );
    expect(() => loadProcessorConfig({ file: file('p.json', '{"influx": {"downsampleIntervals": ["1m", "INF"]}}'), env: {} })).toThrow(
      /influx\.downsampleIntervals\.1: must be an InfluxQL duration such as 1m or 1h/,
    );
    expect(() => loadProcessorConfig({ file: file('p.yaml', 'pubsub:\n  subscriptoin: x\n'), env: {} })).toThrow(ConfigError);
    expect(() => loadProcessorConfig({ file: file('p.yaml', 'pubsub: [1\n'), env: {} })).toThrow(/not valid YAML/);
  });

  it('takes alerts.delivery keys (durations with units) and fills the rest from the delivery defaults', () => {
    expect(loadProcessorConfig({ env: {} }).alerts.delivery).toBeUndefined();
    expect(loadProcessorConfig({ env: { PDM_PROCESSOR_ALERTS__DELIVERY__TAKEOVER_AFTER_MS: '10m' } }).alerts.delivery).toEqual({
      backoff: { initialMs: 1_000, multiplier: 2, maxMs: 60_000 },
      publishTimeoutMs: 60_000,
      giveUpAfterMs: 86_400_000,
      takeoverAfterMs: 600_000,
      sweepIntervalMs: 60_000,
      stopTimeoutMs: 10_000,
    });
    expect(() => loadProcessorConfig({ env: { PDM_PROCESSOR_ALERTS__DELIVERY__TAKEOVER_AFTER_MS: '1m' } })).toThrow(/alerts\.delivery\.takeoverAfterMs \(from PDM_PROCESSOR_ALERTS__DELIVERY__TAKEOVER_AFTER_MS\): must be longer than the longest back-off/);
  });

  it('checks the delivery timings against the defaults when alerts.delivery is unset, naming the keys', () => {
    // The webhook's back-off and timeout against the default takeoverAfterMs, 5 min = 300,000 ms.
    const slowHook = (backoff: string, timeout: string) => ({
      PDM_PROCESSOR_ALERTS__WEBHOOK__URL: 'http://hooks.local/a',
      PDM_PROCESSOR_ALERTS__WEBHOOK__BACKOFF__MAX_MS: backoff,
      PDM_PROCESSOR_ALERTS__WEBHOOK__TIMEOUT_MS: timeout,
    });
    expect(() => loadProcessorConfig({ env: slowHook('10m', '5s') })).toThrow(
      'alerts.delivery.takeoverAfterMs: must be longer than the longest back-off and send timeout, or live deliveries are taken over: alerts.webhook.backoff.maxMs is 600000 ms, takeoverAfterMs 300000 ms (the default)',
    );
    expect(() => loadProcessorConfig({ env: slowHook('1m', '5m') })).toThrow(/alerts\.webhook\.timeoutMs is 300000 ms, takeoverAfterMs 300000 ms \(the default\)/);
    expect(loadProcessorConfig({ env: slowHook('4m', '1m') }).alerts.webhook?.backoff.maxMs).toBe(240_000);
    // A publish timeout at the takeover time is refused too.
    expect(() => loadProcessorConfig({ env: { PDM_PROCESSOR_ALERTS__DELIVERY__PUBLISH_TIMEOUT_MS: '5m' } })).toThrow(/alerts\.delivery\.publishTimeoutMs is 300000 ms, takeoverAfterMs 300000 ms$/);
  });

  it('looks at N = K + 2 windows unless alerts.within says otherwise, and refuses N < K naming alerts.within', () => {
    expect(loadProcessorConfig({ env: { PDM_PROCESSOR_ALERTS__OPEN_AFTER: '2' } }).alerts).toEqual({ openAfter: 2, within: 4, resolveAfter: 5, actionsRefreshMs: 5_000 });
    const path = file('p.yaml', 'alerts:\n  openAfter: 2\n  within: 5\n');
    expect(loadProcessorConfig({ file: path, env: {} }).alerts).toEqual({ openAfter: 2, within: 5, resolveAfter: 5, actionsRefreshMs: 5_000 });
    expect(loadProcessorConfig({ file: path, env: { PDM_PROCESSOR_ALERTS__WITHIN: '3' } }).alerts.within).toBe(3);
    expect(() => loadProcessorConfig({ file: path, env: { PDM_PROCESSOR_ALERTS__WITHIN: '1' } })).toThrow(/alerts\.within \(from PDM_PROCESSOR_ALERTS__WITHIN\): must be at least alerts\.openAfter/);
    expect(() => loadProcessorConfig({ env: { PDM_PROCESSOR_ALERTS__WITHIN: '0' } })).toThrow(/alerts\.within \(from PDM_PROCESSOR_ALERTS__WITHIN\): Too small/);
  });
});
