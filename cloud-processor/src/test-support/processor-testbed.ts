// Test plumbing for whole-processor tests: the Pub/Sub testbed plus an alerts topic (collected), a
// fresh InfluxDB database on the suite's influxd, and processors started on free ports with silent
// logs. Helpers count points in InfluxDB.
import type { RunningInflux } from '@pdm/influx-harness';
import { startTestInflux, uniqueDatabaseName } from '@pdm/influx-harness';
import { Collector, PROJECT, uniqueId } from '@pdm/pubsub-emulator/testing';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startProcessor, type ProcessorDeps, type RunningProcessor } from '../app/start-processor.js';
import { parseProcessorConfig } from '../config/load.js';
import type { ProcessorConfig, ProcessorConfigInput } from '../config/schema.js';
import { startPubSubTestbed, type PubSubTestbed, type PubSubTestbedOptions } from './pubsub-testbed.js';

export interface ProcessorTestbed {
  bed: PubSubTestbed;
  alerts: Collector;
  database: string;
  config(extra?: ProcessorConfigInput): ProcessorConfig;
  start(extra?: ProcessorConfigInput, deps?: ProcessorDeps): Promise<RunningProcessor>;
  /** Rows of an InfluxQL statement on the test database. */
  rows(statement: string): Promise<unknown[][]>;
  /** The single number a `SELECT COUNT(...)` returns (0 when there is no data). */
  count(statement: string): Promise<number>;
  close(): Promise<void>;
}

export async function startProcessorTestbed(influx: RunningInflux, base: ProcessorConfigInput = {}, pubsub: PubSubTestbedOptions = {}): Promise<ProcessorTestbed> {
  const bed = await startPubSubTestbed(pubsub);
  const alertsTopic = uniqueId('alerts');
  const [topic] = await bed.pubsub.createTopic(alertsTopic);
  const [alertsSub] = await topic.createSubscription(uniqueId('alerts-sub'));
  const alerts = new Collector(bed.pubsub.subscription(alertsSub.name));
  const database = uniqueDatabaseName('processor');
  const processors: RunningProcessor[] = [];
  const config = (extra: ProcessorConfigInput = {}) =>
    parseProcessorConfig(
      deepMerge(
        deepMerge(
          {
            pubsub: { projectId: PROJECT, emulatorHost: bed.t.emulator.endpoint, subscription: bed.subscription, deadLetterTopic: bed.deadLetterTopic, alertsTopic },
            influx: { url: influx.url, database, batchMaxDelayMs: 2 },
            http: { host: '127.0.0.1', port: 0 },
            log: { level: 'silent' },
            pipelineReportIntervalMs: 0,
          },
          base,
        ),
        extra,
      ),
    );
  async function rows(statement: string): Promise<unknown[][]> {
    const result = (await influx.query(statement, database)).results[0];
    if (result?.error) throw new Error(`${statement}: ${result.error}`);
    return result?.series?.flatMap((s) => s.values) ?? [];
  }
  return {
    bed,
    alerts,
    database,
    config,
    async start(extra = {}, deps = {}) {
      const processor = await startProcessor(config(extra), { logger: pino({ level: 'silent' }), ...deps });
      processors.push(processor);
      return processor;
    },
    rows,
    async count(statement) {
      const [row] = await rows(statement);
      return row ? Number(row[1]) : 0;
    },
    async close() {
      await Promise.all(processors.map((p) => p.stop()));
      await alerts.subscription.close();
      await bed.close();
    },
  };
}

/**
 * Registers the hooks of a suite of whole-processor tests: one influxd for the suite, and a testbed per
 * test, started by the function returned and closed after the test.
 */
export function useProcessorTestbeds(): (base?: ProcessorConfigInput, pubsub?: PubSubTestbedOptions) => Promise<ProcessorTestbed> {
  let influx: RunningInflux | undefined;
  let current: ProcessorTestbed | undefined;
  beforeAll(async () => {
    influx = await startTestInflux();
  });
  afterAll(async () => {
    await influx?.stop();
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (base = {}, pubsub = {}) => {
    if (!influx) throw new Error('useProcessorTestbeds: start testbeds inside tests, after beforeAll');
    current = await startProcessorTestbed(influx, base, pubsub);
    return current;
  };
}

function deepMerge<T>(a: T, b: T): T {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null || Array.isArray(b)) return b ?? a;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [key, value] of Object.entries(b as Record<string, unknown>)) out[key] = key in out ? deepMerge(out[key], value) : value;
  return out as T;
}
